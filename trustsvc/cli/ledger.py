"""``ledger``: the transparency log from outside: ``check-proof`` checks a C2SP tlog-proof
with a log key and witness keys alone, with no database (the binding helper's ``verify``
joins this group)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from trustsvc.cli.runtime import opened, settings_of


@click.group("ledger")
def ledger() -> None:
    """The library's transparency log (C2SP checkpoints, tiles, proofs)."""


@ledger.command("check-proof")
@click.argument("proof_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--log-key", required=True, help="The log's vkey (Ed25519 note key).")
@click.option(
    "--witness-key", "witness_keys", multiple=True, help="A witness's vkey (cosignature/v1)."
)
@click.option(
    "--quorum",
    type=click.IntRange(0, 64),
    default=None,
    help="Witness cosignatures needed (default: every witness key given).",
)
@click.option(
    "--entry",
    "entry_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The entry's bytes (default: the proof's extra data).",
)
def check_proof(
    proof_file: Path,
    log_key: str,
    witness_keys: tuple[str, ...],
    quorum: int | None,
    entry_file: Path | None,
) -> None:
    """Check PROOF_FILE (a .tlog-proof): signed by the log, cosigned by the quorum of
    witnesses, and the entry included in the checkpoint's tree. Exit 0 if it holds."""
    from trustsvc.tlog.errors import FormatError
    from trustsvc.tlog.proof import MAX_EXTRA_BYTES, MAX_PROOF_FILE_BYTES, check_proof

    data = _read_bounded(proof_file, MAX_PROOF_FILE_BYTES)
    entry = _read_bounded(entry_file, MAX_EXTRA_BYTES) if entry_file else None
    if data is None or (entry_file is not None and entry is None):
        raise FormatError("the proof or entry file is larger than a tlog-proof can be")
    verified = check_proof(data, log_key, witness_keys, quorum, entry)
    checkpoint = verified.checkpoint
    witnesses = ", ".join(verified.witnesses) or "no witnesses"
    click.echo(
        f"valid: entry {verified.index} is in {checkpoint.origin} at size {checkpoint.size} "
        f"(leaf {verified.leaf_hash.hex()}); cosigned by {witnesses}"
    )


def _read_bounded(path: Path, limit: int) -> bytes | None:
    with path.open("rb") as f:
        data = f.read(limit + 1)
    return None if len(data) > limit else data


@ledger.command("integrate")
@click.option(
    "--follow",
    is_flag=True,
    help="Go on integrating and publishing every $TRUSTSVC_LOG_INTEGRATE_SECONDS until stopped.",
)
@click.option("--no-publish", is_flag=True, help="Integrate only; publish no checkpoint.")
@click.pass_context
def integrate(ctx: click.Context, follow: bool, no_publish: bool) -> None:
    """Fold the log's new entries into its Merkle tree, then publish a checkpoint.

    What each serving process does in the background; for a node that serves
    nothing, or to catch up at once. Safe beside running servers: the tree and
    the checkpoint change by compare-and-swap.
    """
    from trustsvc.audit.log.integration import integrate_all
    from trustsvc.bootstrap import build_log_publisher

    with opened(settings_of(ctx)) as runtime:
        services = runtime.services
        publisher = build_log_publisher(services)
        while True:
            head = integrate_all(services.database, services.clock)
            published = None if no_publish else publisher.publish()
            line = f"tree: {head.size} entries, root {head.root.hex()}"
            if published is not None:
                witnesses = ", ".join(published.cosigned_by) or "no witnesses"
                line += f"; published checkpoint {published.size} ({witnesses})"
            click.echo(line)
            if not follow:
                return
            time.sleep(services.settings.log_integrate_seconds)


@ledger.command("log-key")
@click.pass_context
def log_key(ctx: click.Context) -> None:
    """Print the log's origin and public key (vkey): what a witness adds with ``add-log``."""
    from trustsvc.bootstrap import build_log_key

    settings = settings_of(ctx)
    signer = build_log_key(settings)
    click.echo(f"{signer.name} {signer.verifier.vkey()}")
