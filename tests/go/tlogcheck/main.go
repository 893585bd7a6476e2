// Command tlogcheck checks trustsvc's transparency log with Go's own implementation:
// golang.org/x/mod/sumdb/tlog (RFC 6962 hashing, proofs, tiles) and sumdb/note (signed
// notes). It reads a directory written by tests/tlog/test_go_interop.py:
//
//	fixture.json  keys, checkpoints, proofs (and tampered ones that must fail)
//	tile/...      the log's C2SP tiles and entry bundles, as a static server would hold them
//	*.tlog-proof  C2SP tlog-proof files
//
// It rebuilds the tree from the entry bundles with tlog.StoredHashes, and exits 1 at the
// first thing that does not check out.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Size  int64    `json:"size"`
	Index int64    `json:"index"`
	Proof []string `json:"proof"`
}

type consistency struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
}

type fixture struct {
	LogVkey        string        `json:"log_vkey"`
	LogSkey        string        `json:"log_skey"`
	WitnessVkeys   []string      `json:"witness_vkeys"`
	Size           int64         `json:"size"`
	Checkpoints    []string      `json:"checkpoints"`
	LogSignedOnly  []string      `json:"log_signed_only"`
	Inclusions     []inclusion   `json:"inclusions"`
	Consistencies  []consistency `json:"consistencies"`
	BadInclusions  []inclusion   `json:"bad_inclusions"`
	BadConsistency []consistency `json:"bad_consistencies"`
	BadCheckpoints []string      `json:"bad_checkpoints"`
	ProofFiles     []string      `json:"proof_files"`
	BadProofFiles  []string      `json:"bad_proof_files"`
}

// cosigner verifies C2SP tlog-cosignature/v1 (signature type 0x04), which sumdb/note does
// not know: the signature is an 8-byte timestamp then Ed25519 over
// "cosignature/v1\ntime <t>\n" || note text.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	m := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(c.key, m, sig[8:])
}

func newCosigner(vkey string) (*cosigner, error) {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return nil, errors.New("bad witness vkey")
	}
	hash16, key64, ok := strings.Cut(rest, "+")
	if !ok {
		return nil, errors.New("bad witness vkey")
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return nil, errors.New("not a cosignature/v1 Ed25519 vkey")
	}
	// The key ID, computed here independently: SHA-256(name || \n || 0x04 || key)[:4].
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	if binary.BigEndian.Uint32(h[:4]) != uint32(hash) {
		return nil, errors.New("witness key ID does not match its key")
	}
	return &cosigner{name, uint32(hash), ed25519.PublicKey(key[1:])}, nil
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// tileDir serves the log's C2SP tiles to tlog.TileHashReader (Go's paths carry the tile
// height, tile/8/L/N; C2SP's leave it out, tile/L/N).
type tileDir struct {
	dir   string
	reads int
}

