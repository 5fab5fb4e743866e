"""JSON in and out: orjson when installed (several times faster), the standard library otherwise."""

from __future__ import annotations

from typing import Any

try:
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    def loads(data: bytes) -> Any:
        """Raises ValueError (orjson.JSONDecodeError) on bad input."""
        return orjson.loads(data)

except ImportError:  # pragma: no cover - exercised where orjson is absent
    import json

    def dumps(value: Any) -> bytes:
        # ASCII escapes keep lone surrogates (which the standard parser accepts) encodable.
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(data: bytes) -> Any:
        return json.loads(data)
