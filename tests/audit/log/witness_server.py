"""tlog's witness (``trustsvc.tlog.witness.Witness``) behind a bare local HTTP server.

The witness's logic is the service's own (C2SP tlog-witness: the log's signature,
409 with the size it last cosigned, the consistency proof, state on disk); only
the HTTP around it is this file's, so that a test can start and stop witnesses
in-process.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from trustsvc.tlog.checkpoint import parse_checkpoint_text
from trustsvc.tlog.cosignature import CosignatureVerifier
from trustsvc.tlog.note import NoteVerifier, parse_note
from trustsvc.tlog.witness import Witness, WitnessConflictError, WitnessRefusal


class LocalWitness:
    def __init__(self, state: Path, name: str, log_key: NoteVerifier) -> None:
        self.verifier: CosignatureVerifier = Witness.init(state, name)
        self.witness = Witness(state)
        self.witness.add_log(log_key.name, log_key.vkey())
        self.origin = log_key.name
        self.requests = 0
        local = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:
                local.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    status, answer = 200, local.witness.add_checkpoint(body).signature_lines
                    kind = "text/plain; charset=utf-8"
                except WitnessConflictError as refusal:
                    status, answer, kind = 409, f"{refusal.size}\n".encode(), "text/x.tlog.size"
                except WitnessRefusal as refusal:
                    status, answer = refusal.status, refusal.message.encode()
                    kind = "text/plain; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def vkey(self) -> str:
        return self.verifier.vkey()

    @property
    def size(self) -> int:
        """The size of the checkpoint the witness last cosigned (0 before any)."""
        note = self.witness.latest(hashlib.sha256(self.origin.encode()).hexdigest())
        return 0 if note is None else parse_checkpoint_text(parse_note(note).text).size

    def __enter__(self) -> LocalWitness:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
