"""Model URIs: local paths and s3://bucket/prefix/VERSION."""

from __future__ import annotations

import pytest

from inference.artifact import ModelLoadError
from inference.loader import S3Location, loader_for, parse_s3_uri


def test_s3_uris_name_a_bucket_and_a_version_prefix():
    location = parse_s3_uri("s3://models/sentiment/v1/")
    assert location == S3Location(bucket="models", prefix="sentiment/v1")
    assert location.key("metadata.json") == "sentiment/v1/metadata.json"
    assert location.uri == "s3://models/sentiment/v1"


@pytest.mark.parametrize("uri", ["s3://", "s3://bucket", "s3://bucket/", "s3:///v1"])
def test_incomplete_s3_uris_are_refused(uri):
    with pytest.raises(ModelLoadError, match="invalid model URI") as caught:
        loader_for(uri, {})
    assert "s3://BUCKET/PREFIX/VERSION" in (caught.value.hint or "")


def test_other_schemes_are_refused_even_when_isolated():
    for isolated in (False, True):
        with pytest.raises(ModelLoadError, match="unsupported model URI"):
            loader_for("https://example.invalid/model", {}, isolated=isolated)


def test_a_local_directory_or_file_uri_loads_the_artifact(tiny_artifact):
    assert loader_for(str(tiny_artifact), {})().version == "tiny-1"
    assert loader_for(f"file://{tiny_artifact}", {})().version == "tiny-1"


def test_s3_settings_may_come_from_files_that_name_file_variables_point_at(tmp_path):
    from inference.loader import s3_settings

    (tmp_path / "AWS_ACCESS_KEY_ID").write_text("FROMFILE\n")
    (tmp_path / "S3_ENDPOINT_URL").write_text("http://127.0.0.1:8333")
    settings = s3_settings(
        {
            "AWS_ACCESS_KEY_ID_FILE": str(tmp_path / "AWS_ACCESS_KEY_ID"),
            "S3_ENDPOINT_URL_FILE": str(tmp_path / "S3_ENDPOINT_URL"),
            "AWS_REGION": "eu-west-1",
        }
    )
    assert settings["AWS_ACCESS_KEY_ID"] == "FROMFILE"  # the Secret file's trailing newline is not part of the key
    assert settings["S3_ENDPOINT_URL"] == "http://127.0.0.1:8333"
    assert settings["AWS_REGION"] == "eu-west-1"
    assert settings["AWS_SECRET_ACCESS_KEY"] is None


def test_an_s3_variable_wins_over_its_file(tmp_path):
    from inference.loader import s3_settings

    (tmp_path / "key").write_text("FROMFILE")
    settings = s3_settings({"AWS_ACCESS_KEY_ID": "FROMENV", "AWS_ACCESS_KEY_ID_FILE": str(tmp_path / "key")})
    assert settings["AWS_ACCESS_KEY_ID"] == "FROMENV"


def test_an_unreadable_settings_file_fails_the_load_naming_variable_and_path(tmp_path):
    missing = tmp_path / "absent" / "AWS_SECRET_ACCESS_KEY"
    loader = loader_for("s3://models/sentiment/v1", {"AWS_SECRET_ACCESS_KEY_FILE": str(missing)})
    with pytest.raises(ModelLoadError, match=r"AWS_SECRET_ACCESS_KEY from .*absent/AWS_SECRET_ACCESS_KEY") as caught:
        loader()
    assert "AWS_SECRET_ACCESS_KEY_FILE" in caught.value.message and "mounted" in (caught.value.hint or "")
