"""The transparency log's Ed25519 key: signs its checkpoints (C2SP signed-note).

Kept in the home as the other private keys are (encrypted PKCS#8 under the
configured passphrase, PBES2; mode 0600; created exclusively, never replaced)
and made when the home is initialised, or on first use in a home made before
the log existed. Every node of a deployment shares the home's keys, so every
node signs as the same log.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from trustsvc.errors import KeyStoreError, WrongPassphraseError


def log_key_path(home: Path) -> Path:
    return home / "pki" / "log.key.pem"


def _write(path: Path, key: Ed25519PrivateKey, passphrase: SecretStr) -> bool:
    """Write ``key`` at ``path`` unless a key is there already; whether it was written."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.get_secret_value().encode()),
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False  # another process made it first: theirs is the log's key
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def load_or_create_log_key(home: Path, passphrase: SecretStr) -> Ed25519PrivateKey:
    """The home's log key, made (0600) the first time it is asked for."""
    path = log_key_path(home)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        if _write(path, key, passphrase):
            return key
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"the log key {path} is unreadable") from exc
    try:
        loaded = serialization.load_pem_private_key(
            pem, password=passphrase.get_secret_value().encode()
        )
    except (ValueError, TypeError) as exc:
        raise WrongPassphraseError(
            "the log key does not decrypt with the configured passphrase (TRUSTSVC_KEY_PASSPHRASE)"
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyStoreError(f"the log key {path} is not an Ed25519 key")
    return loaded
