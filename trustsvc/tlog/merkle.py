"""Merkle tree hashes and proofs of RFC 9162 §2.1 (as RFC 6962), kept in the stored-hash
layout of Go's golang.org/x/mod/sumdb/tlog.

A log of ``n`` records stores, for every complete subtree, its hash once, at the index
``stored_hash_index(level, k)`` (level 0 is the record hashes). Appending record ``n``
adds ``stored_hashes_for_record(n, ...)``; any tree hash and any proof for any tree size
is then read from those hashes by index, through a ``HashReader``. Same semantics as the
Go package (so Go's checkers accept our proofs), our own code.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol

from trustsvc.tlog.errors import ProofError

HASH_SIZE = 32

#: RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_TREE_HASH = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class HashReader(Protocol):
    """Reads stored hashes by index (``stored_hash_index``), in the order asked."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]: ...


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of one record, ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: an interior node, ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of the ``n``-th complete subtree of ``2**level`` records is stored.

    The hashes are stored in the order they become known as records are appended: record
    ``n``'s hash, then the subtrees that record completes, smallest first.
    """
    if level < 0 or n < 0:
        raise ProofError("a stored hash index needs a level and a position of 0 or more")
    # Number of stored hashes before the first record of the next subtree at this level,
    # counted at level 0: the subtrees of every level that end before it.
    for _ in range(level):
        n = 2 * n + 1
    index = 0
    while n > 0:
        index += n
        n >>= 1
    return index + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The inverse of ``stored_hash_index``: the (level, n) stored at ``index``."""
    if index < 0:
        raise ProofError("a stored hash index is 0 or more")
    # stored_hash_index(0, n) <= index < 2 * n + ..., so record n is at least index // 2.
    n = index // 2
    index_n = stored_hash_index(0, n)
    if index_n > index:
        raise ProofError("internal: a stored hash index before its record")
    while True:
        # Record n adds 1 + (trailing zero bits of n + 1) hashes.
        following = index_n + 1 + ((n + 1) & -(n + 1)).bit_length() - 1
        if following > index:
            break
        n += 1
        index_n = following
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """How many hashes a log of ``n`` records stores."""
    if n < 0:
        raise ProofError("a tree size is 0 or more")
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def stored_hashes_for_record(
    n: int, data: bytes, reader: HashReader, *, hashed: bool = False
) -> list[bytes]:
    """The hashes to store, in order from ``stored_hash_index(0, n)``, when record ``n`` is
    appended: its leaf hash, then every subtree it completes.

    ``data`` is the record itself, or (``hashed=True``) its leaf hash already computed.
    ``reader`` must hold the hashes of records ``0 .. n-1``.
    """
    if n < 0:
        raise ProofError("a record number is 0 or more")
    if hashed:
        if len(data) != HASH_SIZE:
            raise ProofError(f"a leaf hash is {HASH_SIZE} bytes")
        h = bytes(data)
    else:
        h = leaf_hash(data)
    hashes = [h]
    # Record n completes one subtree per trailing 1 bit of n (trailing 0 bits of n + 1).
    levels = ((n + 1) & -(n + 1)).bit_length() - 1
    if levels == 0:
        return hashes
    indexes = [stored_hash_index(level, (n >> level) - 1) for level in range(levels)]
    old = _read(reader, indexes)
    for left in old:
        h = node_hash(left, h)
        hashes.append(h)
    return hashes


def stored_hashes_for_leaf_hash(n: int, leaf: bytes, reader: HashReader) -> list[bytes]:
    """``stored_hashes_for_record`` for a record whose leaf hash is already known."""
    return stored_hashes_for_record(n, leaf, reader, hashed=True)


def tree_hash(n: int, reader: HashReader) -> bytes:
    """The root hash of the first ``n`` records (RFC 9162 §2.1.1 MTH)."""
    if n < 0:
        raise ProofError("a tree size is 0 or more")
    if n == 0:
        return EMPTY_TREE_HASH
    hashes = _read(reader, _subtree_indexes(0, n, []))
    root, rest = _subtree_hash(0, n, hashes)
    _check_used(rest)
    return root


