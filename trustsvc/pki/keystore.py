"""Private keys at rest: encrypted PKCS#8 files, one per key, mode 0600.

A key is named by a key id. Files are created exclusively (a key is never
overwritten), encrypted with the configured passphrase (PBES2), and decrypted
at most once per process. Department seal keys and CA keys both live here;
a PKCS#11 store is meant to offer the same ``private_key``-free ``signer``
interface for seal keys.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pydantic import SecretStr

from trustsvc.errors import KeyStoreError, WrongPassphraseError
from trustsvc.settings import KeyAlgorithm

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def generate_private_key(algorithm: KeyAlgorithm) -> SigningKey:
    if algorithm is KeyAlgorithm.RSA_3072:
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ec.generate_private_key(ec.SECP256R1())


def as_signing_key(key: PrivateKeyTypes) -> SigningKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return key
    raise KeyStoreError(f"unsupported key type {type(key).__name__}: only EC and RSA keys seal")


class SealKeyStore(Protocol):
    """Where department seal keys are made and kept (files here, a token in ``keys.pkcs11``)."""

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey: ...

    def store(self, key_id: str, key: SigningKey) -> None: ...

    def private_key(self, key_id: str) -> SigningKey: ...

    def delete(self, key_id: str) -> None: ...


class FileKeyStore:
    """Encrypted key files in one directory."""

    def __init__(self, directory: Path, passphrase: SecretStr) -> None:
        self.directory = directory
        self._passphrase = passphrase
        self._cache: dict[str, SigningKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self.directory)!r})"

    def path(self, key_id: str) -> Path:
        if not _KEY_ID.match(key_id):
            raise KeyStoreError(f"invalid key id {key_id!r}")
        return self.directory / f"{key_id}.key.pem"

    def exists(self, key_id: str) -> bool:
        return self.path(key_id).exists()

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey:
        key = generate_private_key(algorithm)
        self.store(key_id, key)
        return key

    def store(self, key_id: str, key: SigningKey) -> None:
        """Write a key; refuses to replace an existing one."""
        path = self.path(key_id)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase.get_secret_value().encode()),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyStoreError(
                f"key {key_id!r} exists already; keys are never overwritten"
            ) from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with self._lock:
            self._cache[key_id] = key

    def private_key(self, key_id: str) -> SigningKey:
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        path = self.path(key_id)
        try:
            pem = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyStoreError(f"key {key_id!r} not found in {self.directory}") from exc
        try:
            loaded = serialization.load_pem_private_key(
                pem, password=self._passphrase.get_secret_value().encode()
            )
        except (ValueError, TypeError) as exc:
            raise WrongPassphraseError(
                f"key {key_id!r} does not decrypt with the configured passphrase "
                "(TRUSTSVC_KEY_PASSPHRASE)"
            ) from exc
        key = as_signing_key(loaded)
        with self._lock:
            self._cache[key_id] = key
        return key

    def delete(self, key_id: str) -> None:
        """Remove a key file (only to undo a creation that did not complete)."""
        with self._lock:
            self._cache.pop(key_id, None)
        self.path(key_id).unlink(missing_ok=True)
