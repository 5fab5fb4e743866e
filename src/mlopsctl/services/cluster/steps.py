"""Named steps run in order (kind's create actions): each reports through Status and is recorded with its time;
the runner remembers the step that failed, and on failure lets the steps that ran clean up after themselves."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from mlopsctl.errors import MlopsctlError
from mlopsctl.progress import Status
from mlopsctl.services.cluster.model import StepResult

Context = TypeVar("Context")
# What a step returns: nothing, a detail line, or (state, detail) where state is done, reused or skipped.
Outcome = tuple[str, str] | str | None


@dataclass(frozen=True)
class Step(Generic[Context]):
    name: str
    run: Callable[[Context], Outcome]
    # Called when a later step fails: undoes what this step made (unless retain) and says what it did.
    cleanup: Callable[[Context, bool], str | None] | None = None
    # Decided when the plan is made: the step is recorded as skipped with this reason and not run.
    skip: str | None = None


class StepRunner(Generic[Context]):
    def __init__(self, status: Status, record: list[StepResult], clock: Callable[[], float]) -> None:
        self.status = status
        self.record = record
        self.clock = clock
        self.current = ""
        self._ran: list[Step[Context]] = []

    def run(self, steps: Sequence[Step[Context]], context: Context) -> None:
        for step in steps:
            if step.skip is not None:
                self.status.note(f"skipped {step.name}: {step.skip}")
                self.record.append(StepResult(step.name, "skipped", step.skip))
                continue
            self.current = step.name
            self._ran.append(step)
            started = self.clock()
            with self.status.step(step.name):
                outcome = step.run(context)
            state, detail = ("done", outcome or "") if not isinstance(outcome, tuple) else outcome
            self.record.append(StepResult(step.name, state, detail, round(self.clock() - started, 1)))

    def done(self) -> str:
        finished = [step.name for step in self.record if step.state != "skipped"]
        return ", ".join(finished) or "nothing yet"

    def clean_up(self, context: Context, retain: bool) -> list[str]:
        """After a failure: each step that ran, last first, cleans up; the notes say what was deleted or kept."""
        notes: list[str] = []
        for step in reversed(self._ran):
            if step.cleanup is not None:
                with contextlib.suppress(MlopsctlError):
                    note = step.cleanup(context, retain)
                    if note:
                        notes.append(note)
        return notes
