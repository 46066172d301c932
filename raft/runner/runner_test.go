package runner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/raft/transport"
	"github.com/stretchr/testify/require"
)

// counter is the smallest state machine: it sums the uvarints proposed to
// it. It lives in memory, so a restarted node rebuilds it from its snapshot
// file and its WAL.
type counter struct {
	mu           sync.Mutex
	sum, applied uint64
}

func (c *counter) Apply(entries []raft.Entry) ([]uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint64, len(entries))
	for i, e := range entries {
		if e.Type == raft.EntryNormal && len(e.Data) > 0 {
			v, _ := binary.Uvarint(e.Data)
			c.sum += v
		}
		c.applied = e.Index
		out[i] = c.sum
	}
	return out, nil
}

func (c *counter) Applied() uint64 { c.mu.Lock(); defer c.mu.Unlock(); return c.applied }

func (c *counter) get() uint64 { c.mu.Lock(); defer c.mu.Unlock(); return c.sum }

type counterSnap struct{ index, sum uint64 }

func (s counterSnap) Index() uint64 { return s.index }
func (s counterSnap) Close() error  { return nil }
func (s counterSnap) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(binary.AppendUvarint(binary.AppendUvarint(nil, s.index), s.sum))
	return int64(n), err
}

func (c *counter) Snapshot() (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return counterSnap{c.applied, c.sum}, nil
}

func (c *counter) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	idx, n := binary.Uvarint(b)
	sum, m := binary.Uvarint(b[max(n, 0):])
	if n <= 0 || m <= 0 {
		return errors.New("counter: bad snapshot")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied, c.sum = idx, sum
	return nil
}

func add(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// cluster is n runner nodes over real TCP transports on loopback.
type cluster struct {
	t     *testing.T
	dirs  []string
	addrs []string
	nodes []*Node[uint64]
	sms   []*counter
	snapN uint64
}

func newCluster(t *testing.T, n int, snapshotEntries uint64) *cluster {
	c := &cluster{t: t, snapN: snapshotEntries}
	for range n {
		c.dirs = append(c.dirs, t.TempDir())
		c.addrs = append(c.addrs, "")
		c.nodes = append(c.nodes, nil)
		c.sms = append(c.sms, nil)
	}
	// Each node listens on a port of its own choosing the first time, and
	// on the same one after a restart.
	for i := range n {
		c.start(i + 1)
	}
	for i := range n {
		for j := range n {
			if i != j {
				c.nodes[i].tr.AddPeer(uint64(j+1), c.addrs[j])
			}
		}
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i + 1)
		}
	})
	return c
}

func (c *cluster) start(id int) {
	c.t.Helper()
	var peers []uint64
	for i := range c.dirs {
		peers = append(peers, uint64(i+1))
	}
	sm := &counter{}
	addr := c.addrs[id-1]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	n, err := Start(Config{
		Raft:            raft.Config{ID: uint64(id), Peers: peers, ElectionTick: 10, HeartbeatTick: 1, PreVote: true, CheckQuorum: true, MaxInflightMsgs: 64},
		Dir:             c.dirs[id-1],
		TickInterval:    10 * time.Millisecond,
		SnapshotEntries: c.snapN,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewTransport: func(h transport.Handler, s transport.SnapshotStore) (transport.Transport, error) {
			return transport.NewTCP(transport.Config{ID: uint64(id), ClusterID: 1, ListenAddr: addr, Handler: h, Snapshots: s,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		},
	}, sm)
	require.NoError(c.t, err)
	c.nodes[id-1], c.sms[id-1] = n, sm
	c.addrs[id-1] = n.tr.(*transport.TCP).Addr()
	for j, a := range c.addrs {
		if j != id-1 && a != "" {
			n.tr.AddPeer(uint64(j+1), a)
		}
	}
}

func (c *cluster) stop(id int) {
	if n := c.nodes[id-1]; n != nil {
		require.NoError(c.t, n.Stop())
		c.nodes[id-1] = nil
	}
}

func (c *cluster) leader() *Node[uint64] {
	c.t.Helper()
	var lead *Node[uint64]
	require.Eventually(c.t, func() bool {
		for _, n := range c.nodes {
			if n != nil && n.Status().Role == raft.Leader {
				lead = n
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	return lead
}

// propose retries through leader changes (ErrDropped, not leader).
func (c *cluster) propose(v uint64) uint64 {
	c.t.Helper()
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		sum, err := c.leader().Propose(ctx, add(v))
		cancel()
		if err == nil {
			return sum
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no proposal went through")
	return 0
}

func TestProposalsApplyEverywhereAndReadBarrier(t *testing.T) {
	c := newCluster(t, 3, 10000)
	var want uint64
	for i := uint64(1); i <= 50; i++ {
		want += i
		require.Equal(t, want, c.propose(i), "the proposer gets the state machine's result")
	}
	for i, n := range c.nodes {
		// After a read barrier a node reflects every completed write.
		require.NoError(t, n.ReadBarrier(context.Background()), "node %d", i+1)
		require.Equal(t, want, c.sms[i].get(), "node %d", i+1)
	}
	// A follower refuses proposals and names the leader.
	lead := c.leader()
	for _, n := range c.nodes {
		if n != lead {
			_, err := n.Propose(context.Background(), add(1))
			var nl *raft.NotLeaderError
			require.ErrorAs(t, err, &nl)
			require.Equal(t, lead.Status().ID, nl.Leader)
			break
		}
	}
}

// Snapshots every 20 entries; the log is compacted one snapshot behind, so
// the node keeps a snapshot interval of log for slightly lagging peers, and
// a node that restarts with an empty (in-memory) state machine rebuilds it
// from its snapshot file and its WAL.
func TestSnapshotsCompactOneBehindAndRestartRestores(t *testing.T) {
	c := newCluster(t, 3, 20)
	var want uint64
	for i := uint64(1); i <= 100; i++ {
		want += i
		c.propose(i)
	}
	lead := c.leader()
	require.NoError(t, lead.ReadBarrier(context.Background()))
	var id int
	for i, n := range c.nodes {
		if n == lead {
			id = i + 1
		}
	}
	require.Eventually(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(c.dirs[id-1], "snap", "*.snap"))
		st := lead.Status()
		// Two snapshot files kept (the latest and the one the log is
		// compacted to), and the log starts after the older one.
		return len(files) == 2 && st.FirstIndex > 1 && st.Applied-st.FirstIndex+1 >= c.snapN
	}, 5*time.Second, 10*time.Millisecond, "snapshots taken, log compacted one behind")

	// Restart a follower: its counter is rebuilt from snapshot + WAL.
	follower := id%3 + 1
	c.stop(follower)
	for i := uint64(1); i <= 30; i++ {
		want += i
		c.propose(i)
	}
	c.start(follower)
	require.Eventually(t, func() bool {
		n := c.nodes[follower-1]
		return n.ReadBarrier(context.Background()) == nil && c.sms[follower-1].get() == want
	}, 10*time.Second, 20*time.Millisecond, fmt.Sprintf("node %d catches up to %d", follower, want))
}

func TestStoppedNodeAnswersErrStopped(t *testing.T) {
	c := newCluster(t, 1, 10000)
	n := c.leader()
	c.propose(1)
	c.stop(1)
	_, err := n.Propose(context.Background(), add(1))
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorIs(t, n.ReadBarrier(context.Background()), ErrStopped)
}
