"""The service's settings, read from the environment once at start-up (the container's only configuration)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

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
            max_batch_size=_number(env, "MAX_BATCH_SIZE", cls.max_batch_size, 1, 4096, int),
            max_batch_wait_ms=_number(env, "MAX_BATCH_WAIT_MS", cls.max_batch_wait_ms, 0.0, 1000.0, float),
        )


Number = TypeVar("Number", int, float)


def _number(
    env: Mapping[str, str], name: str, default: Number, minimum: Number, maximum: Number, parse: Callable[[str], Number]
) -> Number:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {'a whole number' if parse is int else 'a number'}") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name}={value} is outside {minimum}..{maximum}")
    return value
