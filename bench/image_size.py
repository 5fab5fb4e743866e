"""Image size: the inference image against an image of the seed-equivalent service, on the same base, in one run.

Usage: python bench/image_size.py [--base-image mlopsctl/base:bookworm] [--seed-app PATH] [--json]

Both images are built the same way on the same base (a virtualenv installed from a host-built wheelhouse in a
build stage, copied into a small final stage, pip and test directories dropped), so the difference is what each
service ships: ours adds the model artifact, skops, boto3 (S3 models), uvloop/httptools/orjson (speed) and the
load generator; the seed-equivalent carries prometheus-fastapi-instrumentator and trains at start-up.
The base is made with `mlopsctl image base` when the tag is missing (root and debootstrap needed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlopsctl import __version__, constants  # noqa: E402
from mlopsctl.adapters.docker import DockerImages  # noqa: E402
from mlopsctl.adapters.runner import SubprocessRunner  # noqa: E402
from mlopsctl.progress import PlainStatus  # noqa: E402
from mlopsctl.services import image as service  # noqa: E402

SEED_REQUIREMENTS = ("fastapi", "uvicorn", "scikit-learn", "prometheus-fastapi-instrumentator")
SEED_TAG = "mlopsctl-bench/seed-equivalent:size"
# The same recipe as the project's Dockerfile, for the seed-equivalent app and its dependencies.
SEED_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS build
COPY requirements.txt /build/requirements.txt
COPY wheelhouse/ /build/wheelhouse/
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/python -m pip install --no-index --find-links /build/wheelhouse -r /build/requirements.txt \\
 && /opt/venv/bin/python -m pip uninstall --yes pip \\
 && find /opt/venv -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} +

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
COPY seed_equivalent_app.py /app/seed_equivalent_app.py
ENV PATH=/opt/venv/bin:${PATH} PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
CMD ["uvicorn", "seed_equivalent_app:app", "--app-dir", "/app", "--host", "0.0.0.0", "--port", "8080"]
"""


def build_seed(docker: DockerImages, base: str, seed_app: Path, scratch: Path) -> int:
    context = scratch / "seed"
    (context / "wheelhouse").mkdir(parents=True)
    (context / "requirements.txt").write_text("\n".join(SEED_REQUIREMENTS) + "\n")
    (context / "Dockerfile").write_text(SEED_DOCKERFILE)
    shutil.copy2(seed_app, context / "seed_equivalent_app.py")
    argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--requirement", str(context / "requirements.txt")]
    subprocess.run([*argv, "--wheel-dir", str(context / "wheelhouse")], check=True, capture_output=True)
    docker.build(context, tags=[SEED_TAG], build_args={"BASE_IMAGE": base})
    info = docker.inspect(SEED_TAG)
    assert info is not None
    return info.size_bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=constants.IMAGE_BASE)
    parser.add_argument("--seed-app", type=Path, default=ROOT.parent / "shared/bench/seed_equivalent_app.py")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.seed_app.is_file():
        parser.error(f"--seed-app {args.seed_app} not found")

    import os

    from mlopsctl.adapters.docker import host_python
    from mlopsctl.paths import home_dir

    docker = DockerImages()
    runner = SubprocessRunner()
    status = PlainStatus()
    base_request = service.BaseRequest(tag=args.base_image, is_root=os.geteuid() == 0)
    base = service.make_base(base_request, docker, runner, status)
    ours = service.build_image(
        service.BuildRequest(
            source=ROOT,
            version=__version__,
            base_image=args.base_image,
            wheelhouse_cache=home_dir() / "wheelhouse",
            host_python=host_python(),
            python_executable=sys.executable,
        ),
        docker,
        runner,
        status,
    )
    with tempfile.TemporaryDirectory(prefix="mlopsctl-bench-") as scratch, status.step("Building the seed image"):
        seed_size = build_seed(docker, args.base_image, args.seed_app, Path(scratch))

    figures = {
        "base_image": args.base_image,
        "base_mb": round(base.size_bytes / 1e6, 1),
        "inference_image": ours.image,
        "inference_mb": round(ours.size_bytes / 1e6, 1),
        "seed_equivalent_mb": round(seed_size / 1e6, 1),
        "ratio": round(ours.size_bytes / seed_size, 2),
        "inference_over_base_mb": round((ours.size_bytes - base.size_bytes) / 1e6, 1),
        "seed_over_base_mb": round((seed_size - base.size_bytes) / 1e6, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'image':<46} {'size':>9} {'over base':>10}")
    print(f"{args.base_image:<46} {figures['base_mb']:>7.1f}MB {'':>10}")
    print(f"{ours.image:<46} {figures['inference_mb']:>7.1f}MB {figures['inference_over_base_mb']:>8.1f}MB")
    print(f"{'seed-equivalent (same base, same recipe)':<46} {figures['seed_equivalent_mb']:>7.1f}MB ", end="")
    print(f"{figures['seed_over_base_mb']:>8.1f}MB")
    print(f"inference / seed-equivalent: {figures['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
