"""The inference image: build it from the repository's Dockerfile, push it or load it, and make a base image where
no registry is reachable.

Dependencies reach the image through a wheelhouse filled on the host with the host's own pip (which already knows
any proxy, CA bundle or private index) from the image lock, hash-checked, then installed in the build with
`pip install --no-index --require-hashes` from the same lock. The build
therefore needs no network, and works behind a TLS-intercepting proxy and offline. The wheelhouse must match the
base image's Python: it is checked against `python3` inside the base before anything is sent to the daemon.

    common.py      the image's inputs, the Docker seam, BuildRequest and BuildResult
    reference.py   tags, repositories, references, digests, git revision
    wheelhouse.py  wheel tags and the wheelhouse
    build.py       `image build`
    base.py        `image base`
    store.py       Images: build, inspect, save, push over Docker (what `cluster up` and `image load` use)
    delivery.py    `cluster up`'s push and the platform image record
"""

from mlopsctl.services.image.base import BaseRequest, BaseResult, make_base, trim_rootfs
from mlopsctl.services.image.build import build_image, check_source, is_progress_line, stage_context
from mlopsctl.services.image.common import (
    DEFAULT_BASE_IMAGE,
    IMAGE_INPUTS,
    BuildRequest,
    BuildResult,
    DockerImagesApi,
)
from mlopsctl.services.image.reference import (
    git_revision,
    image_repository,
    manifest_digest,
    pushed_digest,
    validate_reference,
    version_tag,
)
from mlopsctl.services.image.wheelhouse import (
    Wheel,
    ensure_wheelhouse,
    manylinux_platforms,
    parse_wheel,
    unfit_projects,
    wheel_fits,
    wheelhouse_argv,
)

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "IMAGE_INPUTS",
    "BaseRequest",
    "BaseResult",
    "BuildRequest",
    "BuildResult",
    "DockerImagesApi",
    "Wheel",
    "build_image",
    "check_source",
    "ensure_wheelhouse",
    "git_revision",
    "image_repository",
    "is_progress_line",
    "make_base",
    "manifest_digest",
    "manylinux_platforms",
    "parse_wheel",
    "pushed_digest",
    "stage_context",
    "trim_rootfs",
    "unfit_projects",
    "validate_reference",
    "version_tag",
    "wheel_fits",
    "wheelhouse_argv",
]
