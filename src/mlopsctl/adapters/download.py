"""Checksum-verified downloads: a file appears at its destination only once its SHA-256 matched.

Bytes are written to a temporary file beside the destination, hashed while they stream, and moved into place
with an atomic rename; every failure (HTTP error, truncated body, wrong checksum) removes the temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from mlopsctl.errors import ExternalCommandFailed

CHUNK = 1 << 16


def _fetch_verified(url: str, sha256: str, sink: IO[bytes], timeout: float) -> None:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            expected_length = response.headers.get("Content-Length")
            received = 0
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as exc:
        raise ExternalCommandFailed(
            f"download failed: {url}: HTTP {exc.code}", hint="check the network or mirror"
        ) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ExternalCommandFailed(f"download failed: {url}: {reason}", hint="check the network or retry") from exc
    if expected_length is not None and received != int(expected_length):
        raise ExternalCommandFailed(
            f"download truncated: {url}: got {received} of {expected_length} bytes", hint="retry the download"
        )
    if digest.hexdigest() != sha256.lower():
        raise ExternalCommandFailed(
            f"checksum mismatch for {url}: expected sha256 {sha256}, got {digest.hexdigest()}",
            hint="the file was not installed; retry, and report it if it persists",
        )


def _extract_member(archive: Path, member: str) -> bytes:
    try:
        with tarfile.open(archive) as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except (tarfile.TarError, KeyError) as exc:
        raise ExternalCommandFailed(f"archive {archive.name} has no usable member {member}") from exc


def install_verified(
    url: str, sha256: str, destination: Path, archive_member: str | None = None, timeout: float = 120
) -> Path:
    """Download `url`, check it against `sha256`, and install it (or one member of a .tar.gz) executable."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporaries: list[Path] = []
    try:
        with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{destination.name}.", delete=False) as tmp:
            temporaries.append(Path(tmp.name))
            _fetch_verified(url, sha256, tmp, timeout)
        payload_path = temporaries[0]
        if archive_member:
            content = _extract_member(payload_path, archive_member)
            with tempfile.NamedTemporaryFile(
                dir=destination.parent, prefix=f".{destination.name}.", delete=False
            ) as binary:
                temporaries.append(Path(binary.name))
                binary.write(content)
            payload_path = temporaries[1]
        payload_path.chmod(0o755)
        os.replace(payload_path, destination)
        return destination
    finally:
        for path in temporaries:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
