"""A small C2SP tlog-witness for the publication tests, on a local HTTP port.

It does what a witness must (checks the log's signature, answers 409 with its
size when the request's old size is not its own, checks the consistency proof
from the tree it last cosigned) with tlog's own checkers; ``trustsvc witness
serve`` is the service's real witness.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustsvc.tlog.checkpoint import open_checkpoint
from trustsvc.tlog.cosignature import Cosigner
from trustsvc.tlog.encoding import decode_base64
from trustsvc.tlog.errors import TlogError
from trustsvc.tlog.merkle import check_tree
from trustsvc.tlog.note import NoteVerifier


class LocalWitness:
    def __init__(self, name: str, log_key: NoteVerifier) -> None:
        self.cosigner = Cosigner(name, Ed25519PrivateKey.generate(), lambda: int(time.time()))
        self.log_key = log_key
        self.size = 0
        self.root: bytes | None = None
        self.requests = 0
        self._lock = threading.Lock()
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                status, body = witness.add_checkpoint(self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def vkey(self) -> str:
        return self.cosigner.verifier.vkey()

    def __enter__(self) -> LocalWitness:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_checkpoint(self, data: bytes) -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
            head, _, note = data.partition(b"\n\n")
            lines = head.decode().split("\n")
            old = int(lines[0].removeprefix("old "))
            proof = [decode_base64(line, "a proof hash", max_bytes=32) for line in lines[1:]]
            try:
                signed = open_checkpoint(note, self.log_key)
            except TlogError:
                return 403, b""
            checkpoint = signed.checkpoint
            if old != self.size:
                return 409, f"{self.size}\n".encode()
            if checkpoint.size < self.size:
                return 409, f"{self.size}\n".encode()
            if self.root is not None and self.size > 0:
                try:
                    check_tree(proof, checkpoint.size, checkpoint.root, self.size, self.root)
                except TlogError:
                    return 422, b""
            self.size, self.root = checkpoint.size, checkpoint.root
            return 200, self.cosigner.cosign(signed.note.text).line().encode()
