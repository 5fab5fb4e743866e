"""A real S3-compatible server for the tests: moto in server mode on 127.0.0.1, with IAM enforcement on.

moto authenticates and authorises requests only after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated actions; the
fixture spends exactly those on creating the IAM users (an admin allowed s3:*, and one user per tenant allowed
to read and list only its own bucket, as the SeaweedFS identities grant), so every later request is checked.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from mlopsctl.manifests import storage as M
from tests.support import free_port

TENANTS = ("tenant-a", "tenant-b")
# Three IAM calls per user: create_user, put_user_policy, create_access_key.
SETUP_ACTIONS = 3 * (1 + len(TENANTS))


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    admin: M.Credentials
    tenants: dict[str, M.Credentials]


def _tenant_policy(tenant: str) -> dict:
    bucket = M.tenant_bucket(tenant)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


_ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def start() -> tuple[subprocess.Popen, S3Server]:
    import boto3

    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_ACTIONS), AWS_DEFAULT_REGION="us-east-1")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(var, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start on 127.0.0.1") from None
            time.sleep(0.1)
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
    )
    keys: dict[str, M.Credentials] = {}
    for user, policy in [("admin", _ADMIN_POLICY), *[(t, _tenant_policy(t)) for t in TENANTS]]:
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="store-access", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = M.Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    admin = keys.pop("admin")
    return process, S3Server(endpoint=endpoint, admin=admin, tenants=keys)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
