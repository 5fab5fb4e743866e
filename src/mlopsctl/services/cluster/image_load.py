"""`image load`: `kind load image-archive` of a local image into the Kind cluster's nodes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlopsctl.errors import NotFound, UsageError
from mlopsctl.progress import Status
from mlopsctl.services.cluster.model import KindApi
from mlopsctl.services.image.delivery import ImageApi


@dataclass
class ImageLoadResult:
    cluster: str
    image: str


def load_image(kind: KindApi, images: ImageApi, cluster: str, reference: str, status: Status) -> ImageLoadResult:
    kind.ensure_installed()
    if cluster not in kind.clusters():
        raise NotFound(f"no Kind cluster named {cluster}", hint="create it with `mlopsctl cluster up`")
    if not images.exists(reference):
        raise UsageError(f"image {reference} is not in the local Docker", hint="build it with `mlopsctl image build`")
    with (
        status.step(f"load {reference} into Kind cluster {cluster}"),
        tempfile.TemporaryDirectory(prefix="mlopsctl-image-") as directory,
    ):
        archive = images.save([reference], Path(directory) / "image.tar")
        kind.load_image_archive(cluster, archive)
    return ImageLoadResult(cluster, reference)
