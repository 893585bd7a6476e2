"""The transparency log's formats and proofs, with no storage: Merkle tree hashing and
proofs (RFC 9162, in the stored-hash layout of Go's golang.org/x/mod/sumdb/tlog), C2SP
signed notes, checkpoints, cosignatures, tiles and proof bundles, and a witness's logic.

Pure: may import only ``errors``, the standard library and ``cryptography``. No database,
no HTTP; the service's storage (``audit.log``) and the API build on it.
"""
