"""Running the CLI as a user does (a subprocess) or in-process (click's runner) in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from trustsvc.cli import cli
from trustsvc.settings import Settings

TRUSTSVC = [sys.executable, "-m", "trustsvc"]


def run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``trustsvc ARGS`` in a subprocess, with ``home`` and nothing else from this environment."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRUSTSVC_HOME": str(home),
        "TRUSTSVC_KEY_PASSPHRASE": "cli test passphrase",
        **(env or {}),
    }
    return subprocess.run(
        [*TRUSTSVC, *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def invoke(settings: Settings, *args: str) -> tuple[int, str, str]:
    """``trustsvc --home HOME ARGS`` in this process, on the home and database of ``settings``."""
    environment = {
        "TRUSTSVC_KEY_PASSPHRASE": settings.key_passphrase.get_secret_value(),
        "TRUSTSVC_DATABASE_URL": settings.database_url or "",
        "TRUSTSVC_PUBLIC_BASE_URL": settings.public_base_url,
    }
    result = CliRunner().invoke(
        cli, ["--home", str(settings.home), *args], env=environment, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trustsvc: error: ")
    assert text in lines[0]
    assert "Traceback" not in result.stderr
