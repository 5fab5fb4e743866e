"""The request mix: raw HTTP/1.1 requests built once before the run, then sent in rotation.

By default `/predict` with varied texts (different words, lengths and sentiment, so a cache or a lucky
tokenisation cannot flatter the figures); `batch` sends `/predict/batch` with `batch_size` texts per request;
explicit JSON bodies (from `--body-file`) replace the texts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

TEXTS = (
    "This product is amazing and I would buy again",
    "Terrible experience, the package arrived broken and support never answered",
    "Not bad at all",
    "I was disappointed by the battery life, it barely lasts half a day",
    "Absolutely love it! Works exactly as described and setup took two minutes.",
    "The worst purchase I have made this year",
    "It's fine, does the job, nothing special",
    "Great value for the price, my kids use it every day",
    "Stopped working after a week. Returned it.",
    "Customer service went out of their way to help me, thank you",
    "meh",
    "The screen is gorgeous but the speakers sound cheap and tinny",
    "Five stars, would recommend to anyone looking for a reliable blender",
    "Way too expensive for what you get; the materials feel flimsy",
    "Delivery was quick and the instructions were clear",
    "I regret buying this. The app crashes constantly and drains my phone.",
    "Surprisingly good! Better than the brand-name one I had before.",
    "It broke the first time I dropped it",
    "Comfortable, stylish and warm. Perfect for winter walks with the dog.",
    "Do not buy. Misleading description and the size runs very small.",
    "Works as expected",
    "The food was cold and the waiter was rude",
    "Best concert I have been to in years, the band was on fire",
    "Boring plot, flat characters, I fell asleep halfway through the film",
    "A lovely little hotel with friendly staff and a great breakfast",
    "The update made everything slower and removed features I used daily",
    "Solid build quality and the keyboard feels great to type on",
    "Overpriced and underwhelming",
    "My order was wrong twice and nobody apologised",
    "I use it every morning and it still looks brand new after a year of daily use, which I did not expect at "
    "this price point; the only small complaint is that the lid is a little stiff to open.",
    "Awful",
    "Excellent",
)

USER_AGENT = "mlopsctl-loadgen"


def split_url(url: str) -> tuple[str, str, int, str]:
    """`http://host:port/path` -> (scheme, host, port, path)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, parts.hostname, port, parts.path.rstrip("/")


def http_request(method: str, host_header: str, path: str, body: bytes | None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host_header}",
        f"User-Agent: {USER_AGENT}",
        "Accept: application/json",
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def bodies_for(mix: str, batch_size: int, texts: Sequence[str] = TEXTS) -> list[bytes]:
    """JSON bodies for the mix: one per text for `predict`, rotating windows of `batch_size` texts for `batch`."""
    if mix == "predict":
        return [json.dumps({"text": text}).encode() for text in texts]
    if mix == "batch":
        count = len(texts)
        return [
            json.dumps({"texts": [texts[(start + k) % count] for k in range(batch_size)]}).encode()
            for start in range(count)
        ]
    raise ValueError(f"unknown mix {mix!r}")


def default_path(mix: str, explicit_bodies: bool) -> str:
    return "/predict/batch" if mix == "batch" and not explicit_bodies else "/predict"


def load_body_file(text: str) -> list[str]:
    """A body file is one JSON document, or JSON Lines (one body per line); each body is validated as JSON."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("the body file is empty")
    try:
        return [json.dumps(json.loads(stripped), separators=(",", ":"))]
    except json.JSONDecodeError:
        pass
    bodies = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            bodies.append(json.dumps(json.loads(line), separators=(",", ":")))
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number} is not JSON: {exc.msg}") from None
    return bodies


def build_requests(
    url: str, mix: str, batch_size: int, bodies: Sequence[str] = (), path: str | None = None
) -> list[bytes]:
    """The raw requests of a run, in rotation order."""
    _, host, port, base = split_url(url)
    default_port = port in (80, 443)
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):  # an IPv6 literal
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    target = base + (path or default_path(mix, bool(bodies)))
    payloads = [body.encode() for body in bodies] if bodies else bodies_for(mix, batch_size)
    return [http_request("POST", host_header, target, payload) for payload in payloads]
