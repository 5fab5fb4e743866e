"""Image names: version tags, repositories, reference validation, the digests `docker push` and
`docker manifest inspect` print, and the checkout's git revision."""

from __future__ import annotations

import re
from pathlib import Path

from mlopsctl import constants
from mlopsctl.adapters.runner import Runner
from mlopsctl.errors import UsageError
from mlopsctl.services.image.common import IMAGE_INPUTS

_TAG_INVALID = re.compile(r"[^A-Za-z0-9_.-]")


def version_tag(version: str, commit: str | None, dirty: bool = False) -> str:
    """`0.1.0-3f2a9c1d0e4b`, `0.1.0-3f2a9c1d0e4b-dirty` when the image inputs have local changes, `0.1.0-nogit`
    outside a git checkout. Never `latest`: a tag must say which code it holds."""
    suffix = commit or "nogit"
    tag = f"{version}-{suffix}{'-dirty' if dirty and commit else ''}"
    return _TAG_INVALID.sub("-", tag)[:128]


def image_repository(registry: str | None = None) -> str:
    return f"{registry.rstrip('/')}/{constants.IMAGE_REPOSITORY}" if registry else constants.IMAGE_REPOSITORY


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:))(?::[0-9]+)?/"
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN})?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[a-f0-9]{64})?$"
)


_PUSH_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def pushed_digest(output: str) -> str | None:
    """The digest `docker push` printed (`0.1.0: digest: sha256:... size: 1234`), or None."""
    found = _PUSH_DIGEST.findall(output or "")
    return found[-1] if found else None


def manifest_digest(output: str) -> str:
    """The digest in `docker manifest inspect -v` output (one descriptor, or a list for a multi-platform
    index); "" when the registry answered without one."""
    import json

    try:
        data = json.loads(output)
    except ValueError:
        return ""
    entries = data if isinstance(data, list) else [data]
    for entry in entries:
        digest = ((entry or {}).get("Descriptor") or {}).get("digest") if isinstance(entry, dict) else None
        if isinstance(digest, str) and digest.startswith("sha256:"):
            return digest
    return ""


def validate_reference(reference: str, flag: str) -> str:
    """A docker image reference (`[registry/]name[:tag]`, lower-case repository); UsageError naming the flag."""
    if not _REFERENCE.match(reference):
        raise UsageError(
            f"invalid {flag} {reference!r}: not a docker image reference",
            hint="use lower-case `repository[:tag]`, for example mlopsctl/inference:dev",
        )
    return reference


def git_revision(runner: Runner, source: Path) -> tuple[str | None, bool]:
    """(short commit, whether the image inputs differ from it); (None, False) outside a git checkout."""
    if runner.which("git") is None:
        return None, False
    head = runner.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"], check=False)
    if head.returncode != 0 or not head.stdout.strip():
        return None, False
    changes = runner.run(["git", "-C", str(source), "status", "--porcelain", "--", *IMAGE_INPUTS], check=False)
    return head.stdout.strip(), bool(changes.stdout.strip())