func (d *tileDir) Height() int { return 8 }
func (d *tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		data, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		d.reads++
		out[i] = data
	}
	return out, nil
}
func (d *tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

func hashes(b64 []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// parseCheckpoint reads the C2SP tlog-checkpoint note text: origin, size, root.
func parseCheckpoint(text string) (string, tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", tlog.Tree{}, errors.New("checkpoint has fewer than three lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return "", tlog.Tree{}, errors.New("bad checkpoint size")
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		return "", tlog.Tree{}, err
	}
	return lines[0], tlog.Tree{N: n, Hash: h}, nil
}

func run(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		return "", err
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", err
	}
	logV, err := note.NewVerifier(f.LogVkey)
	if err != nil {
		return "", fmt.Errorf("log vkey: %w", err)
	}
	logS, err := note.NewSigner(f.LogSkey)
	if err != nil {
		return "", fmt.Errorf("log skey: %w", err)
	}
	verifiers := []note.Verifier{logV}
	var witnesses []*cosigner
	for _, v := range f.WitnessVkeys {
		c, err := newCosigner(v)
		if err != nil {
			return "", err
		}
		witnesses = append(witnesses, c)
		verifiers = append(verifiers, c)
	}
	known := note.VerifierList(verifiers...)

	// Rebuild the tree from the entry bundles, with Go's StoredHashes.
	var stored memHashes
	var n int64
	for bundle := int64(0); n < f.Size; bundle++ {
		t := tlog.Tile{H: 8, L: 0, N: bundle, W: 256}
		if left := f.Size - n; left < 256 {
			t.W = int(left)
		}
		p := strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", err
		}
		for len(data) > 0 {
			if len(data) < 2 {
				return "", fmt.Errorf("%s: truncated length", p)
			}
			size := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+size {
				return "", fmt.Errorf("%s: truncated entry", p)
			}
			add, err := tlog.StoredHashes(n, data[2:2+size], stored)
			if err != nil {
				return "", err
			}
			stored = append(stored, add...)
			data = data[2+size:]
			n++
		}
	}
	if n != f.Size {
		return "", fmt.Errorf("bundles hold %d entries, not %d", n, f.Size)
	}

	roots := map[int64]tlog.Hash{}
	var latest tlog.Tree
	for i, msg := range f.Checkpoints {
		opened, err := note.Open([]byte(msg), known)
		if err != nil {
			return "", fmt.Errorf("checkpoint %d: %w", i, err)
		}
		signers := map[string]bool{}
		for _, s := range opened.Sigs {
			signers[s.Name] = true
		}
		if !signers[logV.Name()] {
			return "", fmt.Errorf("checkpoint %d: not signed by the log", i)
		}
		for _, w := range witnesses {
			if !signers[w.name] {
				return "", fmt.Errorf("checkpoint %d: no cosignature by %s", i, w.name)
			}
		}
		origin, tree, err := parseCheckpoint(opened.Text)
		if err != nil {
			return "", fmt.Errorf("checkpoint %d: %w", i, err)
		}
		if origin != logV.Name() {
			return "", fmt.Errorf("checkpoint %d: origin %q", i, origin)
		}
		want, err := tlog.TreeHash(tree.N, stored)
		if err != nil {
			return "", err
		}
		if want != tree.Hash {
			return "", fmt.Errorf("checkpoint %d: root of size %d differs from Go's", i, tree.N)
		}
		// Go's signer, given our private key, writes exactly our log signature.
		mine, err := note.Sign(&note.Note{Text: opened.Text}, logS)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(mine, []byte(f.LogSignedOnly[i])) {
			return "", fmt.Errorf("checkpoint %d: Go's signature differs from ours", i)
		}
		roots[tree.N] = tree.Hash
		if tree.N > latest.N {
			latest = tree
		}
	}
	for i, msg := range f.BadCheckpoints {
		if _, err := note.Open([]byte(msg), known); err == nil {
			return "", fmt.Errorf("tampered checkpoint %d was accepted", i)
		}
	}

	root := func(size int64) (tlog.Hash, error) {
		if h, ok := roots[size]; ok {
			return h, nil
		}
		return tlog.TreeHash(size, stored)
	}
	for i, c := range f.Inclusions {
		p, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		th, err := root(c.Size)
		if err != nil {
			return "", err
		}
		leaf := stored[tlog.StoredHashIndex(0, c.Index)]
		if err := tlog.CheckRecord(p, c.Size, th, c.Index, leaf); err != nil {
			return "", fmt.Errorf("inclusion %d (%d in %d): %w", i, c.Index, c.Size, err)
		}
		goProof, err := tlog.ProveRecord(c.Size, c.Index, stored)
		if err != nil {
			return "", err
		}
		if fmt.Sprint(goProof) != fmt.Sprint(tlog.RecordProof(p)) {
			return "", fmt.Errorf("inclusion %d: Go's proof differs from ours", i)
		}
	}
	for i, c := range f.BadInclusions {
		p, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		th, err := root(c.Size)
		if err != nil {
			return "", err
		}
		leaf := stored[tlog.StoredHashIndex(0, c.Index)]
		if tlog.CheckRecord(p, c.Size, th, c.Index, leaf) == nil {
			return "", fmt.Errorf("tampered inclusion %d was accepted", i)
		}
	}
	for i, c := range f.Consistencies {
		p, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		oldRoot, err := root(c.Old)
		if err != nil {
			return "", err
		}
		newRoot, err := root(c.New)
		if err != nil {
			return "", err
		}
		if err := tlog.CheckTree(p, c.New, newRoot, c.Old, oldRoot); err != nil {
			return "", fmt.Errorf("consistency %d (%d to %d): %w", i, c.Old, c.New, err)
		}
		goProof, err := tlog.ProveTree(c.New, c.Old, stored)
		if err != nil {
			return "", err
		}
		if fmt.Sprint(goProof) != fmt.Sprint(tlog.TreeProof(p)) {
			return "", fmt.Errorf("consistency %d: Go's proof differs from ours", i)
		}
	}
	for i, c := range f.BadConsistency {
		p, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		oldRoot, _ := root(c.Old)
		newRoot, _ := root(c.New)
		if tlog.CheckTree(p, c.New, newRoot, c.Old, oldRoot) == nil {
			return "", fmt.Errorf("tampered consistency %d was accepted", i)
		}
	}

	// Proofs from the log's tiles alone: TileHashReader checks every tile it reads
	// against the signed tree hash.
	tiles := &tileDir{dir: dir}
	tr := tlog.TileHashReader(latest, tiles)
	for _, c := range f.Inclusions {
		if c.Size != latest.N {
			continue
		}
		p, err := tlog.ProveRecord(latest.N, c.Index, tr)
		if err != nil {
			return "", fmt.Errorf("proof from tiles for %d: %w", c.Index, err)
		}
		leaf := stored[tlog.StoredHashIndex(0, c.Index)]
		if err := tlog.CheckRecord(p, latest.N, latest.Hash, c.Index, leaf); err != nil {
			return "", fmt.Errorf("proof from tiles for %d: %w", c.Index, err)
		}
	}
	th, err := tlog.TreeHash(latest.N, tr)
	if err != nil || th != latest.Hash {
		return "", fmt.Errorf("tree hash from tiles: %v", err)
	}

	for _, name := range f.ProofFiles {
		if err := checkProofFile(filepath.Join(dir, name), known, logV.Name(), stored); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, name := range f.BadProofFiles {
		if checkProofFile(filepath.Join(dir, name), known, logV.Name(), stored) == nil {
			return "", fmt.Errorf("%s: tampered proof file accepted", name)
		}
	}
	return fmt.Sprintf("ok: %d checkpoints, %d inclusion and %d consistency proofs, %d tiles read, %d proof files",
		len(f.Checkpoints), len(f.Inclusions), len(f.Consistencies), tiles.reads, len(f.ProofFiles)), nil
}

