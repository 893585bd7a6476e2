"""The data key: protects personal data (holder ID numbers) at rest.

A random 32-byte secret, kept in the home wrapped with AES-GCM under a key
derived from the configured passphrase (scrypt). Two keys are derived from it
(HKDF): one for an HMAC that makes ID numbers searchable without storing them
in clear, one for AES-GCM that lets the service show them to those entitled.
A database dump without the home and the passphrase reveals neither.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from trustsvc.errors import KeyStoreError, WrongPassphraseError

_SCRYPT_N = 2**15


def _wrapping_key(passphrase: SecretStr, salt: bytes) -> bytes:
    return _scrypt(passphrase.get_secret_value().encode(), salt)


@functools.lru_cache(maxsize=8)
def _scrypt(passphrase: bytes, salt: bytes) -> bytes:
    """scrypt is slow on purpose, against guessing; a process that opens the same home
    again (the API's service and a worker's, a test suite's many) derives the key once."""
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class DataKey:
    def __init__(self, secret: bytes) -> None:
        self._lookup = _derive(secret, b"trustsvc holder id lookup")
        self._aead = AESGCM(_derive(secret, b"trustsvc holder id encryption"))

        self._secret = secret

    def __repr__(self) -> str:
        return "DataKey(...)"

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for another purpose (signing holder sessions, say), shared by all nodes."""
        return _derive(self._secret, f"trustsvc {purpose}".encode())

    def digest(self, id_type: str, value: str) -> str:
        """Searchable, keyed digest of an ID number."""
        return hmac.new(self._lookup, f"{id_type}:{value}".encode(), hashlib.sha256).hexdigest()

    def seal(self, id_type: str, value: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), id_type.encode())

    def open(self, id_type: str, sealed: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], id_type.encode()).decode()
        except InvalidTag as exc:
            raise KeyStoreError("a protected value does not decrypt with the data key") from exc


def load_or_create_data_key(path: Path, passphrase: SecretStr) -> DataKey:
    """The home's data key; created (mode 0600) the first time it is needed."""
    if not path.exists():
        secret = secrets.token_bytes(32)
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(_wrapping_key(passphrase, salt)).encrypt(
            nonce, secret, b"trustsvc data key"
        )
        record = {
            "kdf": "scrypt",
            "n": _SCRYPT_N,
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "wrapped": base64.b64encode(wrapped).decode(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle)
            return DataKey(secret)
    try:
        record = json.loads(path.read_text())
        salt = base64.b64decode(record["salt"])
        nonce = base64.b64decode(record["nonce"])
        wrapped = base64.b64decode(record["wrapped"])
    except (OSError, ValueError, KeyError) as exc:
        raise KeyStoreError(f"data key file {path} is unreadable") from exc
    try:
        secret = AESGCM(_wrapping_key(passphrase, salt)).decrypt(
            nonce, wrapped, b"trustsvc data key"
        )
    except InvalidTag as exc:
        raise WrongPassphraseError(
            "the data key does not decrypt with the configured passphrase (TRUSTSVC_KEY_PASSPHRASE)"
        ) from exc
    return DataKey(secret)
