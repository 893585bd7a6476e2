"""Merkle proofs against RFC 9162 §2.1 computed plainly (MTH, PATH, SUBPROOF), for every
tree size 1..300 and every index, for some large sizes, and tampered proofs refused."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest

from trustsvc.tlog import merkle
from trustsvc.tlog.errors import ProofError
from trustsvc.tlog.merkle import (
    EMPTY_TREE_HASH,
    MemoryHashes,
    check_record,
    check_tree,
    leaf_hash,
    prove_record,
    prove_tree,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
)

MAX = 300


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _record(i: int) -> bytes:
    return f"record {i}".encode()


# --- RFC 9162 §2.1, written as the text reads, over D[lo:hi] of one list of records ----------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) (§2.1.1); cached since the records are one fixed list."""
    n = hi - lo
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + _record(lo))
    k = _k(n)
    return _h(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (§2.1.3.1), m relative to lo."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, lo, lo + k), mth(lo + k, hi)]
    return [*path(m - k, lo + k, hi), mth(lo, lo + k)]


def subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (§2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if b else [mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, lo, lo + k, b), mth(lo + k, hi)]
    return [*subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def consistency(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) (§2.1.4.1)."""
    return subproof(m, 0, n, True)


# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log() -> MemoryHashes:
    hashes = MemoryHashes()
    for i in range(MAX):
        assert hashes.append(_record(i)) == i
    return hashes


def test_stored_hash_layout_matches_go() -> None:
    # Values from golang.org/x/mod/sumdb/tlog: StoredHashIndex and StoredHashCount.
    assert [stored_hash_index(0, n) for n in range(8)] == [0, 1, 3, 4, 7, 8, 10, 11]
    assert [stored_hash_index(1, n) for n in range(4)] == [2, 5, 9, 12]
    assert stored_hash_index(2, 0) == 6
    assert stored_hash_index(3, 0) == 14
    assert [stored_hash_count(n) for n in range(9)] == [0, 1, 3, 4, 7, 8, 10, 11, 15]
    for index in range(stored_hash_count(5000)):
        level, n = merkle.split_stored_hash_index(index)
        assert stored_hash_index(level, n) == index
    for n in range(1, 2000):
        assert stored_hash_count(n) == stored_hash_count(n - 1) + len(
            merkle.stored_hashes_for_record(n - 1, b"", MemoryHashesOfSize(n - 1))
        )


class MemoryHashesOfSize:
    """A reader that answers anything with zero hashes: only the count matters here."""

    def __init__(self, n: int) -> None:
        self.n = n

    def read_hashes(self, indexes: object) -> list[bytes]:
        assert isinstance(indexes, list)
        return [bytes(32)] * len(indexes)


def test_tree_hashes_match_mth(log: MemoryHashes) -> None:
    assert tree_hash(0, log) == EMPTY_TREE_HASH == _h(b"")
    for n in range(1, MAX + 1):
        assert tree_hash(n, log) == mth(0, n)


def test_inclusion_proofs_match_path_for_every_size_and_index(log: MemoryHashes) -> None:
    for t in range(1, MAX + 1):
        root = mth(0, t)
        for n in range(t):
            proof = prove_record(t, n, log)
            assert proof == path(n, 0, t)
            check_record(proof, t, root, n, leaf_hash(_record(n)))


def test_consistency_proofs_match_proof_for_every_pair(log: MemoryHashes) -> None:
    for t in range(1, MAX + 1):
        root_t = mth(0, t)
        for n in range(1, t + 1):
            proof = prove_tree(t, n, log)
            assert proof == consistency(n, t)
            check_tree(proof, t, root_t, n, mth(0, n))


def test_large_trees_by_leaf_hash() -> None:
    # Large sizes near and across powers of two; leaves given as hashes, as the service does.
    sizes = [1023, 1024, 1025, 4095, 4096, 4097, 6000]
    hashes = MemoryHashes()
    for i in range(max(sizes)):
        hashes.append(leaf_hash(_record(i)), hashed=True)
    for t in sizes:
        root = tree_hash(t, hashes)
        assert root == mth(0, t)
        for n in (0, 1, t // 3, t // 2, t - 2, t - 1):
            proof = prove_record(t, n, hashes)
            assert proof == path(n, 0, t)
            check_record(proof, t, root, n, leaf_hash(_record(n)))
        for n in sorted({n for n in (1, 2, 1000, 1024, t // 2 + 1, t - 1, t) if n <= t}):
            proof = prove_tree(t, n, hashes)
            assert proof == consistency(n, t)
            check_tree(proof, t, root, n, mth(0, n))


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_tampered_inclusion_proofs_are_refused(log: MemoryHashes) -> None:
    for t in (2, 3, 7, 8, 9, 100, 255, 256, 257, MAX):
        root = mth(0, t)
        for n in range(0, t, max(1, t // 17)):
            leaf = leaf_hash(_record(n))
            proof = prove_record(t, n, log)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = _flip(bad[i])
                with pytest.raises(ProofError):
                    check_record(bad, t, root, n, leaf)
            with pytest.raises(ProofError):
                check_record(proof, t, _flip(root), n, leaf)
            with pytest.raises(ProofError):
                check_record(proof, t, root, n, _flip(leaf))
            with pytest.raises(ProofError):
                check_record(proof[:-1], t, root, n, leaf)
            with pytest.raises(ProofError):
                check_record([*proof, proof[-1]], t, root, n, leaf)
            if n + 1 < t:
                with pytest.raises(ProofError):
                    check_record(proof, t, root, n + 1, leaf)
            with pytest.raises(ProofError):
                check_record(proof, t, root, t, leaf)
    with pytest.raises(ProofError):
        check_record([], 1, mth(0, 1), 0, b"short")


def test_tampered_consistency_proofs_are_refused(log: MemoryHashes) -> None:
    for t in (3, 8, 9, 100, 256, 257, MAX):
        root_t = mth(0, t)
        for n in range(1, t, max(1, t // 13)):
            root_n = mth(0, n)
            proof = prove_tree(t, n, log)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = _flip(bad[i])
                with pytest.raises(ProofError):
                    check_tree(bad, t, root_t, n, root_n)
            with pytest.raises(ProofError):
                check_tree(proof, t, _flip(root_t), n, root_n)
            with pytest.raises(ProofError):
                check_tree(proof, t, root_t, n, _flip(root_n))
            if proof:
                with pytest.raises(ProofError):
                    check_tree(proof[:-1], t, root_t, n, root_n)
            with pytest.raises(ProofError):
                check_tree([*proof, root_t], t, root_t, n, root_n)
    with pytest.raises(ProofError):
        check_tree([], 5, mth(0, 5), 6, mth(0, 6))
    with pytest.raises(ProofError):
        check_tree([], 5, mth(0, 5), 0, EMPTY_TREE_HASH)


def test_proofs_for_records_not_in_the_tree_are_refused(log: MemoryHashes) -> None:
    with pytest.raises(ProofError):
        prove_record(5, 5, log)
    with pytest.raises(ProofError):
        prove_record(5, -1, log)
    with pytest.raises(ProofError):
        prove_tree(5, 6, log)
    with pytest.raises(ProofError):
        prove_record(MAX + 10, 0, log)
