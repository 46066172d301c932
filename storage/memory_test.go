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
