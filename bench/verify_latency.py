"""Time verification: full PDF verification latency and QR tokens per second.

A home is made in a temporary folder, a department added and licenses
issued; then each license PDF is verified (every check of
``Verifier.verify_pdf``, library lookup included) and its QR token verified
online (signature, issuer, library status), in this one process; then the
PDFs again through the child process the API verifies uploads in. Besides
wall-clock latency it reports the CPU time of each verification (this
thread's), which other work on a shared machine disturbs far less.

    .venv/bin/python bench/verify_latency.py [--documents 30] [--rounds 10] [--tokens 5000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from trustsvc.bootstrap import (
    build_licenses,
    build_verifier,
    database_library,
    initialise_home,
    open_services,
)
from trustsvc.codes.identifiers import credit_code_check_character
from trustsvc.departments.registry import add_department
from trustsvc.licenses import production as license_service
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.keystore import SigningKey
from trustsvc.settings import Settings
from trustsvc.tokens.format import TokenClaims
from trustsvc.verification import hex_strings
from trustsvc.verification.isolation import IsolatedPdfVerifier
from trustsvc.verification.report import Verdict

DEPARTMENT = "11330100MB0000001" + credit_code_check_character("11330100MB0000001")


def _holder(index: int) -> dict[str, str]:
    """A credit code of its own per license: a business license is unique per holder."""
    body = f"91330100MA{index + 1:07d}"
    return {"holder_id_type": "001", "holder_id": body + credit_code_check_character(body)}


def _record_printed_tokens() -> dict[str, str]:
    """The QR token issuance prints on each license, by identifier (as signed, not read back)."""
    printed: dict[str, str] = {}
    sign = license_service.sign_token

    def recording(claims: TokenClaims, key: SigningKey, kid: bytes) -> str:
        token = sign(claims, key, kid)
        printed[claims.identifier] = token
        return token

    license_service.sign_token = recording
    return printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument(
        "--profile-tokens", action="store_true", help="Print where token verification spends."
    )
    arguments = parser.parse_args()
    hex_strings.install()  # as the API, the CLI and a verification child do at start-up
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(home=Path(directory) / "home", key_passphrase=SecretStr("benchmark"))
        initialise_home(settings)
        services = open_services(settings)
        add_department(services, "杭州市市场监督管理局", DEPARTMENT, "330100")
        licenses = build_licenses(services)
        printed = _record_printed_tokens()
        example = example_data(get_type(licenses.types, "business-license"))
        documents = []
        identifiers = []
        for index in range(arguments.documents):
            view = licenses.issue(
                IssueRequest(
                    DEPARTMENT,
                    "business-license",
                    {**example, **_holder(index), "holder_name": f"第{index}号公司"},
                )
            ).license
            identifiers.append(view.identifier)
            documents.append(licenses.document(view.identifier))
        verifier = build_verifier(services, allow_fetching=False)
        tokens = [printed[identifier] for identifier in identifiers[:5]]
        assert verifier.verify_pdf(documents[0]).verdict is Verdict.VALID
        latencies = []
        cpu_times = []
        for _ in range(arguments.rounds):
            for pdf in documents:
                started, cpu_started = time.perf_counter(), time.thread_time()
                report = verifier.verify_pdf(pdf)
                latencies.append((time.perf_counter() - started) * 1000)
                cpu_times.append((time.thread_time() - cpu_started) * 1000)
                assert report.verdict is Verdict.VALID
        # The same documents as the API verifies uploads: in a child process, over a pipe.
        isolated = IsolatedPdfVerifier(
            lambda: verifier.trust, database_library(services), processes=1
        )
        try:
            assert isolated.verify_pdf(documents[0], services.clock.now()).verdict is Verdict.VALID
            isolated_latencies = []
            for pdf in documents * max(1, arguments.rounds // 2):
                started = time.perf_counter()
                report = isolated.verify_pdf(pdf, services.clock.now())
                isolated_latencies.append((time.perf_counter() - started) * 1000)
                assert report.verdict is Verdict.VALID
        finally:
            isolated.close()
        for token in tokens:
            assert verifier.verify_token(token).verdict is Verdict.VALID
        profile = cProfile.Profile() if arguments.profile_tokens else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        for index in range(arguments.tokens):
            verifier.verify_token(tokens[index % len(tokens)])
        if profile is not None:
            profile.disable()
        token_rate = arguments.tokens / (time.perf_counter() - started)
        token_cpu = (time.process_time() - cpu_started) / arguments.tokens * 1e6
        services.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    median = statistics.median(latencies)
    cpu_median = statistics.median(cpu_times)
    print(
        f"PDF verification ({len(latencies)} runs)   median {median:.1f} ms, p99 {p99:.1f} ms"
        f" (CPU median {cpu_median:.1f} ms)"
    )
    isolated_latencies.sort()
    print(
        f"the same in a child process     median {statistics.median(isolated_latencies):.1f} ms,"
        f" p99 {isolated_latencies[int(len(isolated_latencies) * 0.99)]:.1f} ms"
    )
    print(
        f"QR token verification, online    {token_rate:.0f} tokens/s (one core, in process;"
        f" CPU {token_cpu:.0f} µs per token)"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
