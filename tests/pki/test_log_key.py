"""The log's Ed25519 key at rest: encrypted under the passphrase, 0600, made once, kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import SecretStr

from trustsvc.errors import WrongPassphraseError
from trustsvc.pki.log_key import load_or_create_log_key, log_key_path


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_the_log_key_is_made_once_encrypted_and_private(tmp_path: Path) -> None:
    passphrase = SecretStr("a passphrase")
    first = load_or_create_log_key(tmp_path, passphrase)
    path = log_key_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    # Encrypted at rest: unreadable without the passphrase, the same key with it.
    with pytest.raises(TypeError, match="encrypted"):
        load_pem_private_key(path.read_bytes(), password=None)
    stored = load_pem_private_key(path.read_bytes(), password=b"a passphrase")
    assert isinstance(stored, Ed25519PrivateKey) and _public(stored) == _public(first)
    again = load_or_create_log_key(tmp_path, passphrase)
    assert _public(again) == _public(first)
    with pytest.raises(WrongPassphraseError):
        load_or_create_log_key(tmp_path, SecretStr("another passphrase"))
    assert _public(load_or_create_log_key(tmp_path, passphrase)) == _public(first)
