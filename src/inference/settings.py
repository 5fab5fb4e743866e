"""The service's settings, read from the environment once at start-up (the container's only configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MODEL_URI = "/opt/mlopsctl/model"  # mlopsctl.constants.IMAGE_MODEL_DIR: the model baked into the image
DEFAULT_PORT = 8080  # mlopsctl.constants.CONTAINER_PORT


@dataclass(frozen=True)
class ServiceSettings:
    tenant: str = "unknown"
    model_uri: str = DEFAULT_MODEL_URI
    # Micro-batching: concurrent requests are coalesced into one predict of at most `max_batch_size` texts.
    # With `max_batch_wait_ms` = 0 a batch holds what arrived during one turn of the event loop (no added
    # latency); a positive wait trades that much latency for larger batches under light load.
    max_batch_size: int = 64
    max_batch_wait_ms: float = 0.0
    max_text_chars: int = 5000
    max_batch_items: int = 256
    max_body_bytes: int = 1024 * 1024
    # Batches with more characters than this run in a worker thread, so a huge request cannot hold the event
    # loop (and with it /healthz) for long.
    inline_batch_chars: int = 65536

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServiceSettings:
        """TENANT_NAME, MODEL_URI, MAX_BATCH_SIZE, MAX_BATCH_WAIT_MS; a bad value raises ValueError."""
        return cls(
            tenant=env.get("TENANT_NAME") or cls.tenant,
            model_uri=env.get("MODEL_URI") or cls.model_uri,
            max_batch_size=_int(env, "MAX_BATCH_SIZE", cls.max_batch_size, minimum=1, maximum=4096),
            max_batch_wait_ms=_float(env, "MAX_BATCH_WAIT_MS", cls.max_batch_wait_ms, minimum=0.0, maximum=1000.0),
        )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name}={value} is outside {minimum}..{maximum}")
    return value
