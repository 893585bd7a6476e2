"""Seal keys on a PKCS#11 token: an HSM in production, SoftHSM2 in development and tests.

A key is generated on the token (sensitive, not extractable) and labelled
with its key id. To the rest of the service it is an ordinary
``EllipticCurvePrivateKey``: ``sign`` hashes in Python and asks the token for
a raw ECDSA signature, so the sealer, the CMS template and token signing need
not know where the key lives. The token is opened lazily and once per
process (PKCS#11 libraries are not fork-safe: batch workers open their own),
and one session is shared under a lock.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path
from typing import Any, NoReturn

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    encode_dss_signature,
)
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pydantic import SecretStr

from trustsvc.errors import KeyStoreError
from trustsvc.pki.keystore import SigningKey
from trustsvc.settings import KeyAlgorithm

_libraries: dict[Path, Any] = {}
#: PKCS#11 logins belong to the process, not to a session: one logged-in
#: session per token and process, with the digest of the PIN that opened it.
_sessions: dict[tuple[Path, str], tuple[Any, bytes]] = {}
_token_locks: dict[tuple[Path, str], threading.Lock] = {}
_libraries_lock = threading.Lock()


def _library(module: Path) -> Any:
    with _libraries_lock:
        if module not in _libraries:
            try:
                _libraries[module] = pkcs11.lib(str(module))
            except (OSError, RuntimeError, pkcs11.PKCS11Error) as exc:
                raise KeyStoreError(f"PKCS#11 module {module} cannot be loaded") from exc
        return _libraries[module]


class Pkcs11EcKey(ec.EllipticCurvePrivateKey):
    """A P-256 private key that stays on the token; only ``sign`` and ``public_key`` work."""

    def __init__(self, store: Pkcs11KeyStore, label: str, public: ec.EllipticCurvePublicKey):
        self._store = store
        self._label = label
        self._public = public

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise KeyStoreError("only ECDSA signatures are made with token keys")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, Prehashed):
            digest = bytes(data)
        else:
            hasher = hashes.Hash(algorithm)
            hasher.update(bytes(data))
            digest = hasher.finalize()
        raw = self._store.sign_digest(self._label, digest)
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def _refuse(self) -> NoReturn:
        raise KeyStoreError(f"key {self._label!r} lives on the token and cannot leave it")

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        self._refuse()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._refuse()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse()

    def __copy__(self) -> Pkcs11EcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Pkcs11EcKey:
        return self


class Pkcs11KeyStore:
    """Seal keys on one PKCS#11 token, addressed by label (the key id)."""

    def __init__(self, module: Path, token_label: str, pin: SecretStr) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self._session: Any = None
        # A PKCS#11 session is not thread-safe, and the session is shared by
        # every store of this token in the process: one lock per token.
        with _libraries_lock:
            self._lock = _token_locks.setdefault((module, token_label), threading.Lock())
        self._keys: dict[str, Pkcs11EcKey] = {}

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({str(self.module)!r}, token={self.token_label!r})"

    def _open(self) -> Any:
        if self._session is not None:
            return self._session
        pin = self._pin.get_secret_value()
        pin_digest = hashlib.sha256(pin.encode()).digest()
        with _libraries_lock:
            shared = _sessions.get((self.module, self.token_label))
        if shared is not None:
            if not hmac.compare_digest(shared[1], pin_digest):
                raise KeyStoreError(
                    f"PKCS#11 token {self.token_label!r} cannot be opened (wrong PIN)"
                )
            self._session = shared[0]
            return self._session
        try:
            token = _library(self.module).get_token(token_label=self.token_label)
            session = token.open(user_pin=pin, rw=True)
        except pkcs11.NoSuchToken as exc:
            raise KeyStoreError(f"no PKCS#11 token labelled {self.token_label!r}") from exc
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(
                f"PKCS#11 token {self.token_label!r} cannot be opened "
                f"(wrong PIN or token unavailable: {type(exc).__name__})"
            ) from exc
        with _libraries_lock:
            _sessions[(self.module, self.token_label)] = (session, pin_digest)
        self._session = session
        return session

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey:
        if algorithm is not KeyAlgorithm.EC_P256:
            raise KeyStoreError("token keys are EC P-256; set TRUSTSVC_KEY_ALGORITHM=ec-p256")
        with self._lock:
            session = self._open()
            parameters = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _private = parameters.generate_keypair(
                store=True,
                label=key_id,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                },
            )
            key = self._wrap(key_id, public)
        return key

    def store(self, key_id: str, key: SigningKey) -> None:
        raise KeyStoreError(
            "keys are not imported into the token by trustsvc; import them with the HSM's "
            "own tools, or use the file key store (TRUSTSVC_SEAL_KEY_STORE=file)"
        )

    def private_key(self, key_id: str) -> SigningKey:
        with self._lock:
            cached = self._keys.get(key_id)
            if cached is not None:
                return cached
            session = self._open()
            try:
                public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=key_id)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyStoreError(f"key {key_id!r} is not on token {self.token_label!r}") from exc
            return self._wrap(key_id, public)

    def _wrap(self, key_id: str, public: Any) -> Pkcs11EcKey:
        loaded = serialization.load_der_public_key(encode_ec_public_key(public))
        assert isinstance(loaded, ec.EllipticCurvePublicKey)
        key = Pkcs11EcKey(self, key_id, loaded)
        self._keys[key_id] = key
        return key

    def sign_digest(self, key_id: str, digest: bytes) -> bytes:
        with self._lock:
            session = self._open()
            private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_id)
            signature: bytes = private.sign(digest, mechanism=Mechanism.ECDSA)
            return signature

    def delete(self, key_id: str) -> None:
        """Remove a key pair (only to undo a creation that did not complete)."""
        with self._lock:
            self._keys.pop(key_id, None)
            session = self._open()
            for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for found in session.get_objects(
                    {Attribute.CLASS: object_class, Attribute.LABEL: key_id}
                ):
                    found.destroy()

    def exists(self, key_id: str) -> bool:
        try:
            self.private_key(key_id)
        except KeyStoreError:
            return False
        return True
