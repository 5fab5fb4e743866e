"""Run checkov --framework kubernetes over a directory of rendered manifests and hand back its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def run_checkov(checkov: str, directory: Path) -> dict:
    # --skip-download: no call to any platform API; everything is judged from the files alone.
    proc = subprocess.run(
        [checkov, "--framework", "kubernetes", "--directory", str(directory), "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(proc.stdout)
