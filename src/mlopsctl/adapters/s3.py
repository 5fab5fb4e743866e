"""The S3 seam: a few object operations over boto3, with botocore's errors turned into the project's.

Only this module imports boto3. Services depend on the `ObjectStore` Protocol; tests run the real client
against a real S3-compatible server on 127.0.0.1 (moto in server mode).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from mlopsctl.errors import ClusterUnreachable, Conflict, Forbidden, MlopsctlError, NotFound, UsageError


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime | None = None


class ObjectStore(Protocol):
    endpoint: str

    def ensure_bucket(self, bucket: str) -> bool:
        """Create the bucket unless it exists; True when it was created."""
        ...

    def bucket_exists(self, bucket: str) -> bool: ...

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]: ...

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/octet-stream") -> None: ...

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None: ...

    def get_bytes(self, bucket: str, key: str) -> bytes: ...

    def download(self, bucket: str, key: str, path: Path) -> None: ...

    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> None: ...

    def delete(self, bucket: str, key: str) -> None: ...


_FORBIDDEN = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "AllAccessDisabled",
    "403",
}
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


@contextlib.contextmanager
def map_errors(endpoint: str, what: str) -> Iterator[None]:
    """botocore errors -> typed errors with a one-line message and a hint."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    try:
        yield
    except MlopsctlError:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        if code in _FORBIDDEN:
            raise Forbidden(
                f"{what}: the object store refused the credentials ({code})",
                hint="check the access key pair; tenant credentials may only read their own bucket",
            ) from exc
        if code in _NOT_FOUND:
            raise NotFound(f"{what}: not found ({code})") from exc
        if code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
            raise Conflict(f"{what}: {message}") from exc
        raise MlopsctlError(f"{what}: {code}: {message}") from exc
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as exc:
        raise ClusterUnreachable(
            f"{what}: cannot reach the object store at {endpoint}",
            hint="is it installed (`mlopsctl storage status`) and is its NodePort mapped? or pass --endpoint",
        ) from exc
    except NoCredentialsError as exc:
        raise UsageError(
            f"{what}: no object store credentials", hint="set --access-key/--secret-key or run against the cluster"
        ) from exc


class Boto3ObjectStore:
    """Path-style S3 (in-cluster engines have no virtual-host DNS), SigV4, bounded retries and timeouts."""

    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "us-east-1",
        timeout: float = 10.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint = endpoint
        self.region = region
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=timeout,
                read_timeout=timeout * 3,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def bucket_exists(self, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        with map_errors(self.endpoint, f"checking bucket {bucket}"):
            try:
                self._client.head_bucket(Bucket=bucket)
                return True
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in _NOT_FOUND:
                    return False
                raise

    def ensure_bucket(self, bucket: str) -> bool:
        if self.bucket_exists(bucket):
            return False
        from botocore.exceptions import ClientError

        with map_errors(self.endpoint, f"creating bucket {bucket}"):
            try:
                if self.region == "us-east-1":
                    self._client.create_bucket(Bucket=bucket)
                else:
                    self._client.create_bucket(
                        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
                    )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                    return False
                raise
        return True

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        with map_errors(self.endpoint, f"listing s3://{bucket}/{prefix}"):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(item["Key"], int(item.get("Size", 0)), item.get("LastModified")))
        return found

    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        with map_errors(self.endpoint, f"uploading s3://{bucket}/{key}"), path.open("rb") as body:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        with map_errors(self.endpoint, f"uploading s3://{bucket}/{key}"):
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        with map_errors(self.endpoint, f"reading s3://{bucket}/{key}"):
            return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def download(self, bucket: str, key: str, path: Path) -> None:
        with map_errors(self.endpoint, f"downloading s3://{bucket}/{key}"):
            response = self._client.get_object(Bucket=bucket, Key=key)
            with path.open("wb") as out:
                for chunk in response["Body"].iter_chunks(1 << 20):
                    out.write(chunk)

    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> None:
        with map_errors(self.endpoint, f"copying s3://{source_bucket}/{source_key} to s3://{bucket}/{key}"):
            self._client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key})

    def delete(self, bucket: str, key: str) -> None:
        with map_errors(self.endpoint, f"deleting s3://{bucket}/{key}"):
            self._client.delete_object(Bucket=bucket, Key=key)
