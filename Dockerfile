# The inference image: the FastAPI service of src/inference, its load generator, and a default model baked in.
#
# Dependencies are installed from a wheelhouse filled on the host, never from an index inside the build, so the
# build works offline and behind a TLS-intercepting proxy (the host's pip already knows the proxy's CA/index).
# Both steps read requirements/image.lock and check every wheel against its hashes:
#
#   python -m pip download --require-hashes --no-deps --only-binary=:all: -r requirements/image.lock --dest wheelhouse
#   docker build --build-arg BASE_IMAGE=python:3.11-slim -t mlopsctl/inference:0.1.0-$(git rev-parse --short HEAD) .
#
# `mlopsctl image build` does both (and tags with the version and the git commit). The wheelhouse must match the
# base image's Python (CPython 3.11 for python:3.11-slim and for Debian bookworm's python3). Where no registry is
# reachable, make a base with `mlopsctl image base` (debootstrap + docker import) and pass it as BASE_IMAGE.
# The base needs python3 with the venv module (Debian: python3 + python3-venv).

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_INDEX=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY requirements/image.lock /build/requirements.lock
COPY wheelhouse/ /build/wheelhouse/
# Dropped after installing: pip, the packages' own test suites, and botocore's API models of the ~400 AWS
# services the service never calls (it speaks S3 only; STS and SSO stay for credential providers): 28 MB -> 2 MB.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-index --find-links /build/wheelhouse --require-hashes --no-deps \
        -r /build/requirements.lock \
 && /opt/venv/bin/python -m pip uninstall --yes pip \
 && find /opt/venv -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} + \
 && find /opt/venv/lib/python3*/site-packages/botocore/data -mindepth 1 -maxdepth 1 -type d \
        ! -name s3 ! -name sts ! -name sso ! -name sso-oidc -exec rm -rf {} +
COPY src/inference/ /opt/mlopsctl/app/inference/
# The default model is trained here, once, from the shipped data: a pod never trains at start-up.
RUN PYTHONPATH=/opt/mlopsctl/app /opt/venv/bin/python -m inference train \
        --data /opt/mlopsctl/app/inference/data/sentiment.csv --out /opt/mlopsctl/model \
 && find /opt/mlopsctl/app -depth -type d -name __pycache__ -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q /opt/mlopsctl/app

FROM ${BASE_IMAGE}
# A named user for tools that look the UID up; no home directory, no login shell.
RUN groupadd --system --gid 10001 inference \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin inference
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/mlopsctl /opt/mlopsctl
# Read-only root filesystem: nothing writes outside /tmp (mount an emptyDir or tmpfs there). Bytecode is
# compiled at build time, so Python never tries to write it.
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/opt/mlopsctl/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MODEL_URI=/opt/mlopsctl/model \
    PORT=8080
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["python", "-m", "inference"]
CMD ["serve"]
# Last, so a new commit changes only this metadata layer and every layer above stays cached.
ARG VERSION=0.0.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mlopsctl inference" \
      org.opencontainers.image.description="Multi-tenant sentiment inference service (FastAPI + scikit-learn)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
