"""tenant-c with default values, byte for byte. After an intended change, refresh the file with
`MLOPSCTL_UPDATE_GOLDEN=1 python -m pytest tests/unit/manifests/test_tenant_golden.py` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "tenant-c.yaml"


def test_tenant_c_defaults_match_the_golden_file():
    text = render_yaml(render_tenant(TenantSpec.create("tenant-c")))
    if os.environ.get("MLOPSCTL_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; create it with MLOPSCTL_UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text()
