"""``issue`` and ``issue-batch``: sealing new licenses, one or a file of them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trustsvc.cli.exits import EXIT_FAILURE
from trustsvc.cli.options import read_data_file
from trustsvc.cli.output import print_json
from trustsvc.cli.runtime import opened, settings_of


@click.command("issue")
@click.option(
    "--department", "department_code", required=True, help="Issuing department's credit code."
)
@click.option(
    "--type", "type_key", required=True, help="License type key (see `trustsvc types list`)."
)
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the license's field values (see `trustsvc types example TYPE`).",
)
@click.option("--idempotency-key", help="Retries with the same key return the same license.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the sealed PDF here.",
)
@click.pass_context
def issue(
    ctx: click.Context,
    department_code: str,
    type_key: str,
    data_path: Path,
    idempotency_key: str | None,
    out_path: Path | None,
) -> None:
    """Issue one e-license: render, seal (PAdES), store, record. Prints a JSON summary."""
    from trustsvc.licenses.requests import IssueRequest

    data = read_data_file(data_path)
    with opened(settings_of(ctx)) as runtime:
        licenses = runtime.licenses
        result = licenses.issue(
            IssueRequest(department_code, type_key, data, idempotency_key=idempotency_key)
        )
        if out_path is not None:
            out_path.write_bytes(licenses.document(result.license.identifier))
    view = result.license
    print_json(
        {
            "identifier": view.identifier,
            "license_number": view.license_number,
            "sha256": view.sha256,
            "status": view.status,
            "created": result.created,
            "path": str(out_path) if out_path else None,
        }
    )


@click.command("issue-batch")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--department", "department_code", required=True, help="Issuing department's credit code."
)
@click.option("--type", "type_key", required=True, help="License type key.")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default: all cores).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-row report, JSON Lines (default: FILE.report.jsonl).",
)
@click.pass_context
def issue_batch(
    ctx: click.Context,
    file: Path,
    department_code: str,
    type_key: str,
    workers: int | None,
    report_path: Path | None,
) -> None:
    """Issue one license per row of FILE (.csv or .jsonl); safe to re-run after an interruption."""
    from trustsvc.bootstrap import open_runtime
    from trustsvc.licenses.batch import count_rows, run_batch

    settings = settings_of(ctx)
    # Fail on settings, home or keys before starting workers (each opens its own).
    with opened(settings):
        pass
    report_path = report_path or file.with_name(file.name + ".report.jsonl")
    total = count_rows(file)
    with click.progressbar(length=total, label="issuing", file=sys.stderr) as bar:
        summary = run_batch(
            open_runtime,
            settings,
            file,
            department_code,
            type_key,
            report_path,
            workers,
            progress=bar.update,
        )
    print_json(summary)
    if summary.errors:
        sys.exit(EXIT_FAILURE)
