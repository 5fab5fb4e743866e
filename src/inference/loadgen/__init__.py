"""The load generator: open-model (fixed arrival rate) and closed-model load with HDR-histogram percentiles.

It ships inside the inference image so `mlopsctl loadtest` can run it as a Job next to the tenant's pods:

    python -m inference.loadgen --url http://inference.tenant-a.svc:80 --rate 200 --duration 60s --json

Importing this package imports neither FastAPI nor scikit-learn (nor mlopsctl): only the standard library and
`hdrhistogram` (and uvloop when installed). The report is a JSON object whose keys are described in
`engine.Engine.summary`; `spec.evaluate_slo` checks it against `--slo` thresholds.
"""

from __future__ import annotations

from inference.loadgen.engine import Engine, Interrupted, TargetUnreachable, run
from inference.loadgen.spec import (
    LoadConfig,
    SloResult,
    SloThreshold,
    SpecError,
    evaluate_slo,
    parse_duration,
    parse_rate,
    parse_slo,
)
from inference.loadgen.stats import REPORT_SCHEMA

__all__ = [
    "REPORT_SCHEMA",
    "Engine",
    "Interrupted",
    "LoadConfig",
    "SloResult",
    "SloThreshold",
    "SpecError",
    "TargetUnreachable",
    "evaluate_slo",
    "parse_duration",
    "parse_rate",
    "parse_slo",
    "run",
]
