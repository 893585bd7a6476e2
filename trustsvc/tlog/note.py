"""Signed notes per C2SP signed-note v1 (c2sp.org/signed-note): text signed by one or more
keys, Ed25519 note keys (signature type 0x01), key IDs, and the vkey / skey text forms
(the same as Go's golang.org/x/mod/sumdb/note, so either side reads the other's keys).

Parsing is bounded (size, signature count, name and base64 shapes) and checks the
format before any signature is verified. Verification follows the spec: signatures from
unknown keys are ignored, a known key whose signature fails rejects the whole note, and
a note with no verified signature is rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from trustsvc.tlog.encoding import decode_base64, encode_base64
from trustsvc.tlog.errors import FormatError, SignatureError

#: Whole-note bound: far above 16 Ed25519 signatures on a checkpoint, far below harm.
MAX_NOTE_BYTES = 64 * 1024
#: The spec asks verifiers to accept at least 16; Go's note package stops at 100.
MAX_SIGNATURES = 100
MAX_NAME_BYTES = 256
#: Ed25519 (64) or a timestamped cosignature (72) after the 4-byte key ID; room for more.
MAX_SIGNATURE_BYTES = 4 + 4096

SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class SignatureType(IntEnum):
    """Signature type bytes assigned by signed-note (those this package implements)."""

    ED25519 = 0x01
    COSIGNATURE_V1 = 0x04


@dataclass(frozen=True)
class Signature:
    """One signature line."""

    #: The key name (no spaces, no ``+``).
    name: str
    #: The uint32 key ID, from the first four bytes of the decoded signature.
    key_id: int
    #: The signature bytes after the key ID.
    signature: bytes

    def line(self) -> str:
        """The signature line, with its final newline."""
        blob = struct.pack(">I", self.key_id) + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {encode_base64(blob)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (ending in a newline) and every signature line, unverified."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures from the keys given were all verified."""

    text: str
    #: Signatures by the keys given, each verified (one per key).
    verified: tuple[Signature, ...]
    #: Signatures by keys not given: ignored, kept so that they can be passed on.
    unknown: tuple[Signature, ...]


class Verifier(Protocol):
    """A public key that checks signature lines with its name and key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    """A private key that makes signature lines."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes: ...


def check_name(name: str, what: str = "a key name") -> str:
    """Key names are non-empty, bounded, with no Unicode spaces and no ``+``."""
    if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise FormatError(f"{what} must have 1 to {MAX_NAME_BYTES} bytes")
    if "+" in name or any(_is_space(c) or ord(c) < 0x20 for c in name):
        raise FormatError(f"{what} must contain neither spaces nor '+'")
    return name


def _is_space(c: str) -> bool:
    # Go's note package refuses unicode.IsSpace (the White_Space property); Python's
    # isspace covers it (and U+001C..U+001F, control characters refused anyway).
    return c.isspace()


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4], big-endian."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    ).digest()
    return int(struct.unpack(">I", digest[:4])[0])


