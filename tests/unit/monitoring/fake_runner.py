"""A Runner that records argv and stdin and answers from a script, for helm adapter tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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


@dataclass
class FakeRunner:
    installed: bool = True
    version_output: str = "v3.19.2+g8766e71\n"
    answers: dict[str, Callable[[Sequence[str]], CommandResult]] = field(default_factory=dict)
    calls: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    def which(self, program: str) -> str | None:
        return f"/usr/local/bin/{program}" if self.installed else None

    def run(self, argv, *, input=None, timeout=None, check=True) -> CommandResult:
        argv = tuple(argv)
        self.calls.append((argv, input))
        if argv[:2] == ("helm", "version"):
            return CommandResult(argv, 0, self.version_output)
        answer = self.answers.get(argv[1])
        if answer is not None:
            return answer(argv)
        if argv[1] in ("upgrade", "status"):
            return CommandResult(argv, 0, release_json())
        return CommandResult(argv, 0, "")

    def commands(self, verb: str) -> list[tuple[tuple[str, ...], str | None]]:
        return [(argv, stdin) for argv, stdin in self.calls if argv[1] == verb]
