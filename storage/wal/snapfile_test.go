package wal

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeSnap(t *testing.T, sf *SnapshotFiles, index, term uint64, data []byte) {
	t.Helper()
	w, err := sf.Create(index, term)
	require.NoError(t, err)
	// Stream in small pieces, as a state machine would.
	for p := data; len(p) > 0; {
		n := min(len(p), 1000)
		_, err := w.Write(p[:n])
		require.NoError(t, err)
		p = p[n:]
	}
	require.NoError(t, w.Commit())
}

func readLatest(t *testing.T, sf *SnapshotFiles) (uint64, uint64, []byte) {
	t.Helper()
	i, tm, r, err := sf.Latest()
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return i, tm, b
}

func snapFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestSnapshotFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	sf, err := OpenSnapshotFiles(dir)
	require.NoError(t, err)
	_, _, _, err = sf.Latest()
	require.ErrorIs(t, err, ErrNoSnapshot)

	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	writeSnap(t, sf, 10, 1, []byte("first"))
	writeSnap(t, sf, 20, 2, big)
	i, tm, b := readLatest(t, sf)
	require.Equal(t, uint64(20), i)
	require.Equal(t, uint64(2), tm)
	require.Equal(t, sha256.Sum256(big), sha256.Sum256(b))
	require.Equal(t, []string{snapName(10, 1), snapName(20, 2)}, snapFiles(t, dir),
		"Commit keeps the older snapshot: the WAL still names it until SaveSnapshot")
	r, size, err := sf.Open(10, 1)
	require.NoError(t, err)
	first, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, "first", string(first))
	require.Equal(t, int64(5), size)
	require.NoError(t, sf.Prune(20))
	require.Equal(t, []string{snapName(20, 2)}, snapFiles(t, dir), "Prune removes the older snapshot")
	_, _, err = sf.Open(10, 1)
	require.ErrorIs(t, err, os.ErrNotExist)

	// An empty snapshot is fine too; the latest wins.
	writeSnap(t, sf, 30, 2, nil)
	require.NoError(t, sf.Prune(30))
	i, _, b = readLatest(t, sf)
	require.Equal(t, uint64(30), i)
	require.Empty(t, b)

	// An aborted writer leaves nothing behind.
	w, err := sf.Create(40, 3)
	require.NoError(t, err)
	_, err = w.Write([]byte("half"))
	require.NoError(t, err)
	require.NoError(t, w.Abort())
	require.Equal(t, []string{snapName(30, 2)}, snapFiles(t, dir))
}

func TestSnapshotFilesLeftoverTemp(t *testing.T) {
	dir := t.TempDir()
	sf, err := OpenSnapshotFiles(dir)
	require.NoError(t, err)
	writeSnap(t, sf, 5, 1, []byte("five"))
	// A crash mid-write leaves a temp file, even one for a newer index.
	w, err := sf.Create(9, 1)
	require.NoError(t, err)
	_, err = w.Write([]byte("never committed"))
	require.NoError(t, err)
	require.NoError(t, w.bw.Flush())
	tmp := w.f.Name()
	require.NoError(t, w.f.Close())

	i, _, b := readLatest(t, sf)
	require.Equal(t, uint64(5), i, "the temp file is ignored")
	require.Equal(t, []byte("five"), b)

	sf, err = OpenSnapshotFiles(dir)
	require.NoError(t, err)
	_, err = os.Stat(tmp)
	require.True(t, os.IsNotExist(err), "reopening removes the temp file")
	i, _, _ = readLatest(t, sf)
	require.Equal(t, uint64(5), i)
}

func TestSnapshotFilesCorrupt(t *testing.T) {
	dir := t.TempDir()
	sf, err := OpenSnapshotFiles(dir)
	require.NoError(t, err)
	writeSnap(t, sf, 7, 1, bytes.Repeat([]byte("abc"), 1000))
	p := filepath.Join(dir, snapName(7, 1))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[100] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o640))
	_, _, r, err := sf.Latest()
	require.NoError(t, err)
	defer r.Close()
	_, err = io.ReadAll(r)
	require.ErrorContains(t, err, "checksum mismatch")
}
