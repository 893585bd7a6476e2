"""Running the CLI as a user does (a process of its own) or in-process (click's runner) in tests.

``run`` and ``trustsvc_process`` start the command in a process of its own: its own
environment (exactly the one given, nothing inherited), its own stdout and stderr, the
exit status of the process. The process is forked from a fork server that imported the
package once, so it starts with the package imported already instead of paying a new
interpreter's imports (1-2 s of CPU a command, most of the CLI tests' time), and without
the test process's threads. ``TRUSTSVC`` is the real
``python -m trustsvc``: the help of every command and ``serve`` are run that way, so
the entry point in a new interpreter stays tested.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner

from trustsvc.cli import cli, main
from trustsvc.forking import forkserver_context
from trustsvc.settings import Settings

TRUSTSVC = [sys.executable, "-m", "trustsvc"]


def _child(arguments: Sequence[str], environment: Mapping[str, str], out: str, err: str) -> None:
    """In the forked process: what ``python -m trustsvc ARGUMENTS`` does, then its exit."""
    code = 1
    try:
        code = _command(arguments, environment, out, err)
    finally:
        # Not sys.exit: no exit handler of the fork server is this process's.
        os._exit(code & 0xFF)


def _command(arguments: Sequence[str], environment: Mapping[str, str], out: str, err: str) -> int:
    """The command with the streams and environment a new interpreter would give it."""
    for name, descriptor in ((out, 1), (err, 2)):
        opened = os.open(name, os.O_WRONLY)
        os.dup2(opened, descriptor)
        os.close(opened)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.environ.clear()
    os.environ.update(environment)
    # The streams a new interpreter opens on those descriptors (UTF-8, as under C.UTF-8).
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = ["trustsvc", *arguments]
    try:
        main()
        code = 0
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:  # as the interpreter does with sys.exit("message")
            print(exit.code, file=sys.stderr)
            code = 1
    except Exception:  # noqa: BLE001 - uncaught: the traceback and 1, as the interpreter ends
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    return code


#: Commands are forked from a fork server: a process of its own, started once per test
#: process with the package imported and no other thread. A fork of the test process
#: itself would inherit its threads' locks (a live server's, a database pool's, the
#: logging module's) held, and hang on the first of them the command takes.
_FORKS = forkserver_context("trustsvc.cli", "tests.cli.running")


def trustsvc_process(
    arguments: Sequence[str], environment: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``trustsvc ARGUMENTS`` in a process of its own with exactly ``environment``.

    As ``subprocess.run(..., capture_output=True, text=True)`` answers, and raises
    ``subprocess.TimeoutExpired`` (the process killed) past ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="trustsvc-cli-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        out.touch()
        err.touch()
        process = _FORKS.Process(
            target=_child, args=(list(arguments), dict(environment), str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["trustsvc", *arguments], timeout)
        code = process.exitcode
        process.close()
        return subprocess.CompletedProcess(
            ["trustsvc", *arguments],
            code,  # minus the signal for a killed process, as subprocess says it
            out.read_bytes().decode("utf-8", "replace"),
            err.read_bytes().decode("utf-8", "replace"),
        )


def _environment(home: Path, env: dict[str, str] | None) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRUSTSVC_HOME": str(home),
        "TRUSTSVC_KEY_PASSPHRASE": "cli test passphrase",
        **(env or {}),
    }


def run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``trustsvc ARGS`` in a process of its own, with ``home`` and nothing else from this
    environment."""
    return trustsvc_process(args, _environment(home, env))


def run_interpreter(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """As ``run``, in a new interpreter (``python -m trustsvc``): the entry point itself."""
    return subprocess.run(
        [*TRUSTSVC, *args],
        env=_environment(home, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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