def _check_text(data: bytes, what: str) -> str:
    if len(data) > MAX_NOTE_BYTES:
        raise FormatError(f"{what} is larger than {MAX_NOTE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise FormatError(f"{what} contains a control character other than newline")
    return text


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines (shape only; nothing verified)."""
    whole = _check_text(data, "the note")
    split = whole.rfind("\n\n")
    if split < 0:
        raise FormatError("the note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    if not block or not block.endswith("\n"):
        raise FormatError("the note's signatures must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError(f"the note has more than {MAX_SIGNATURES} signatures")
    return Note(text=text, signatures=tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise FormatError("a note signature line must start with an em dash and a space")
    name, sep, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep:
        raise FormatError("a note signature line must have a key name and a signature")
    check_name(name)
    blob = decode_base64(b64, "a note signature", max_bytes=MAX_SIGNATURE_BYTES)
    if len(blob) < 5:
        raise FormatError("a note signature must have a key ID and a signature")
    return Signature(name=name, key_id=int(struct.unpack(">I", blob[:4])[0]), signature=blob[4:])


def open_note(data: bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Parse a note and verify it with ``verifiers``; raise ``SignatureError`` unless at
    least one known key signed it and every known key's signature verifies."""
    note = parse_note(data)
    return verify_note(note, verifiers)


def verify_note(note: Note, verifiers: Sequence[Verifier]) -> OpenedNote:
    """``open_note`` for a note already parsed."""
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode("utf-8")
    verified: list[Signature] = []
    unknown: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unknown:
                unknown.append(sig)
            continue
        if not verifier.verify(text, sig.signature):
            raise SignatureError(f"the signature by {sig.name}+{sig.key_id:08x} does not verify")
        if (sig.name, sig.key_id) not in seen:
            seen.add((sig.name, sig.key_id))
            verified.append(sig)
    if not verified:
        raise SignatureError("the note has no signature by a key given")
    return OpenedNote(text=note.text, verified=tuple(verified), unknown=tuple(unknown))


def sign_note(text: str, signers: Sequence[Signer], *, keep: Sequence[Signature] = ()) -> Note:
    """Sign ``text`` (ending in a newline) with each signer; ``keep`` are earlier signatures
    carried over (those by the same keys as a signer are dropped)."""
    if not text.endswith("\n"):
        raise FormatError("a note's text must end in a newline")
    _check_text(text.encode("utf-8"), "the note text")
    if text.endswith("\n\n"):
        raise FormatError("a note's text must not end in a blank line")
    mine = {(s.name, s.key_id) for s in signers}
    signatures = [s for s in keep if (s.name, s.key_id) not in mine]
    raw = text.encode("utf-8")
    for signer in signers:
        check_name(signer.name)
        signatures.append(Signature(signer.name, signer.key_id, signer.sign(raw)))
    return Note(text=text, signatures=tuple(signatures))


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 note key (type 0x01): the public half."""

    name: str
    key_id: int
    public_key: bytes

    def verify(self, text: bytes, signature: bytes) -> bool:
        return ed25519_verify(self.public_key, signature, text)

    def vkey(self) -> str:
        return format_vkey(self.name, SignatureType.ED25519, self.public_key)


class NoteSigner:
    """An Ed25519 note key (type 0x01): the private half."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._name = check_name(name)
        self._private = private_key
        public = ed25519_public_bytes(private_key)
        self._verifier = NoteVerifier(name, key_id(name, SignatureType.ED25519, public), public)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        return self._verifier

    def sign(self, text: bytes) -> bytes:
        return self._private.sign(text)

    def skey(self) -> str:
        """The private key as Go's note package writes it (``PRIVATE+KEY+...``): a secret."""
        return format_skey(self._name, SignatureType.ED25519, self._private)

    def __repr__(self) -> str:
        return f"NoteSigner({self._name!r}, key_id={self.key_id:08x})"


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def ed25519_public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def format_vkey(name: str, signature_type: int, public_key: bytes) -> str:
    """``<name>+<hex key ID>+<base64(type || public key)>``."""
    check_name(name)
    kid = key_id(name, signature_type, public_key)
    return f"{name}+{kid:08x}+{encode_base64(bytes([signature_type]) + public_key)}"


def format_skey(name: str, signature_type: int, private_key: Ed25519PrivateKey) -> str:
    """``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>``."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    kid = key_id(name, signature_type, ed25519_public_bytes(private_key))
    return f"PRIVATE+KEY+{name}+{kid:08x}+{encode_base64(bytes([signature_type]) + seed)}"


@dataclass(frozen=True)
class ParsedKey:
    """A vkey or skey's parts, checked: its key ID matches its name, type and key."""

    name: str
    key_id: int
    signature_type: int
    #: The 32-byte public key (vkey) or private seed (skey).
    key: bytes


_MAX_KEY_TEXT = MAX_NAME_BYTES + 64


def parse_vkey(text: str) -> ParsedKey:
    """Parse a verifier key (an Ed25519 key of any signature type this package knows)."""
    text = text.strip()
    if len(text) > _MAX_KEY_TEXT:
        raise FormatError("a verifier key is too long")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise FormatError("a verifier key is <name>+<key id>+<base64 key>")
    name, kid_hex, b64 = parts
    return _parsed(name, kid_hex, b64, public=None)


def parse_skey(text: str) -> ParsedKey:
    """Parse a private key in Go's note form (``PRIVATE+KEY+<name>+<id>+<base64>``)."""
    text = text.strip()
    if len(text) > _MAX_KEY_TEXT:
        raise FormatError("a private key is too long")
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise FormatError("a private key is PRIVATE+KEY+<name>+<key id>+<base64 key>")
    return _parsed(parts[2], parts[3], parts[4], public=False)


def _parsed(name: str, kid_hex: str, b64: str, *, public: bool | None) -> ParsedKey:
    check_name(name)
    if len(kid_hex) != 8 or any(c not in "0123456789abcdef" for c in kid_hex):
        raise FormatError("a key ID is 8 lowercase hexadecimal digits")
    blob = decode_base64(b64, "a key", max_bytes=33)
    if len(blob) != 33 or blob[0] not in tuple(SignatureType):
        raise FormatError("the key is not an Ed25519 key of a known signature type")
    signature_type, material = blob[0], blob[1:]
    if public is False:
        pub = ed25519_public_bytes(Ed25519PrivateKey.from_private_bytes(material))
    else:
        pub = material
        try:
            Ed25519PublicKey.from_public_bytes(pub)
        except ValueError as exc:
            raise FormatError("the key is not an Ed25519 public key") from exc
    kid = int(kid_hex, 16)
    if not hmac.compare_digest(
        struct.pack(">I", kid), struct.pack(">I", key_id(name, signature_type, pub))
    ):
        raise FormatError("the key ID does not match the key's name, type and public key")
    return ParsedKey(name=name, key_id=kid, signature_type=signature_type, key=material)


def note_verifier(vkey: str) -> NoteVerifier:
    """A note verifier (type 0x01) from its vkey text."""
    parsed = parse_vkey(vkey)
    if parsed.signature_type != SignatureType.ED25519:
        raise FormatError("the key is not an Ed25519 note key (signature type 0x01)")
    return NoteVerifier(parsed.name, parsed.key_id, parsed.key)


def note_signer(skey: str) -> NoteSigner:
    """A note signer (type 0x01) from its skey text."""
    parsed = parse_skey(skey)
    if parsed.signature_type != SignatureType.ED25519:
        raise FormatError("the key is not an Ed25519 note key (signature type 0x01)")
    return NoteSigner(parsed.name, Ed25519PrivateKey.from_private_bytes(parsed.key))
