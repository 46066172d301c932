package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A follower cut off while the leader compacts gets the snapshot streamed in
// several chunks; with a lossy network some streams break, the leader hears
// of it and streams again, and the follower still gets the whole snapshot.
func TestSnapshotStreamsInChunks(t *testing.T) {
	for _, loss := range []float64{0, 0.3} {
		o := DefaultOptions(11)
		o.Nodes, o.Spares, o.SnapshotBytes = 3, 0, 2<<10
		o.Workload, o.SnapshotChunkBytes = WorkloadRegister, 4
		s := New(o)
		require.NoError(t, s.RunFor(time.Second))
		leader, ok := s.Leader()
		require.True(t, ok)
		lagging := leader%3 + 1
		s.Disconnect(lagging)
		for v := uint64(1); v <= 300; v++ {
			_, _, err := s.Propose(leader, AppendCommand(v))
			require.NoError(t, err)
			require.NoError(t, s.RunFor(5*time.Millisecond))
		}
		net := s.Net()
		net.Loss = loss
		s.SetNet(net)
		s.Connect(lagging)
		require.NoError(t, s.RunFor(3*time.Second))
		net.Loss = 0
		s.SetNet(net)
		require.NoError(t, s.RunFor(time.Second))

		st, _ := s.Status(lagging)
		lst, _ := s.Status(leader)
		require.Greater(t, st.FirstIndex, uint64(1), "loss %v: the lagging node installed a snapshot", loss)
		require.Equal(t, lst.Commit, st.Commit, "loss %v: and caught up", loss)
		require.GreaterOrEqual(t, s.Stats().Installs, 1)
		perSnapshot := (len(s.nodes[leader].snap.Data) + o.SnapshotChunkBytes - 1) / o.SnapshotChunkBytes
		require.Greater(t, perSnapshot, 1, "the test needs multi-chunk snapshots")
		require.GreaterOrEqual(t, s.SnapshotChunks(), perSnapshot*s.Stats().Installs, "loss %v", loss)
		if loss > 0 {
			require.Greater(t, s.SnapshotChunks(), perSnapshot*s.Stats().Installs, "with loss, broken streams must have been sent again")
		}
		t.Logf("loss %v: %d chunks sent for %d installs of %d-chunk snapshots", loss, s.SnapshotChunks(), s.Stats().Installs, perSnapshot)
		v, err := s.Read(lagging, time.Second)
		require.NoError(t, err)
		require.Equal(t, 300, v.Len, "loss %v: the installed state holds every append", loss)
	}
}
