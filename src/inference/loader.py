"""Where a model comes from: a local artifact directory or `s3://bucket/prefix/VERSION`.

S3 settings come from the environment: S3_ENDPOINT_URL (for S3-compatible stores; unset means AWS), AWS_REGION,
and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (unset means boto3's usual credential chain). Each may instead be
read from a file that `<NAME>_FILE` names (a mounted Secret, so no key sits in the pod's environment); the
variable itself wins when both are set. boto3 is imported only when an s3:// URI is used. Both files are read
into memory and verified before anything is loaded; nothing is written to disk, so the service works on a
read-only root filesystem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from inference.artifact import (
    MAX_METADATA_BYTES,
    MAX_MODEL_BYTES,
    METADATA_FILE,
    MODEL_FILE,
    LoadedModel,
    ModelLoadError,
    load_artifact_bytes,
    load_artifact_dir,
)

ModelLoader = Callable[[], LoadedModel]


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


def parse_s3_uri(uri: str) -> S3Location:
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    if not bucket or not prefix:
        raise ModelLoadError(
            f"invalid model URI {uri!r}", hint="use s3://BUCKET/PREFIX/VERSION, e.g. s3://models/sentiment/v1"
        )
    return S3Location(bucket=bucket, prefix=prefix)


def loader_for(uri: str, env: Mapping[str, str], isolated: bool = False) -> ModelLoader:
    """A zero-argument callable that loads and verifies the model at `uri`.

    `isolated`: load in a child process and keep only the compiled model (see isolated.py).
    """
    if isolated:
        from inference.isolated import load_isolated

        loader_for(uri, env)  # rejects a malformed URI now rather than in the child
        environment = dict(env)
        return lambda: load_isolated(uri, environment)
    if uri.startswith("s3://"):
        location = parse_s3_uri(uri)
        settings = {key: env.get(key) for key in (*_S3_ENV, *(name + _FILE_SUFFIX for name in _S3_ENV))}
        return lambda: load_from_s3(location, settings)
    local = uri.removeprefix("file://")
    if "://" in local:
        raise ModelLoadError(
            f"unsupported model URI {uri!r}", hint="use a directory path or s3://BUCKET/PREFIX/VERSION"
        )
    return lambda: load_artifact_dir(Path(local))


_S3_ENV = ("S3_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_FILE_SUFFIX = "_FILE"


def s3_settings(settings: Mapping[str, str | None]) -> dict[str, str | None]:
    """Each S3 setting from its variable, else from the file that `<NAME>_FILE` names (surrounding whitespace,
    such as a trailing newline, is dropped)."""
    resolved: dict[str, str | None] = {}
    for name in _S3_ENV:
        value = settings.get(name)
        path = settings.get(name + _FILE_SUFFIX)
        if not value and path:
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                raise ModelLoadError(
                    f"cannot read the model store setting {name} from {path} ({name}{_FILE_SUFFIX}): {reason}",
                    hint="check that the Secret holding the store settings is mounted there",
                ) from exc
        resolved[name] = value
    return resolved


def s3_client(settings: Mapping[str, str | None]):
    import boto3
    from botocore.config import Config

    settings = s3_settings(settings)
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.get("S3_ENDPOINT_URL") or None,
        region_name=settings.get("AWS_REGION") or settings.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=settings.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=settings.get("AWS_SECRET_ACCESS_KEY") or None,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_REFUSED = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "403",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidToken",
}


def _get(client, location: S3Location, name: str, limit: int) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    key = location.key(name)
    where = f"s3://{location.bucket}/{key}"
    try:
        response = client.get_object(Bucket=location.bucket, Key=key)
        if int(response.get("ContentLength") or 0) > limit:
            raise ModelLoadError(f"{where} is larger than {limit} bytes")
        return response["Body"].read(limit + 1)[: limit + 1]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            raise ModelLoadError(
                f"model artifact not found: {where} ({code})",
                hint="check MODEL_URI and that the version was pushed (`mlopsctl model list`)",
            ) from exc
        if code in _REFUSED:
            raise ModelLoadError(
                f"the object store refused access to {where} ({code})",
                hint="check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy",
            ) from exc
        raise ModelLoadError(f"reading {where} failed: {code or exc}") from exc
    except NoCredentialsError as exc:
        raise ModelLoadError(
            f"no credentials to read {where}", hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from exc
    except EndpointConnectionError as exc:
        raise ModelLoadError(
            f"cannot reach the object store at {exc.kwargs.get('endpoint_url', '?')}",
            hint="check S3_ENDPOINT_URL and that the store is running",
        ) from exc
    except BotoCoreError as exc:
        raise ModelLoadError(f"reading {where} failed: {exc}") from exc


def load_from_s3(location: S3Location, settings: Mapping[str, str | None]) -> LoadedModel:
    client = s3_client(settings)
    metadata_raw = _get(client, location, METADATA_FILE, MAX_METADATA_BYTES)
    model_bytes = _get(client, location, MODEL_FILE, MAX_MODEL_BYTES)
    if len(model_bytes) > MAX_MODEL_BYTES:
        raise ModelLoadError(f"{location.uri}/{MODEL_FILE} is larger than {MAX_MODEL_BYTES} bytes")
    return load_artifact_bytes(metadata_raw, model_bytes, location.uri)
