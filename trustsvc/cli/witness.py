"""``witness``: run a C2SP tlog-witness for other departments' logs (init, add-log, serve)."""

from __future__ import annotations

from pathlib import Path

import click

_STATE = click.option(
    "--state",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The witness's directory: its key and the checkpoints it cosigned.",
)


@click.group("witness")
def witness() -> None:
    """A witness: cosigns a log's checkpoints only if they are consistent (C2SP tlog-witness)."""


@witness.command("init")
@_STATE
@click.option(
    "--name", required=True, help="The witness's key name, e.g. witness.example.gov.cn/w1."
)
def init(state: Path, name: str) -> None:
    """Make the witness's Ed25519 key (mode 0600) and empty state; print its vkey."""
    from trustsvc.tlog.witness import Witness

    verifier = Witness.init(state, name)
    click.echo(verifier.vkey())


@witness.command("add-log")
@_STATE
@click.argument("origin")
@click.argument("vkey")
def add_log(state: Path, origin: str, vkey: str) -> None:
    """Follow the log ORIGIN, whose checkpoints the Ed25519 note key VKEY signs."""
    from trustsvc.tlog.witness import Witness

    Witness(state).add_log(origin, vkey)
    click.echo(f"trustsvc: the witness follows {origin}")


@witness.command("serve")
@_STATE
@click.option(
    "--listen",
    default="127.0.0.1:8086",
    show_default=True,
    help="HOST:PORT to answer on.",
)
def serve(state: Path, listen: str) -> None:
    """Answer add-checkpoint requests (and the monitoring checkpoint) over HTTP."""
    from trustsvc.api.witness import serve_witness
    from trustsvc.tlog.witness import Witness

    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise click.BadParameter("HOST:PORT, e.g. 127.0.0.1:8086", param_hint="--listen")
    w = Witness(state)
    click.echo(f"trustsvc: witness {w.verifier.vkey()} on http://{listen}")
    serve_witness(w, host.strip("[]"), int(port_text))
