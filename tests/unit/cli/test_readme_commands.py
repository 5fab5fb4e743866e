"""README's command table and every `--help` agree: each command is listed, with its arguments, and every flag the
table shows exists (visible) on that command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
GLOBAL_FLAGS = {"--context", "--kubeconfig", "-o", "--output", "-v", "--verbose", "-q", "--quiet", "--no-color"}
GLOBAL_FLAGS |= {"--config", "--traceback", "--version", "--help", "-h"}


def readme_rows() -> list[str]:
    """The first cell of each row of the table under `## Commands`, as written (`\\|` kept as `|`)."""
    text = README.read_text()
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.match(r"\| `(mlopsctl [^`]+)` \|", line.replace("\\|", "|"))
        if match:
            rows.append(match.group(1))
    return rows


def leaves():
    """(path, click command) for every runnable command, loaded through the registry."""
    from mlopsctl.cli.commands import COMMANDS, load_command

    found = []
    for name in COMMANDS:
        command = load_command(name)
        if hasattr(command, "commands"):
            found += [((name, sub), child) for sub, child in command.commands.items()]
        else:
            found.append(((name,), command))
    return found


def _visible_flags(command) -> set[str]:
    visible = [p for p in command.params if not getattr(p, "hidden", False)]
    return {opt for p in visible for opt in [*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())]}


def _rows_for(path: tuple[str, ...]) -> list[str]:
    rows = [row for row in readme_rows() if row.split()[1] == path[0]]
    if len(path) == 1:
        return rows
    return [row for row in rows if path[1] in re.split(r"[\s|\[\]]+", row)]


def test_the_table_has_rows():
    assert len(readme_rows()) >= 15


@pytest.mark.parametrize(
    ("path", "command"), leaves(), ids=lambda value: " ".join(value) if isinstance(value, tuple) else ""
)
def test_every_command_is_in_the_table_with_its_arguments(path, command):
    rows = _rows_for(path)
    assert rows, f"`mlopsctl {' '.join(path)}` is missing from README's command table"
    arguments = [p for p in command.params if p.param_type_name == "argument" and (p.required or p.nargs == -1)]
    for argument in arguments:
        metavar = (argument.metavar or argument.name.upper()).strip("[].")
        assert any(re.search(rf"\b{re.escape(metavar)}\b", row) for row in rows), (path, metavar, rows)


def test_every_flag_in_the_table_exists_on_its_command():
    by_group: dict[str, set[str]] = {}
    for path, command in leaves():
        by_group.setdefault(path[0], set()).update(_visible_flags(command))
    for row in readme_rows():
        group = row.split()[1]
        flags = set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", row.split("mlopsctl", 1)[1]))
        unknown = flags - by_group[group] - GLOBAL_FLAGS
        assert not unknown, f"README shows {sorted(unknown)} for `mlopsctl {group}`, which its --help does not list"


def _placeholders_by_leaf(row: str, leaf_names: set[str]) -> dict[str, set[str]]:
    """`verify network|rbac [TENANT]... [--load]` -> {network: {TENANT}, rbac: {TENANT}}: an upper-case word that
    follows command names (not a flag) is a positional argument of the last of them, or of each of them when it is
    repeatable (`...`), as in `network|rbac [TENANT]...`."""
    tokens = [t for t in re.split(r"[\s|]+", row.split(maxsplit=1)[1]) if t]
    found: dict[str, set[str]] = {}
    run: list[str] = []
    previous = ""
    for token in tokens:
        bare = token.strip("[].=")
        if bare in leaf_names and not previous.startswith(("-", "[-")):
            run = run if previous.strip("[].") in leaf_names else []
            run.append(bare)
        elif re.fullmatch(r"[A-Z][A-Z_]+", bare) and not previous.lstrip("[").startswith("-") and run:
            for name in run if token.endswith("...") else run[-1:]:
                found.setdefault(name, set()).add(bare)
        elif token.lstrip("[").startswith("-"):
            run = []
        previous = token
    return found


def test_every_argument_the_table_shows_exists_on_its_command():
    commands = dict(leaves())
    for row in readme_rows():
        group = row.split()[1]
        names = {path[-1]: command for path, command in commands.items() if path[0] == group}
        for leaf, placeholders in _placeholders_by_leaf(row, set(names)).items():
            arguments = {
                (p.metavar or p.name.upper()).strip("[].")
                for p in names[leaf].params
                if p.param_type_name == "argument"
            }
            assert placeholders <= arguments, f"README: `{row}` shows {sorted(placeholders - arguments)} for {leaf}"
