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
