"""Issue licenses end to end on all cores and print licenses per second.

Each license is rendered, sealed (PAdES B-LT, certification seal, RFC 3161
timestamp from the built-in TSA, validation data embedded), stored and
recorded in the library, through the same batch path as `trustsvc
issue-batch`. In the same run, the naive pipeline — the same page, then
pyHanko's ``sign_pdf`` with default options per document: the key loaded from
its file for every signature, a trial signature to size the container,
revocation answers produced afresh for each document — is timed on the same
number of processes, and the ratio printed.

    .venv/bin/python bench/issue_throughput.py [--rows 500] [--naive-rows 100] [--workers N]
        [--stage-rows 200]

Peak memory (RSS) of the batch's worker processes is printed too, so a long
run (--rows 20000) shows whether it stays flat, and last, in one process, the
median time per license of the page, the seal and the rest of an issue.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import logging
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from trustsvc.bootstrap import build_licenses, initialise_home, open_runtime, open_services
from trustsvc.codes.identifiers import credit_code_check_character
from trustsvc.departments.registry import add_department
from trustsvc.licenses.batch import run_batch
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.keystore import FileKeyStore
from trustsvc.services import Services
from trustsvc.settings import Settings

DEPARTMENT = "11330100MB0000001" + credit_code_check_character("11330100MB0000001")


def prepare(home: Path) -> Settings:
    settings = Settings(home=home, key_passphrase=SecretStr("benchmark passphrase"))
    initialise_home(settings)
    services = open_services(settings)
    add_department(services, "杭州市市场监督管理局", DEPARTMENT, "330100")
    services.close()
    return settings


_holders = itertools.count(1)


def holder() -> dict[str, str]:
    """A credit code of its own per license: a business license is unique per holder."""
    body = f"91330100MA{next(_holders):07d}"
    return {"holder_id_type": "001", "holder_id": body + credit_code_check_character(body)}


def write_rows(settings: Settings, path: Path, rows: int) -> None:
    services = open_services(settings)
    example = example_data(get_type(build_licenses(services).types, "business-license"))
    services.close()
    with path.open("w", encoding="utf-8") as handle:
        for index in range(rows):
            row = {**example, **holder(), "holder_name": f"杭州第{index}号科技有限公司"}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---- the naive pipeline ------------------------------------------------------------

_naive: dict[str, object] = {}


def _naive_start(settings: Settings, tsa_url: str | None) -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    # pyHanko warns, for every document, that it may not fetch revocation data
    # it has been given; the naive pipeline's figure needs no such log.
    logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)
    services = open_services(settings)
    licenses = build_licenses(services)
    _naive["services"] = services
    _naive["licenses"] = licenses
    # A first integration asks the service's TSA over HTTP, as pyHanko's
    # HTTPTimeStamper does; without a URL, the in-process TSA is shared.
    _naive["timestamper"] = (
        HTTPTimeStamper(tsa_url) if tsa_url else licenses.producer.sealer.timestamper
    )


def _naive_one(index: int) -> int:
    """Render as the service does, then seal with pyHanko's defaults."""
    from asn1crypto import crl, ocsp
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle
    from pyhanko_certvalidator import ValidationContext

    from trustsvc.codes.identifiers import LicenseIdentifier
    from trustsvc.departments.seals import active_seal
    from trustsvc.documents.render import render_license
    from trustsvc.licenses.types import validate_license_data
    from trustsvc.seals.sealer import _asn1_certificate

    licenses: IssuingService = _naive["licenses"]  # type: ignore[assignment]
    services: Services = _naive["services"]  # type: ignore[assignment]
    license_type = get_type(licenses.types, "business-license")
    data = validate_license_data(
        license_type,
        {**example_data(license_type), "holder_name": f"杭州第{index}号"},
        licenses.today(),
    )
    seal = active_seal(services, DEPARTMENT)
    identifier = LicenseIdentifier(license_type.code, DEPARTMENT, f"2026{index:08d}", 1)
    document = licenses.producer.document(
        identifier, "330100202600000001", license_type, data, seal, "x"
    )
    rendered = render_license(document, licenses.font_name)
    # What a first integration does: load the key from its file for each document...
    assert isinstance(services.seal_keys, FileKeyStore), "the naive pipeline reads key files"
    key_file = services.seal_keys.path(seal.key_id)
    cert_pem = seal.material.certificate.public_bytes(serialization.Encoding.PEM)
    with tempfile.NamedTemporaryFile(suffix=".pem") as cert_file:
        cert_file.write(cert_pem)
        cert_file.flush()
        signer = signers.SimpleSigner.load(
            str(key_file),
            cert_file.name,
            ca_chain_files=(),
            key_passphrase=services.settings.key_passphrase.get_secret_value().encode(),
        )
    # ...fetch revocation answers for each document...
    context = ValidationContext(
        trust_roots=[_asn1_certificate(services.pki.root)],
        other_certs=[_asn1_certificate(services.pki.issuing), _asn1_certificate(services.pki.tsa)],
        ocsps=[ocsp.OCSPResponse.load(services.revocation.ocsp_for(seal.material.certificate))],
        crls=[
            crl.CertificateList.load(services.revocation.current_crl(ca))
            for ca in ("root", "issuing")
        ],
    )
    # ...and sign with default options (a trial signature sizes the container).
    metadata = signers.PdfSignatureMetadata(
        field_name="Seal",
        certify=True,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context,
    )
    x1, y1, x2, y2 = (int(v) for v in rendered.seal_box)
    pdf_signer = signers.PdfSigner(
        metadata,
        signer,
        timestamper=_naive["timestamper"],
        new_field_spec=fields.SigFieldSpec("Seal", box=(x1, y1, x2, y2)),
        stamp_style=StaticStampStyle.from_pdf_file(
            str(licenses.producer.stamp(seal)), border_width=0
        ),
    )
    output = pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(rendered.pdf)))
    return len(output.getvalue())