def prove_record(t: int, n: int, reader: HashReader) -> list[bytes]:
    """The inclusion proof (RFC 9162 §2.1.3.1 PATH) of record ``n`` in the tree of size ``t``,
    leaf-side first."""
    if t < 0 or n < 0 or n >= t:
        raise ProofError(f"record {n} is not in a tree of size {t}")
    indexes = _leaf_proof_indexes(0, t, n, [])
    if not indexes:
        return []
    hashes = _read(reader, indexes)
    proof, rest = _leaf_proof(0, t, n, hashes)
    _check_used(rest)
    return proof


def prove_tree(t: int, n: int, reader: HashReader) -> list[bytes]:
    """The consistency proof (RFC 9162 §2.1.4.1 PROOF) that the tree of size ``n`` is a
    prefix of the tree of size ``t``."""
    if t < 1 or n < 1 or n > t:
        raise ProofError(f"no consistency proof from size {n} to size {t}")
    indexes = _tree_proof_indexes(0, t, n, [])
    if not indexes:
        return []
    hashes = _read(reader, indexes)
    proof, rest = _tree_proof(0, t, n, hashes)
    _check_used(rest)
    return proof


def check_record(proof: Sequence[bytes], t: int, root: bytes, n: int, leaf: bytes) -> None:
    """Check that ``proof`` proves the record with leaf hash ``leaf`` is record ``n`` of the
    tree of size ``t`` with root ``root``; raise ``ProofError`` if not."""
    if t < 0 or n < 0 or n >= t:
        raise ProofError(f"record {n} is not in a tree of size {t}")
    _check_sizes(proof, root, leaf)
    computed = _run_record_proof(proof, 0, t, n, leaf)
    if not hmac.compare_digest(computed, root):
        raise ProofError(f"the inclusion proof of record {n} does not lead to the root of size {t}")


def check_tree(proof: Sequence[bytes], t: int, root_t: bytes, n: int, root_n: bytes) -> None:
    """Check that ``proof`` proves the tree of size ``n`` and root ``root_n`` is a prefix of
    the tree of size ``t`` and root ``root_t``; raise ``ProofError`` if not."""
    if t < 1 or n < 1 or n > t:
        raise ProofError(f"no consistency proof from size {n} to size {t}")
    _check_sizes(proof, root_t, root_n)
    old, new = _run_tree_proof(proof, 0, t, n, root_n)
    if not (hmac.compare_digest(old, root_n) and hmac.compare_digest(new, root_t)):
        raise ProofError(f"the tree of size {n} is not consistent with the tree of size {t}")


def _max_pow2_below(n: int) -> tuple[int, int]:
    """The largest power of two ``k < n`` (n >= 2), and its log2."""
    level = (n - 1).bit_length() - 1
    return 1 << level, level


def _read(reader: HashReader, indexes: list[int]) -> list[bytes]:
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise ProofError(f"the hash reader returned {len(hashes)} hashes for {len(indexes)} asked")
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError(f"the hash reader returned a hash that is not {HASH_SIZE} bytes")
    return list(hashes)


def _check_used(rest: list[bytes]) -> None:
    if rest:
        raise ProofError("internal: stored hashes read but not used")


def _check_sizes(proof: Sequence[bytes], *hashes: bytes) -> None:
    for h in (*proof, *hashes):
        if len(h) != HASH_SIZE:
            raise ProofError(f"a hash in a proof is {HASH_SIZE} bytes")


def _subtree_indexes(lo: int, hi: int, need: list[int]) -> list[int]:
    """The stored hashes of the complete subtrees that cover records ``lo .. hi-1``,
    largest first."""
    while lo < hi:
        k, level = _max_pow2_below(hi - lo + 1)
        if lo & (k - 1):
            raise ProofError("internal: a subtree that is not aligned")
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _subtree_hash(lo: int, hi: int, hashes: list[bytes]) -> tuple[bytes, list[bytes]]:
    """The hash of records ``lo .. hi-1`` from the hashes ``_subtree_indexes`` asked for."""
    count = 0
    while lo < hi:
        k, _ = _max_pow2_below(hi - lo + 1)
        lo += k
        count += 1
    if len(hashes) < count:
        raise ProofError("internal: too few stored hashes")
    h = hashes[count - 1]
    for i in range(count - 2, -1, -1):
        h = node_hash(hashes[i], h)
    return h, hashes[count:]


