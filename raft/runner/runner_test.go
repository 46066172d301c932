package runner

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
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

// durableCounter is a counter that keeps its state in a file, written at
// every Apply, like an engine that fsyncs each commit (bolt): a restart
// finds it where it stopped, which may be past its last snapshot. It is
// Durable, so the runner's snapshots of it are views, not files.
type durableCounter struct {
	*counter
	path string
}

func openDurableCounter(t *testing.T, dir string) *durableCounter {
	d := &durableCounter{counter: &counter{}, path: filepath.Join(dir, "counter")}
	if b, err := os.ReadFile(d.path); err == nil {
		require.NoError(t, d.counter.Restore(bytes.NewReader(b)))
	}
	return d
}

func (d *durableCounter) persist() error {
	snap, _ := d.counter.Snapshot()
	var b bytes.Buffer
	if _, err := snap.WriteTo(&b); err != nil {
		return err
	}
	return os.WriteFile(d.path, b.Bytes(), 0o600)
}

func (d *durableCounter) Apply(entries []raft.Entry) ([]uint64, error) {
	out, err := d.counter.Apply(entries)
	if err != nil {
		return nil, err
	}
	return out, d.persist()
}

func (d *durableCounter) Restore(r io.Reader) error {
	if err := d.counter.Restore(r); err != nil {
		return err
	}
	return d.persist()
}

func (d *durableCounter) Sync() error { return nil } // every Apply persisted

func add(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// cluster is n runner nodes over real TCP transports on loopback.
type cluster struct {
	t     *testing.T
	dirs  []string
	addrs []string
	nodes []*Node[uint64]
	sms   []*counter
	snapN uint64
	// durable nodes run a durableCounter; the others a counter.
	durable bool
}

func newCluster(t *testing.T, n int, snapshotEntries uint64) *cluster {
	return newClusterOf(t, n, snapshotEntries, false)
}

func newClusterOf(t *testing.T, n int, snapshotEntries uint64, durable bool) *cluster {
	c := &cluster{t: t, snapN: snapshotEntries, durable: durable}
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
	var machine StateMachine[uint64] = sm
	if c.durable {
		d := openDurableCounter(c.t, c.dirs[id-1])
		sm, machine = d.counter, d
	}
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
	}, machine)
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

func (c *cluster) snapFiles(id int) []string {
	files, err := filepath.Glob(filepath.Join(c.dirs[id-1], "snap", "*.snap"))
	require.NoError(c.t, err)
	return files
}

func (c *cluster) id(n *Node[uint64]) int {
	for i, m := range c.nodes {
		if m == n {
			return i + 1
		}
	}
	c.t.Fatal("not a node of the cluster")
	return 0
}

// A durable state machine's snapshots are views: the leader compacts its
// log without writing a snapshot file, and writes one only when a
// follower is too far behind for the log.
func TestDurableSnapshotsAreWrittenOnlyForAFollowerThatNeedsOne(t *testing.T) {
	c := newClusterOf(t, 3, 20, true)
	lead := c.leader()
	id := c.id(lead)
	follower := id%3 + 1
	c.stop(follower)
	var want uint64
	for i := uint64(1); i <= 100; i++ {
		want += i
		c.propose(i)
	}
	lead = c.leader()
	require.Eventually(t, func() bool { return lead.Status().FirstIndex > 40 }, 5*time.Second, 10*time.Millisecond,
		"snapshots taken and the log compacted")
	require.Empty(t, c.snapFiles(c.id(lead)), "no snapshot file before a follower needs one")

	c.start(follower)
	require.Eventually(t, func() bool {
		n := c.nodes[follower-1]
		return n.ReadBarrier(context.Background()) == nil && c.sms[follower-1].get() == want
	}, 10*time.Second, 20*time.Millisecond, "node %d catches up to %d through a snapshot", follower, want)
	require.Len(t, c.snapFiles(c.id(lead)), 1, "the leader wrote the file the follower needed")
	require.NotEmpty(t, c.snapFiles(follower), "the follower keeps the snapshot it installed")
}

// A durable node that restarts past its last snapshot has neither a view
// nor a file of it: it must take a new snapshot at once and compact to it,
// or a follower that needs a snapshot waits forever.
func TestDurableNodeRestartedPastItsSnapshotCanStillSendOne(t *testing.T) {
	c := newClusterOf(t, 3, 20, true)
	lead := c.leader()
	a := c.id(lead)
	b, f := a%3+1, (a+1)%3+1
	c.stop(f) // f will need a snapshot
	var want uint64
	for i := uint64(1); i <= 90; i++ {
		want += i
		c.propose(i)
	}
	require.Eventually(t, func() bool {
		n := c.nodes[a-1]
		return n.Status().FirstIndex > 40 && n.Status().Applied%20 != 0
	}, 5*time.Second, 10*time.Millisecond, "node %d compacted its log and applied past its last snapshot", a)
	// a restarts past its snapshot; b goes away, so a (whose log is newer
	// than f's) must lead and send f the snapshot.
	c.stop(a)
	c.stop(b)
	c.start(a)
	c.start(f)
	require.Eventually(t, func() bool {
		n := c.nodes[f-1]
		return n.ReadBarrier(context.Background()) == nil && c.sms[f-1].get() == want
	}, 10*time.Second, 20*time.Millisecond, "node %d catches up to %d through node %d's snapshot", f, want, a)
}

// A durable state machine whose files are gone (an engine directory
// deleted, another engine chosen) cannot come back from the WAL alone: the
// node refuses to start, and says why, instead of starting empty.
func TestDurableNodeWithoutItsFilesRefusesToStart(t *testing.T) {
	c := newClusterOf(t, 1, 20, true)
	for i := uint64(1); i <= 50; i++ {
		c.propose(i)
	}
	require.Eventually(t, func() bool { return c.nodes[0].Status().FirstIndex > 1 }, 5*time.Second, 10*time.Millisecond)
	c.stop(1)
	require.NoError(t, os.Remove(filepath.Join(c.dirs[0], "counter")))
	_, err := Start(Config{
		Raft: raft.Config{ID: 1, Peers: []uint64{1}, ElectionTick: 10, HeartbeatTick: 1},
		Dir:  c.dirs[0],
		NewTransport: func(h transport.Handler, s transport.SnapshotStore) (transport.Transport, error) {
			return nil, errors.New("not reached")
		},
	}, openDurableCounter(t, c.dirs[0]))
	require.ErrorContains(t, err, "its own files are missing or were replaced")
}
