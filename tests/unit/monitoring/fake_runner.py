"""The fake runner scripted as helm, for the helm adapter and monitoring tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from mlopsctl.adapters import fakes
from mlopsctl.adapters.runner import CommandResult


def release_json(revision: int = 1, status: str = "deployed", version: str = "81.4.5") -> str:
    return json.dumps(
        {
            "name": "kube-prometheus-stack",
            "namespace": "monitoring",
            "version": revision,
            "info": {"status": status},
            "chart": {"metadata": {"name": "kube-prometheus-stack", "version": version, "appVersion": "v0.88.0"}},
        }
    )


class FakeRunner(fakes.FakeRunner):
    """The shared fake runner scripted as helm: a version, and a deployed release for `upgrade` and `status`;
    `answers` by helm verb replace those."""

    def __init__(
        self,
        installed: bool = True,
        version_output: str = "v3.19.2+g8766e71\n",
        answers: dict[str, Callable[[Sequence[str]], CommandResult]] | None = None,
    ) -> None:
        release = CommandResult((), 0, release_json())
        scripted: dict[tuple[str, ...], fakes.Answer] = {
            ("helm", "version"): CommandResult((), 0, version_output),
            ("helm", "upgrade"): release,
            ("helm", "status"): release,
        }
        scripted.update({("helm", verb): answer for verb, answer in (answers or {}).items()})
        super().__init__(answers=scripted, programs=None if installed else ())

    def commands(self, verb: str) -> list[tuple[tuple[str, ...], str | None]]:
        return [(argv, stdin) for argv, stdin in self.calls if argv[1] == verb]
