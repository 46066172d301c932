package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPartitionAndDisconnect(t *testing.T) {
	s := New(DefaultOptions(1))
	s.Partition([]uint64{1, 2}, []uint64{3, 4, 5})
	require.True(t, s.net.linkUp(1, 2))
	require.False(t, s.net.linkUp(1, 3))
	require.False(t, s.net.linkUp(3, 1))
	require.True(t, s.net.linkUp(3, 5))

	s.Heal()
	s.BlockLink(1, 2)
	require.False(t, s.net.linkUp(1, 2), "one-way block")
	require.True(t, s.net.linkUp(2, 1), "the other direction stays up")

	s.Disconnect(4)
	require.False(t, s.IsConnected(4))
	require.False(t, s.net.linkUp(4, 5))
	s.Connect(4)
	require.True(t, s.net.linkUp(4, 5))
	require.False(t, s.net.linkUp(1, 2), "Connect does not undo a blocked link")
}

// A leader elected in one side of a partition commits nothing there with a
// minority, and the majority side elects its own.
func TestMinorityCannotCommit(t *testing.T) {
	o := DefaultOptions(3)
	s := New(o)
	require.NoError(t, s.RunFor(time.Second))
	var leader uint64
	for _, id := range s.Nodes() {
		if st, _ := s.Status(id); st.Role.String() == "Leader" {
			leader = id
		}
	}
	require.NotZero(t, leader)
	var others []uint64
	for _, id := range s.Nodes() {
		if id != leader {
			others = append(others, id)
		}
	}
	s.Partition([]uint64{leader, others[0]}, others[1:])
	idx, _, err := s.Propose(leader, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, s.RunFor(time.Second))
	n, _, err := s.Committed(idx)
	require.NoError(t, err)
	if n > 0 {
		// Committed only if the majority side's leader put something else
		// there; it must not be our "x".
		_, e, _ := s.Committed(idx)
		require.NotEqual(t, "x", string(e.Data))
	}
}