def run_naive(settings: Settings, rows: int, workers: int, tsa_url: str | None) -> float:
    # The HTTP TSA runs in a thread of this process (with the app's own
    # threads): forking now could copy a lock one of them holds and hang the
    # worker. The workers start from a fresh server process instead.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_naive_start,
        initargs=(settings, tsa_url),
    ) as pool:
        list(pool.map(_naive_one, range(workers)))  # warm-up: fonts, imports
        started = time.perf_counter()
        list(pool.map(_naive_one, range(rows)))
        return rows / (time.perf_counter() - started)


# ---- one process, stage by stage -------------------------------------------------


def run_stages(settings: Settings, rows: int) -> dict[str, float]:
    """Median milliseconds per license in one process: the page, the seal, the whole issue.

    The service's own issue path, with its renderer and sealer timed where it
    calls them; "rest" is the issue's median less the other two (token,
    library record, document store, commits).
    """
    import statistics

    import trustsvc.licenses.production as service_module  # where the page is drawn
    from trustsvc.licenses.requests import IssueRequest

    services = open_services(settings)
    licenses = build_licenses(services)
    example = example_data(get_type(licenses.types, "business-license"))
    timings: dict[str, list[float]] = {"render": [], "seal": [], "issue": []}

    def timed(stage: str, call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                timings[stage].append(time.perf_counter() - started)

        return run

    original_render = service_module.render_license
    service_module.render_license = timed("render", original_render)
    licenses.producer.sealer.seal = timed("seal", licenses.producer.sealer.seal)  # type: ignore[method-assign]
    try:
        for index in range(rows + 10):  # the first ten warm up: fonts, stamp, revocation
            started = time.perf_counter()
            licenses.issue(
                IssueRequest(
                    DEPARTMENT,
                    "business-license",
                    {**example, **holder(), "holder_name": f"杭州第{index}号分公司"},
                    idempotency_key=f"stages-{index}",
                )
            )
            timings["issue"].append(time.perf_counter() - started)
    finally:
        service_module.render_license = original_render
        services.close()
    medians = {k: statistics.median(v[10:]) * 1000 for k, v in timings.items()}
    medians["rest"] = medians["issue"] - medians["render"] - medians["seal"]
    return medians


@contextlib.contextmanager
def _tsa_server(settings: Settings) -> Iterator[str]:
    """The service's own HTTP endpoints on 127.0.0.1, for the naive pipeline's TSA requests."""
    import socket

    import uvicorn

    from trustsvc.api.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/pki/tsa"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--naive-rows", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--stage-rows", type=int, default=200, help="licenses timed stage by stage (0: none)"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = prepare(Path(directory) / "home")
        rows_file = Path(directory) / "rows.jsonl"
        warm_file = Path(directory) / "warm.jsonl"
        write_rows(settings, rows_file, arguments.rows)
        write_rows(settings, warm_file, arguments.workers)
        finished: list[float] = []
        started = time.perf_counter()
        summary = run_batch(
            open_runtime, settings, rows_file, DEPARTMENT, "business-license",
            Path(directory) / "report.jsonl", arguments.workers,
            progress=lambda _n: finished.append(time.perf_counter()),
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        # Steady state: from the 10th percentile row on, once every worker is warm.
        first = len(finished) // 10
        steady = (len(finished) - first) / (finished[-1] - finished[first])
        assert summary.issued == arguments.rows, summary
        fast = arguments.rows / elapsed
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        coordinator_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        naive_shared = run_naive(settings, arguments.naive_rows, arguments.workers, None)
        with _tsa_server(settings) as tsa_url:
            naive = run_naive(settings, arguments.naive_rows, arguments.workers, tsa_url)
        stages = run_stages(settings, arguments.stage_rows) if arguments.stage_rows else None
    print(f"workers                     {arguments.workers}")
    print(
        f"licenses issued             {arguments.rows} in {elapsed:.1f} s (process start included)"
    )
    print(f"issuance, end to end        {fast:.1f} licenses/s (worker start-up included)")
    print(f"issuance, steady state      {steady:.1f} licenses/s")
    print(f"naive pipeline, HTTP TSA    {naive:.1f} licenses/s ({arguments.naive_rows} documents)")
    print(f"ratio (steady / naive)      {steady / naive:.1f}x")
    print(f"naive, sharing our TSA      {naive_shared:.1f} licenses/s")
    print(f"ratio (steady / that)       {steady / naive_shared:.1f}x")
    print(f"peak worker RSS             {peak_mib:.0f} MiB")
    print(f"peak coordinator RSS        {coordinator_mib:.0f} MiB")
    if stages:
        print(
            f"one process, per license    page {stages['render']:.1f} ms, seal "
            f"{stages['seal']:.1f} ms, rest {stages['rest']:.1f} ms "
            f"(issue {stages['issue']:.1f} ms; medians of {arguments.stage_rows})"
        )


if __name__ == "__main__":
    main()