def _leaf_proof_indexes(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if hi - lo == 1:
        return need
    k, _ = _max_pow2_below(hi - lo)
    if n < lo + k:
        _subtree_indexes(lo + k, hi, need)
        return _leaf_proof_indexes(lo, lo + k, n, need)
    _subtree_indexes(lo, lo + k, need)
    return _leaf_proof_indexes(lo + k, hi, n, need)


def _leaf_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    if hi - lo == 1:
        return [], hashes
    k, _ = _max_pow2_below(hi - lo)
    if n < lo + k:
        sibling, hashes = _subtree_hash(lo + k, hi, hashes)
        proof, hashes = _leaf_proof(lo, lo + k, n, hashes)
    else:
        sibling, hashes = _subtree_hash(lo, lo + k, hashes)
        proof, hashes = _leaf_proof(lo + k, hi, n, hashes)
    proof.append(sibling)
    return proof, hashes


def _run_record_proof(proof: Sequence[bytes], lo: int, hi: int, n: int, leaf: bytes) -> bytes:
    if hi - lo == 1:
        if proof:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        return leaf
    if not proof:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    k, _ = _max_pow2_below(hi - lo)
    if n < lo + k:
        return node_hash(_run_record_proof(proof[:-1], lo, lo + k, n, leaf), proof[-1])
    return node_hash(proof[-1], _run_record_proof(proof[:-1], lo + k, hi, n, leaf))


def _tree_proof_indexes(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if n == hi:
        if lo == 0:
            return need
        return _subtree_indexes(lo, hi, need)
    k, _ = _max_pow2_below(hi - lo)
    if n <= lo + k:
        _tree_proof_indexes(lo, lo + k, n, need)
        return _subtree_indexes(lo + k, hi, need)
    _subtree_indexes(lo, lo + k, need)
    return _tree_proof_indexes(lo + k, hi, n, need)


def _tree_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    if n == hi:
        if lo == 0:
            return [], hashes
        h, hashes = _subtree_hash(lo, hi, hashes)
        return [h], hashes
    k, _ = _max_pow2_below(hi - lo)
    if n <= lo + k:
        proof, hashes = _tree_proof(lo, lo + k, n, hashes)
        h, hashes = _subtree_hash(lo + k, hi, hashes)
    else:
        h, hashes = _subtree_hash(lo, lo + k, hashes)
        proof, hashes = _tree_proof(lo + k, hi, n, hashes)
    proof.append(h)
    return proof, hashes


def _run_tree_proof(
    proof: Sequence[bytes], lo: int, hi: int, n: int, old: bytes
) -> tuple[bytes, bytes]:
    """The (old root, new root) that ``proof`` leads to."""
    if n == hi:
        if lo == 0:
            if proof:
                raise ProofError("the consistency proof is longer than it should be")
            return old, old
        if len(proof) != 1:
            raise ProofError("the consistency proof has the wrong length")
        return proof[0], proof[0]
    if not proof:
        raise ProofError("the consistency proof is shorter than it should be")
    k, _ = _max_pow2_below(hi - lo)
    if n <= lo + k:
        old_hash, new_hash = _run_tree_proof(proof[:-1], lo, lo + k, n, old)
        return old_hash, node_hash(new_hash, proof[-1])
    old_hash, new_hash = _run_tree_proof(proof[:-1], lo + k, hi, n, old)
    return node_hash(proof[-1], old_hash), node_hash(proof[-1], new_hash)


class MemoryHashes:
    """Stored hashes held in memory: a ``HashReader`` that records are appended to.

    For tests, tools and benchmarks; the service keeps its stored hashes in the database.
    """

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self.size = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        count = len(self._hashes)
        for i in indexes:
            if not 0 <= i < count:
                raise ProofError("a stored hash that the log does not have yet")
        return [self._hashes[i] for i in indexes]

    def append(self, data: bytes, *, hashed: bool = False) -> int:
        """Append one record (or its leaf hash); returns its number."""
        n = self.size
        self._hashes.extend(stored_hashes_for_record(n, data, self, hashed=hashed))
        self.size = n + 1
        return n
