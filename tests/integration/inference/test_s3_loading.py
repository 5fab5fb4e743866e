"""Loading a model from s3://bucket/prefix/VERSION against a real S3 server (moto, IAM enforced) on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from inference.artifact import METADATA_FILE, MODEL_FILE, ModelLoadError
from inference.loader import loader_for
from tests.integration.inference.conftest import start_server, stop_server
from tests.support import free_port, require

pytestmark = pytest.mark.integration

BUCKET = "models"
READ_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        }
    ],
}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def s3(model_dir):
    """moto in server mode; IAM is enforced once the users are made. Yields (endpoint, reader's env)."""
    require(importlib.util.find_spec("moto") is not None, "moto[server] is not installed")
    require(importlib.util.find_spec("flask") is not None, "moto's server extra (flask) is not installed")
    import boto3

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "6"  # create_user, put_user_policy, create_access_key, for two users
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.session.Session()
        iam = session.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        keys = {}
        for user, policy in (("admin", ADMIN_POLICY), ("reader", READ_ONLY_POLICY)):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="access", PolicyDocument=json.dumps(policy))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        admin = session.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys["admin"]["AccessKeyId"],
            aws_secret_access_key=keys["admin"]["SecretAccessKey"],
        )
        admin.create_bucket(Bucket=BUCKET)
        for name in (MODEL_FILE, METADATA_FILE):
            admin.put_object(Bucket=BUCKET, Key=f"sentiment/it-1/{name}", Body=(model_dir / name).read_bytes())
        metadata = json.loads((model_dir / METADATA_FILE).read_text())
        metadata["sha256"] = "f" * 64
        admin.put_object(
            Bucket=BUCKET, Key=f"sentiment/bad-sum/{MODEL_FILE}", Body=(model_dir / MODEL_FILE).read_bytes()
        )
        admin.put_object(Bucket=BUCKET, Key=f"sentiment/bad-sum/{METADATA_FILE}", Body=json.dumps(metadata).encode())
        reader = {
            "S3_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": keys["reader"]["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["reader"]["SecretAccessKey"],
        }
        yield endpoint, reader
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_model_loads_from_s3_with_the_readers_credentials(s3):
    _, reader = s3
    model = loader_for(f"s3://{BUCKET}/sentiment/it-1", reader)()
    assert model.version == "it-1"
    assert model.pipeline.predict(["I love this app"])[0] == "positive"
    isolated = loader_for(f"s3://{BUCKET}/sentiment/it-1", reader, isolated=True)()
    assert isolated.compiled is not None and isolated.sha256 == model.sha256


def test_a_missing_version_is_not_found(s3):
    _, reader = s3
    with pytest.raises(ModelLoadError, match=r"model artifact not found: s3://models/sentiment/v404/metadata.json"):
        loader_for(f"s3://{BUCKET}/sentiment/v404", reader)()
    # A bucket outside the reader's policy is refused, as S3 does, rather than reported missing.
    with pytest.raises(ModelLoadError, match=r"refused access .* \(AccessDenied\)"):
        loader_for("s3://no-such-bucket/sentiment/it-1", reader)()


def test_a_wrong_checksum_is_refused(s3):
    _, reader = s3
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        loader_for(f"s3://{BUCKET}/sentiment/bad-sum", reader)()
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        loader_for(f"s3://{BUCKET}/sentiment/bad-sum", reader, isolated=True)()


@pytest.mark.parametrize(
    "credentials",
    [
        {"AWS_SECRET_ACCESS_KEY": "wrong-secret"},
        {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000", "AWS_SECRET_ACCESS_KEY": "whatever"},
    ],
    ids=["wrong-secret", "unknown-key"],
)
def test_bad_credentials_are_refused(s3, credentials):
    _, reader = s3
    with pytest.raises(ModelLoadError, match="refused access") as caught:
        loader_for(f"s3://{BUCKET}/sentiment/it-1", {**reader, **credentials})()
    assert "AWS_ACCESS_KEY_ID" in (caught.value.hint or "")


def test_an_unreachable_store_is_named(s3):
    _, reader = s3
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ModelLoadError, match="cannot reach the object store"):
        loader_for(f"s3://{BUCKET}/sentiment/it-1", {**reader, "S3_ENDPOINT_URL": closed})()


def test_the_server_serves_a_model_from_s3_and_stops_on_refused_credentials(s3):
    _, reader = s3
    server = start_server({**reader, "TENANT_NAME": "tenant-b", "MODEL_URI": f"s3://{BUCKET}/sentiment/it-1"})
    try:
        server.wait_ready()
        assert httpx.post(f"{server.url}/predict", json={"text": "awful"}, timeout=10).json()["model_version"] == "it-1"
    finally:
        stop_server(server)
    refused = start_server({**reader, "AWS_SECRET_ACCESS_KEY": "wrong", "MODEL_URI": f"s3://{BUCKET}/sentiment/it-1"})
    try:
        assert refused.process.wait(timeout=90) == 3
        assert "refused access" in refused.stderr()
    finally:
        stop_server(refused)
