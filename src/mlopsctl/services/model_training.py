"""`model train`: train the sentiment model and write a versioned artifact directory.

The training itself lives in `inference.train` (the image build runs it too, as `python -m inference train`);
this use case maps its failures to mlopsctl's errors and returns a result object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlopsctl.errors import UsageError
from mlopsctl.progress import NullStatus, Status


@dataclass(frozen=True)
class TrainResult:
    version: str
    directory: Path
    classifier: str
    accuracy: float
    f1_macro: float
    train_rows: int
    test_rows: int
    candidates: dict[str, float]  # name -> held-out accuracy
    sha256: str
    data: str
    data_sha256: str
    metadata: dict[str, Any]


def default_data() -> Path:
    from inference.train import DEFAULT_DATA

    return DEFAULT_DATA


def train(data: Path | None, out_dir: Path, version: str | None = None, status: Status | None = None) -> TrainResult:
    from inference.train import TrainingDataError
    from inference.train import train as run_training

    status = status or NullStatus()
    data = data or default_data()
    if version is not None:
        from mlopsctl.manifests.storage import validate_version

        validate_version(version)  # the same rule as push, set-model and tenant add --model
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} exists and is not a directory", hint="choose a directory path")
    try:
        with status.step(f"training on {data}"):
            report = run_training(data, out_dir, version=version)
    except TrainingDataError as exc:
        raise UsageError(
            str(exc), hint="--data takes a UTF-8 CSV with the header text,label and at least 5 rows per label"
        ) from exc
    except OSError as exc:
        raise UsageError(f"cannot write the artifact to {out_dir}: {exc.strerror or exc}") from exc
    metrics = report.metrics
    heldout = metrics["heldout"]
    return TrainResult(
        version=report.version,
        directory=report.out_dir,
        classifier=report.classifier,
        accuracy=heldout["accuracy"],
        f1_macro=heldout["f1_macro"],
        train_rows=metrics["split"]["train_rows"],
        test_rows=metrics["split"]["test_rows"],
        candidates={name: scores["accuracy"] for name, scores in metrics["candidates"].items()},
        sha256=report.metadata["sha256"],
        data=str(data),
        data_sha256=report.metadata["training_data"]["sha256"],
        metadata=report.metadata,
    )
