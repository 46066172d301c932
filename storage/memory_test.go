package storage

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkAVL verifies order, stored heights and the AVL balance rule, and
// returns the subtree's height.
func checkAVL(t *testing.T, n *node, lo, hi []byte) int {
	if n == nil {
		return 0
	}
	if lo != nil {
		require.Less(t, string(lo), string(n.key))
	}
	if hi != nil {
		require.Less(t, string(n.key), string(hi))
	}
	hl, hr := checkAVL(t, n.left, lo, n.key), checkAVL(t, n.right, n.key, hi)
	require.LessOrEqual(t, hl-hr, 1)
	require.LessOrEqual(t, hr-hl, 1)
	require.Equal(t, max(hl, hr)+1, n.height)
	return n.height
}

func TestMemoryTreeStaysBalanced(t *testing.T) {
	m := NewMemory()
	var b Batch
	for i := 0; i < 4096; i++ { // ascending inserts: the worst case for a plain BST
		b.Put(fmt.Appendf(nil, "%08d", i), nil)
	}
	require.NoError(t, m.Apply(&b, false))
	require.LessOrEqual(t, checkAVL(t, m.root, nil, nil), 18) // 1.44*log2(4096)
	b.Reset()
	for i := 0; i < 4096; i += 3 {
		b.Delete(fmt.Appendf(nil, "%08d", i))
	}
	require.NoError(t, m.Apply(&b, false))
	checkAVL(t, m.root, nil, nil)
}

func TestOpenBoltTwiceFails(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(KindBolt, dir, Options{})
	require.NoError(t, err)
	defer e.Close()
	_, err = Open(KindBolt, dir, Options{})
	require.Error(t, err)
}

func TestNewMemoryFromSharesASnapshot(t *testing.T) {
	m := NewMemory()
	b := NewBatch()
	b.Put([]byte("a"), []byte("1"))
	require.NoError(t, m.Apply(b, false))
	snap, err := m.Snapshot()
	require.NoError(t, err)
	b.Reset()
	b.Put([]byte("a"), []byte("2"))
	require.NoError(t, m.Apply(b, false))

	// The copy starts at the snapshot's state, and the two evolve apart.
	c, err := NewMemoryFrom(snap)
	require.NoError(t, err)
	v, err := c.Get([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, "1", string(v))
	b.Reset()
	b.Put([]byte("b"), []byte("3"))
	require.NoError(t, c.Apply(b, false))
	_, err = m.Get([]byte("b"))
	require.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, snap.Close())
	_, err = NewMemoryFrom(snap)
	require.ErrorIs(t, err, ErrClosed)
}
