"""Evidence files for a load test: report.html (charts on one time axis, the numbers behind them) and
loadtest.json (the same result `-o json` prints, so the page can be rebuilt or compared later)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlopsctl.errors import UsageError
from mlopsctl.services.verify import utc_now

HTML_NAME = "report.html"
JSON_NAME = "loadtest.json"


@dataclass(frozen=True)
class WrittenLoadReport:
    html: Path
    data: Path

    def describe(self) -> str:
        return f"{self.html} and {self.data}"


def write_load_report(result: Any, directory: Path) -> WrittenLoadReport:
    """`result` is a LoadtestResult (or the same as plain data)."""
    from mlopsctl import __version__
    from mlopsctl.output import to_data
    from mlopsctl.report.html import load_page

    data = to_data(result)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        html = directory / HTML_NAME
        html.write_text(load_page(data, version=__version__, generated=utc_now()), encoding="utf-8")
        raw = directory / JSON_NAME
        raw.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the report into {directory}: {exc.strerror}", hint="pick a writable --report DIR"
        ) from exc
    return WrittenLoadReport(html, raw)