// checkProofFile parses a C2SP tlog-proof written here and checks it with Go's code: the
// checkpoint note with sumdb/note, the inclusion with tlog.CheckRecord, and the entry
// (the extra data) against the leaf Go computed from the entry bundles.
func checkProofFile(path string, known note.Verifiers, origin string, stored memHashes) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return errors.New("no blank line")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return errors.New("not a tlog-proof")
	}
	lines = lines[1:]
	var extra []byte
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err = base64.StdEncoding.DecodeString(lines[0][6:])
		if err != nil {
			return err
		}
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return errors.New("no index line")
	}
	index, err := strconv.ParseInt(lines[0][6:], 10, 64)
	if err != nil {
		return err
	}
	p, err := hashes(lines[1:])
	if err != nil {
		return err
	}
	opened, err := note.Open(cp, known)
	if err != nil {
		return err
	}
	o, tree, err := parseCheckpoint(opened.Text)
	if err != nil {
		return err
	}
	if o != origin {
		return errors.New("wrong origin")
	}
	leaf := tlog.RecordHash(extra)
	if leaf != stored[tlog.StoredHashIndex(0, index)] {
		return errors.New("the extra data is not the entry at that index")
	}
	return tlog.CheckRecord(p, tree.N, tree.Hash, index, leaf)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck DIR")
		os.Exit(2)
	}
	summary, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogcheck:", err)
		os.Exit(1)
	}
	fmt.Println(summary)
}
