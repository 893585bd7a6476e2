"""The command line's shape: one opener that always closes, choices from the enums, on top.

(The commands' own behaviour is in ``test_commands`` and beside the code each drives.)
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import trustsvc
from trustsvc.audit.operators import OperatorAction
from trustsvc.cli import cli
from trustsvc.cli.runtime import opened
from trustsvc.db.models import ClientRole, LicenseStatus
from trustsvc.licenses.library import RevocationKind
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm


def _command(*path: str) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, name
        command = found
    return command


def _paths(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, click.Group):
            yield from _paths(command, (*path, name))
        else:
            yield (*path, name)


def _choices(*path: str, option: str) -> tuple[str, ...]:
    [param] = [p for p in _command(*path).params if option in p.opts]
    assert isinstance(param.type, click.Choice)
    return tuple(param.type.choices)


@pytest.mark.parametrize("path", list(_paths(cli)), ids=lambda p: " ".join(p) or "trustsvc")
def test_every_command_answers_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="trustsvc")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('trustsvc', *path))} ")


@pytest.mark.parametrize(
    ("path", "option", "enum"),
    [
        (("init",), "--algorithm", KeyAlgorithm),
        (("client", "add"), "--role", ClientRole),
        (("license", "list"), "--status", LicenseStatus),
        (("license", "revoke"), "--kind", RevocationKind),
        (("operator-record",), "--action", OperatorAction),
    ],
)
def test_choices_are_the_values_of_the_enum(
    path: tuple[str, ...], option: str, enum: type[Enum]
) -> None:
    assert _choices(*path, option=option) == tuple(member.value for member in enum)


def test_every_kind_of_operator_change_can_be_looked_for() -> None:
    # The list was once written out by hand and missed the purpose and type changes.
    result = CliRunner().invoke(cli, ["operator-record", "--action", "bogus"])
    assert result.exit_code == 2
    for action in OperatorAction:
        assert action.value in result.output


def test_revocation_reasons_are_those_the_service_accepts() -> None:
    from trustsvc.pki.revocation import REASONS, parse_reason

    seal = _choices("department", "revoke-seal", option="--reason")
    report = _choices("report-seal", "revoke", option="--reason")
    assert seal == tuple(r for r in REASONS if r != "ca_compromise")
    assert report == tuple(r for r in seal if r != "affiliation_changed")
    for reason in seal:
        parse_reason(reason)


def test_opened_closes_the_services_however_the_command_ends(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Services] = []
    close = Services.close

    def recording(self: Services) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Services, "close", recording)
    with pytest.raises(RuntimeError), opened(services.settings) as failing:
        raise RuntimeError("the command failed")
    with opened(services.settings) as finished:
        assert finished.licenses is finished.licenses  # built once, on first use
    assert closed == [failing.services, finished.services]


def test_nothing_in_the_package_imports_the_command_line() -> None:
    package = Path(trustsvc.__file__).parent
    for path in package.rglob("*.py"):
        if path.is_relative_to(package / "cli") or path == package / "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            assert not any(n == "trustsvc.cli" or n.startswith("trustsvc.cli.") for n in names), (
                f"{path} imports the command line"
            )


def test_the_command_line_loads_the_domain_only_when_a_command_runs() -> None:
    # So that --help and usage errors answer at once, not after a second of imports.
    heavy = ("sqlalchemy", "pyhanko", "fastapi", "cryptography")
    code = f"import sys, trustsvc.cli; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
