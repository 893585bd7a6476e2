"""PDF verification in child processes that can be stopped: a hard bound on time and memory.

An uploaded PDF is hostile until proven otherwise. The verifier checks its own
deadline between stages, but a single stage inside pyHanko can still run long,
and a thread cannot be stopped. The API therefore verifies uploads here: each
verification runs in a child process with an address-space limit, and a child
that is still busy ``grace`` after the verifier's own time limit is killed and
replaced. The verdict is then ``not_evaluable`` (reason time_limit_exceeded),
as for a child that dies (reason not_evaluable): the service could not
decide, which is never blamed on the document, and never valid.

A child holds trust material only (``trustsvc.verification.trust``: the
certificates, never a private key, passphrase or database connection): what
it needs of the library it asks the parent, over its pipe, in JSON, one
question at a time from a fixed list (``ParentLibrary``); the parent answers
from its own lookup. So a hostile document that took over a child finds no key
to steal and can only ask the questions a verification asks.

The children are started when first needed and are kept for later requests.
A verification is made as of the moment the caller gives, so that it answers
for the time the request arrived, with the caller's clock.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trustsvc.clock import FixedClock
from trustsvc.db.models import LicenseStatus
from trustsvc.errors import ConfigurationError
from trustsvc.forking import forkserver_context
from trustsvc.verification import hex_strings
from trustsvc.verification import reasons as R
from trustsvc.verification.library import (
    CodeState,
    CurrentVersion,
    Entry,
    LibraryLookup,
    Revocation,
    RevocationUnavailable,
    as_utc,
)
from trustsvc.verification.report import (
    Facts,
    Reason,
    VerificationReport,
    conclude,
    report_from_json,
    report_to_json,
)
from trustsvc.verification.trust import TrustMaterial
from trustsvc.verification.verifier import DEFAULT_TIME_LIMIT, Verifier

log = logging.getLogger("trustsvc.verification")

#: What a child does with each PDF; tests give another function to see a child stopped.
Work = Callable[[Verifier, bytes], VerificationReport]

#: How long a new child may take to start (its imports).
_START_TIMEOUT = 120.0
#: Messages between parent and child, as raw bytes and JSON: nothing is unpickled.
_READY, _STOP = b"ready", b"stop"
_QUESTION, _REPORT = b"?", b"="
#: An answer is a report of a few kilobytes; anything larger is not one.
_MAX_ANSWER = 1024 * 1024
#: What the parent answers a child's question with (its CRLs among them): the parent is
#: trusted, the bound only keeps a broken pipe from filling the child's memory.
_MAX_PARENT_ANSWER = 64 * 1024 * 1024
#: What a child may still find in its environment and must not keep (the fork server
#: inherited the parent's environment).
_SECRET_VARIABLES = ("TRUSTSVC_KEY_PASSPHRASE", "TRUSTSVC_PKCS11_PIN", "TRUSTSVC_DATA_KEY")
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024
DEFAULT_GRACE = timedelta(seconds=2)
#: Never a fork of the threaded, key-holding server: children of the fork server, which
#: has imported this module and what it needs (``trustsvc.forking``). Named at import, so
#: that the server has it whoever starts it first.
_CHILDREN = forkserver_context(__name__)


def verify(verifier: Verifier, pdf: bytes) -> VerificationReport:
    return verifier.verify_pdf(pdf)


def _child(connection: Connection, time_limit: timedelta, memory: int, work: Work) -> None:
    """A child's life: say it is ready, then verify what arrives until told to stop.

    Jobs come as the moment (ISO 8601), the trust material when it changed
    (as JSON) and the PDF; answers go back as JSON, never
    pickled: a child that parsed a hostile document is trusted with nothing more.
    """
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    hex_strings.install()  # this process's PDF reader, chosen once at its start
    for name in _SECRET_VARIABLES:  # inherited from the parent's environment, never needed
        os.environ.pop(name, None)
    clock = FixedClock(datetime.now(UTC))  # set to each job's moment
    library = ParentLibrary(connection)
    verifier: Verifier | None = None
    connection.send_bytes(_READY)
    try:
        while True:
            moment = connection.recv_bytes()
            if moment == _STOP:
                return
            trust = connection.recv_bytes()
            pdf = connection.recv_bytes()
            clock.current = datetime.fromisoformat(moment.decode())
            if trust:
                verifier = Verifier(
                    _trust_from_json(trust, clock),
                    library,
                    allow_fetching=False,
                    time_limit=time_limit,
                )
            try:
                if verifier is None:
                    raise ConfigurationError("no trust material was given")
                report = work(verifier, pdf)
            except Exception:  # a MemoryError at the limit among them: fail closed
                log.exception("verification in a child process could not be completed")
                report = conclude([R.NOT_EVALUABLE], Facts(), clock.current)
            connection.send_bytes(_REPORT + report_to_json(report))
    except (EOFError, KeyboardInterrupt):
        return


# ---- the library, asked of the parent ------------------------------------------------


class ParentLibrary:
    """A child's library lookup: each question goes to the parent, as JSON, and waits."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _ask(self, method: str, *arguments: object) -> Any:
        self._connection.send_bytes(_QUESTION + json.dumps([method, list(arguments)]).encode())
        answer = json.loads(self._connection.recv_bytes(_MAX_PARENT_ANSWER))
        if "revocation_unavailable" in answer:
            raise RevocationUnavailable
        if "failed" in answer:
            raise RuntimeError(f"the parent could not answer {method}")
        return answer["value"]

    def entry_by_identifier(self, identifier: str) -> Entry | None:
        return _entry_from_json(self._ask("entry_by_identifier", identifier))

    def entry_by_document(self, signed_sha256: str, whole_sha256: str) -> Entry | None:
        return _entry_from_json(self._ask("entry_by_document", signed_sha256, whole_sha256))

    def token_entry(
        self, identifier: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        entry, revocation = self._ask("token_entry", identifier, fingerprint)
        return _entry_from_json(entry), _revocation_from_json(revocation)

    def current_version(self, license_id: int) -> CurrentVersion:
        identifier, number = self._ask("current_version", license_id)
        return CurrentVersion(identifier, number)

    def seal_revocation(self, fingerprint: str) -> Revocation | None:
        return _revocation_from_json(self._ask("seal_revocation", fingerprint))

    def document_entry(
        self, signed_sha256: str, whole_sha256: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        entry, revocation = self._ask("document_entry", signed_sha256, whole_sha256, fingerprint)
        return _entry_from_json(entry), _revocation_from_json(revocation)

    def is_report_seal(self, fingerprint: str) -> bool:
        return bool(self._ask("is_report_seal", fingerprint))

    def entitled(
        self, type_key: str, issuer_code: str, moment: datetime, license_id: int | None = None
    ) -> bool | None:
        answer = self._ask("entitled", type_key, issuer_code, moment.isoformat(), license_id)
        return None if answer is None else bool(answer)

    def revocation_answers(self, certificate: x509.Certificate) -> tuple[bytes, tuple[bytes, ...]]:
        der = certificate.public_bytes(serialization.Encoding.DER)
        answer, lists = self._ask("revocation_answers", der.hex())
        return bytes.fromhex(answer), tuple(bytes.fromhex(item) for item in lists)

    def presentation(self, nonce_hex: str) -> CodeState | None:
        raise ConfigurationError("a verification child checks PDFs, not presentation codes")

    def record_check(
        self, code: CodeState, checked_at: datetime, checked_by: str, purpose: str | None
    ) -> bool:
        raise ConfigurationError("a verification child records nothing")


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise ValueError("not a short text")
    return value


def _number(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a number")
    return value


def _answer(library: LibraryLookup, method: str, arguments: list[object]) -> object:
    """The parent's answer to one question, its arguments checked: a child may be hostile."""
    if method == "entry_by_identifier":
        return _entry_to_json(library.entry_by_identifier(_text(arguments[0])))
    if method == "entry_by_document":
        return _entry_to_json(library.entry_by_document(_text(arguments[0]), _text(arguments[1])))
    if method == "token_entry":
        entry, revocation = library.token_entry(_text(arguments[0]), _text(arguments[1]))
        return [_entry_to_json(entry), _revocation_to_json(revocation)]
    if method == "current_version":
        current = library.current_version(_number(arguments[0]))
        return [current.identifier, current.license_number]
    if method == "document_entry":
        entry, revocation = library.document_entry(
            _text(arguments[0]), _text(arguments[1]), _text(arguments[2])
        )
        return [_entry_to_json(entry), _revocation_to_json(revocation)]
    if method == "seal_revocation":
        return _revocation_to_json(library.seal_revocation(_text(arguments[0])))
    if method == "is_report_seal":
        return library.is_report_seal(_text(arguments[0]))
    if method == "entitled":
        license_id = None if arguments[3] is None else _number(arguments[3])
        moment = datetime.fromisoformat(_text(arguments[2]))
        if moment.tzinfo is None:
            raise ValueError("a moment without a time zone")
        return library.entitled(_text(arguments[0]), _text(arguments[1]), moment, license_id)
    if method == "revocation_answers":
        hex_der = arguments[0]
        if not isinstance(hex_der, str) or len(hex_der) > 64 * 1024:
            raise ValueError("not a certificate")
        certificate = x509.load_der_x509_certificate(bytes.fromhex(hex_der))
        answer, lists = library.revocation_answers(certificate)
        return [answer.hex(), [item.hex() for item in lists]]
    raise ValueError(f"no such question: {method!r}")


def _serve(library: LibraryLookup, question: bytes) -> bytes:
    try:
        method, arguments = json.loads(question)
        if not isinstance(method, str) or not isinstance(arguments, list):
            raise ValueError("not a question")
        value = _answer(library, method, arguments)
    except RevocationUnavailable:
        return b'{"revocation_unavailable": true}'
    except Exception:
        log.warning("a verification child's question could not be answered", exc_info=True)
        return b'{"failed": true}'
    return json.dumps({"value": value}).encode()


def _trust_to_json(trust: TrustMaterial) -> bytes:
    def der(certificate: x509.Certificate) -> str:
        return certificate.public_bytes(serialization.Encoding.DER).hex()

    return json.dumps(
        {
            "root": der(trust.root),
            "issuing": der(trust.issuing),
            "tsa": der(trust.tsa),
            "other_roots": [der(c) for c in trust.other_roots],
            "published_seals": str(trust.published_seals),
            "zone": trust.zone.key,
            "report_seals": sorted(trust.report_seals),
        }
    ).encode()


def _trust_from_json(data: bytes, clock: FixedClock) -> TrustMaterial:
    fields = json.loads(data)

    def load(hex_der: str) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes.fromhex(hex_der))

    return TrustMaterial(
        load(fields["root"]),
        load(fields["issuing"]),
        load(fields["tsa"]),
        tuple(load(c) for c in fields["other_roots"]),
        Path(fields["published_seals"]),
        clock,
        ZoneInfo(fields["zone"]),
        frozenset(fields["report_seals"]),
    )


def _moment_text(value: object) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def _entry_to_json(entry: Entry | None) -> dict[str, object] | None:
    if entry is None:
        return None
    fields = asdict(entry)
    fields["valid_from"] = entry.valid_from.isoformat()
    fields["valid_until"] = entry.valid_until.isoformat() if entry.valid_until else None
    fields["status"] = entry.status.value
    fields["issued_at"] = _moment_text(entry.issued_at)
    fields["status_changed_at"] = _moment_text(entry.status_changed_at)
    return fields


def _entry_from_json(fields: dict[str, Any] | None) -> Entry | None:
    if fields is None:
        return None
    valid_until = fields["valid_until"]
    return Entry(
        **{
            **fields,
            "valid_from": date.fromisoformat(fields["valid_from"]),
            "valid_until": date.fromisoformat(valid_until) if valid_until else None,
            "status": LicenseStatus(fields["status"]),
        }
    )


def _revocation_to_json(revocation: Revocation | None) -> list[object] | None:
    if revocation is None:
        return None
    invalidity = revocation.invalidity_date
    return [
        revocation.revoked_at.isoformat(),
        revocation.reason,
        invalidity.isoformat() if invalidity is not None else None,
    ]


def _revocation_from_json(value: list[Any] | None) -> Revocation | None:
    if value is None:
        return None
    return Revocation(
        datetime.fromisoformat(value[0]),
        value[1],
        datetime.fromisoformat(value[2]) if value[2] is not None else None,
    )


class _ChildLost(Exception):
    def __init__(self, reason: Reason) -> None:
        self.reason = reason


@dataclass(eq=False)  # each child is itself, whatever it holds
class _Child:
    process: Any  # a SpawnProcess
    connection: Connection

    #: The trust material this child was last given (sent again only when it changes).
    trust: TrustMaterial | None = None

    def run(
        self,
        pdf: bytes,
        moment: datetime,
        timeout: float,
        trust: TrustMaterial,
        library: LibraryLookup,
    ) -> VerificationReport:
        end = time.monotonic() + timeout
        try:
            self.connection.send_bytes(moment.isoformat().encode())
            self.connection.send_bytes(b"" if trust is self.trust else _trust_to_json(trust))
            self.trust = trust
            self.connection.send_bytes(pdf)
            while True:
                if not self.connection.poll(max(0.0, end - time.monotonic())):
                    raise _ChildLost(R.TIME_LIMIT_EXCEEDED)
                message = self.connection.recv_bytes(_MAX_ANSWER)
                if message.startswith(_QUESTION):
                    self.connection.send_bytes(_serve(library, message[1:]))
                    continue
                if not message.startswith(_REPORT):
                    raise ValueError("neither a question nor a report")
                return report_from_json(message[1:])
        except (EOFError, OSError) as exc:  # the child died (a crash in a parser, say)
            raise _ChildLost(R.NOT_EVALUABLE) from exc
        except (ValueError, KeyError, TypeError) as exc:  # not a report
            raise _ChildLost(R.NOT_EVALUABLE) from exc

    def stop(self, *, kill: bool) -> None:
        if not kill:
            try:
                self.connection.send_bytes(_STOP)
            except OSError:
                kill = True
        if kill:
            self.process.kill()
        self.process.join(timeout=10)
        self.connection.close()


class IsolatedPdfVerifier:
    """Verifies PDFs in up to ``processes`` children, each bounded in time and memory."""

    def __init__(
        self,
        trust: Callable[[], TrustMaterial],
        library: LibraryLookup,
        *,
        processes: int = 2,
        time_limit: timedelta = DEFAULT_TIME_LIMIT,
        grace: timedelta = DEFAULT_GRACE,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        work: Work = verify,
    ) -> None:
        #: The current trust material (the caller refreshes it when the trust list changes).
        self.trust = trust
        self.library = library
        self.processes = processes
        self.time_limit = time_limit
        self.hard_limit = (time_limit + grace).total_seconds()
        self.memory_limit = memory_limit
        self.work = work
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._children: set[_Child] = set()
        self._started = 0  # children running or starting
        self._closed = False

    def verify_pdf(self, pdf: bytes, moment: datetime) -> VerificationReport:
        """The report on ``pdf`` as of ``moment``; blocks while every child is busy."""
        child = self._take()
        if child is None:
            return conclude([R.NOT_EVALUABLE], Facts(), moment)
        try:
            report = child.run(pdf, moment, self.hard_limit, self.trust(), self.library)
        except _ChildLost as lost:
            log.warning("a verification child was stopped: %s", lost.reason.code)
            self._discard(child)
            return conclude([lost.reason], Facts(), moment)
        self._idle.put(child)
        return report

    def warm_up(self) -> None:
        """Start a child now, in the background, so that the first upload need not wait."""

        def start() -> None:
            child = self._take()
            if child is not None:
                self._idle.put(child)

        threading.Thread(target=start, name="trustsvc-verify-warm-up", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children, self._children = self._children, set()
        for child in children:
            child.stop(kill=False)

    def _take(self) -> _Child | None:
        """An idle child, or a new one while fewer than ``processes`` run; None once closed."""
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._closed:
                    return None
                start = self._started < self.processes
                if start:
                    self._started += 1
            if start:
                return self._start_counted()
            try:  # all busy: wait for one, looking again now and then (one may have died)
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _start_counted(self) -> _Child | None:
        try:
            child = self._start()
        except _ChildLost:
            with self._lock:
                self._started -= 1
            return None
        with self._lock:
            closed = self._closed
            if not closed:
                self._children.add(child)
        if closed:  # closed while the child started
            child.stop(kill=False)
            return None
        return child

    def _start(self) -> _Child:
        ours, theirs = _CHILDREN.Pipe()
        process = _CHILDREN.Process(
            target=_child,
            args=(theirs, self.time_limit, self.memory_limit, self.work),
            name="trustsvc-verify",
            daemon=True,
        )
        process.start()
        theirs.close()
        try:
            ready = ours.poll(_START_TIMEOUT) and ours.recv_bytes(16) == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            log.error("a verification child did not start")
            process.kill()
            process.join(timeout=10)
            ours.close()
            raise _ChildLost(R.NOT_EVALUABLE)
        return _Child(process, ours)

    def _discard(self, child: _Child) -> None:
        child.stop(kill=True)
        with self._lock:
            if child in self._children:
                self._children.remove(child)
                self._started -= 1
