"""Getting the inference image to the nodes' reach, and recording what they can run (`cluster up`'s image steps).

Kind loads the image into its nodes; an adopted cluster pulls it from a registry. With `--skip-build` the image
already built is pushed (tagged into the registry first when it was built without one), or, when only the
registry has it, used as it is. Either way the reference the nodes can use is recorded in the cluster
(`platform_image`), with the digest the registry answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import UsageError
from mlopsctl.progress import Status
from mlopsctl.services import platform_image


class ImageApi(Protocol):
    """The inference image: build it, find it, save it for `kind load`, push it to a registry."""

    def build(self, registry: str | None, status: Status) -> str: ...

    def reference(self, registry: str | None) -> str: ...

    def exists(self, reference: str) -> bool: ...

    def save(self, references: list[str], path: Path) -> Path:
        """One archive holding the image under every given tag (`docker image save A B`)."""
        ...

    def push(self, reference: str) -> str | None:
        """Push to the registry; the digest the registry answered, when it said."""
        ...

    def tag(self, source: str, target: str) -> None: ...

    def remote_digest(self, reference: str) -> str | None:
        """The registry's digest of `reference` ("" when it has it but named no digest); None when it has not."""
        ...


def digest_note(digest: str | None) -> str:
    return f" ({digest})" if digest else ""


def record(api: KubeApi, image: str, source: str, tags: list[str], digest: str | None = None) -> str:
    """Record what the nodes can run, so `tenant add` and `loadtest` use it rather than a local tag."""
    platform_image.record_platform_image(api, platform_image.PlatformImage(image, source, tuple(tags), digest))
    return f"{image}{digest_note(digest)} in {c.SYSTEM_NAMESPACE}/{c.PLATFORM_CONFIGMAP}"


def check_pushable(images: ImageApi, registry: str) -> None:
    """--skip-build --registry R: the image must be local (under R's name or the plain one) or already in R."""
    target = images.reference(registry)
    if images.exists(target) or images.exists(images.reference(None)):
        return
    if images.remote_digest(target) is None:
        raise UsageError(
            f"--skip-build: image {target} is neither in the local Docker nor in the registry {registry}",
            hint="run `mlopsctl image build`, or drop --skip-build",
        )


def push_existing(images: ImageApi, registry: str, pushed: dict[str, str | None]) -> str:
    """Push the image already built (tagged into the registry first when it was built without one), or, when
    only the registry has it, say so and use it as it is."""
    target = images.reference(registry)
    local = images.reference(None)
    if not images.exists(target) and images.exists(local):
        images.tag(local, target)
    if images.exists(target):
        pushed[target] = images.push(target)
        return f"--skip-build: pushed the local {target}{digest_note(pushed[target])}"
    digest = images.remote_digest(target)
    pushed[target] = digest or None
    return f"--skip-build: {registry} already has {target}{digest_note(digest)}; not pushed"
