// Package server assembles one minikv node: the storage engine, the kv state
// machine, the raft runner and its TCP transport. It offers the operations
// every front door (REST, RPC, and later S3) calls — the same code path
// behind each — and does the work only a live node can do: stamping
// commands with the leader's clock, proposing ticks when keys expire,
// promoting caught-up learners, and knowing every member's addresses.
//
// Writes must be proposed on the leader; on a follower they fail with a
// *kv.NotLeaderError naming the leader, and the front door forwards them.
// Linearizable reads are served by any node: it asks the leader to confirm
// its commit index (raft's ReadIndex) and waits until it has applied that
// far. Stale reads skip the confirmation.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/raft/runner"
	"github.com/minikv-go/minikv/raft/transport"
	"github.com/minikv-go/minikv/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// Node is one running minikv node.
type Node struct {
	cfg    Config
	log    *slog.Logger
	engine storage.Engine
	sm     *kv.StateMachine
	raft   *runner.Node[kv.Result]
	tr     *transport.TCP
	limits kv.Limits

	mu        sync.Mutex
	clusterID uint64
	initial   []Member // the first configuration, from cluster.json
	joined    map[uint64]Member

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open starts a node from cfg (already validated). It recovers whatever
// the data dir holds; a new data dir bootstraps a cluster from
// cfg.Cluster.Members, or joins the one at cfg.Cluster.Join.
func Open(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	n := &Node{cfg: cfg, log: log, joined: map[uint64]Member{}, stop: make(chan struct{})}
	cl, err := n.clusterInfo()
	if err != nil {
		return nil, err
	}
	n.initial, n.clusterID = cl.Members, cl.ClusterID
	n.limits = kv.DefaultLimits()
	n.limits.MaxKeyBytes, n.limits.MaxValueBytes = cfg.Limits.MaxKeyBytes, cfg.Limits.MaxValueBytes

	if n.engine, err = storage.Open(cfg.Engine, filepath.Join(cfg.DataDir, "kv-"+cfg.Engine), storage.Options{}); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if n.sm, err = kv.New(n.engine, n.limits); err != nil {
		n.engine.Close()
		return nil, err
	}
	var voters []uint64
	for _, m := range cl.Members {
		voters = append(voters, m.ID)
	}
	var metrics *runner.Metrics
	if reg != nil {
		metrics = runner.NewMetrics(reg)
		registerDiskMetrics(reg, cfg)
	}
	rcfg := runner.Config{
		Raft: raft.Config{
			ID: cfg.ID, Peers: voters,
			ElectionTick: cfg.Raft.ElectionTicks, HeartbeatTick: cfg.Raft.HeartbeatTicks,
			PreVote: true, CheckQuorum: true, MaxInflightMsgs: 256, MaxSizePerMsg: 1 << 20,
		},
		Dir:             cfg.DataDir,
		TickInterval:    time.Duration(cfg.Raft.Tick),
		SnapshotEntries: cfg.Raft.SnapshotEntries,
		SnapshotBytes:   cfg.Raft.SnapshotBytes,
		Logger:          log,
		Metrics:         metrics,
		NewTransport: func(h transport.Handler, s transport.SnapshotStore) (transport.Transport, error) {
			tr, err := transport.NewTCP(transport.Config{
				ID: cfg.ID, ClusterID: cl.ClusterID, ListenAddr: cfg.Listen.Raft,
				Handler: h, Snapshots: s, Logger: log,
			})
			n.tr = tr
			return tr, err
		},
		OnConfChange: func(raft.ConfChange) { go n.syncPeers() },
	}
	var sm runner.StateMachine[kv.Result] = stateMachine{n.sm}
	if n.sm.Durable() {
		sm = durableStateMachine{stateMachine{n.sm}}
	}
	if n.raft, err = runner.Start(rcfg, sm); err != nil {
		n.engine.Close()
		return nil, err
	}
	n.syncPeers()
	if cfg.Cluster.Join != "" && !slices.Contains(append(n.raft.Status().Conf.Voters, n.raft.Status().Conf.Learners...), cfg.ID) {
		// Listening already, so the leader can reach it once the change is
		// in its log.
		if err := requestJoin(cfg.Cluster.Join, cfg.self()); err != nil {
			n.raft.Stop()
			n.engine.Close()
			return nil, fmt.Errorf("join %s: %w", cfg.Cluster.Join, err)
		}
		log.Info("joined the cluster as a learner; the leader promotes it once it has caught up", "via", cfg.Cluster.Join)
	}
	n.wg.Add(1)
	go n.background()
	return n, nil
}

// clusterFile remembers, in the data dir, the cluster a node belongs to:
// its id and first configuration. A restarted node must start its raft core
// with the same first configuration as every other member, whatever its
// config file says now.
type clusterFile struct {
	ClusterID uint64   `json:"cluster_id"`
	Members   []Member `json:"initial_members"`
}

func (n *Node) clusterInfo() (clusterFile, error) {
	path := filepath.Join(n.cfg.DataDir, "cluster.json")
	b, err := os.ReadFile(path)
	if err == nil {
		var cl clusterFile
		if err := json.Unmarshal(b, &cl); err != nil {
			return cl, fmt.Errorf("%s: %w", path, err)
		}
		return cl, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return clusterFile{}, err
	}
	cl := clusterFile{ClusterID: n.cfg.Cluster.ID, Members: n.cfg.Cluster.Members}
	if n.cfg.Cluster.Join != "" {
		if cl, err = fetchCluster(n.cfg.Cluster.Join); err != nil {
			return cl, fmt.Errorf("join %s: %w", n.cfg.Cluster.Join, err)
		}
		if slices.ContainsFunc(cl.Members, func(m Member) bool { return m.ID == n.cfg.ID }) {
			return cl, fmt.Errorf("join %s: node id %d is one of the cluster's first members; a joining node needs a new id", n.cfg.Cluster.Join, n.cfg.ID)
		}
	}
	return cl, writeJSON(n.cfg.DataDir, cl)
}

// writeJSON writes dir/cluster.json durably.
func writeJSON(dir string, cl clusterFile) error {
	b, _ := json.MarshalIndent(cl, "", "  ")
	return writeFileSync(filepath.Join(dir, "cluster.json"), b)
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncPeers tells the transport where every member is: the first
// configuration's members and those added since (kept by the state
// machine), minus the ones removed.
func (n *Node) syncPeers() {
	if n.tr == nil {
		return
	}
	for id, m := range n.memberTable() {
		if id != n.cfg.ID && m.Raft != "" {
			n.tr.AddPeer(id, m.Raft)
		}
	}
}

// memberTable returns the current members (voters and learners) with
// their addresses, as far as this node knows them.
func (n *Node) memberTable() map[uint64]Member {
	st := n.raft.Status()
	known := map[uint64]Member{}
	for _, m := range n.initial {
		known[m.ID] = m
	}
	n.mu.Lock()
	maps.Copy(known, n.joined)
	n.mu.Unlock()
	if added, err := n.sm.Members(); err == nil {
		for id, b := range added {
			var m Member
			if json.Unmarshal(b, &m) == nil {
				known[id] = m
			}
		}
	}
	out := map[uint64]Member{}
	for _, id := range append(slices.Clone(st.Conf.Voters), st.Conf.Learners...) {
		m, ok := known[id]
		if !ok {
			m = Member{ID: id}
		}
		out[id] = m
	}
	return out
}

// background proposes clock ticks so that TTLs fire without writes, and
// promotes learners that have caught up. Only the leader acts.
func (n *Node) background() {
	defer n.wg.Done()
	t := time.NewTicker(time.Duration(n.cfg.Raft.Tick) * time.Duration(n.cfg.Raft.HeartbeatTicks))
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.raft.Done():
			return
		case <-t.C:
		}
		if n.raft.Status().Role != raft.Leader {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n.cfg.Limits.RequestTimeout))
		if next, ok := n.sm.NextExpiry(); ok && next <= time.Now().UnixNano() {
			if _, err := n.propose(ctx, kv.Command{Kind: kv.CmdTick}); err != nil {
				n.log.Debug("tick proposal", "err", err)
			}
		}
		n.promoteCaughtUp(ctx)
		cancel()
	}
}

// promoteCaughtUp makes a learner a voter once its log is close to the
// leader's: promoting a learner that is far behind would add a voter that
// cannot help commit anything for a while.
func (n *Node) promoteCaughtUp(ctx context.Context) {
	st := n.raft.Status()
	for _, id := range st.Conf.Learners {
		// Match 0: it never answered (it may not even be running).
		pr, ok := n.raft.Progress(id)
		if !ok || pr.Match == 0 || pr.Match+100 < st.Commit {
			continue
		}
		err := n.raft.ProposeConfChange(ctx, raft.ConfChange{Type: raft.ConfPromote, NodeID: id})
		if err != nil {
			n.log.Debug("promote", "node", id, "err", err)
			continue
		}
		n.log.Info("promoted a caught-up learner to voter", "node", id)
	}
}

// Close stops the node: the raft loop, the transport, the WAL, the engine.
// A leader first hands leadership to another voter, so that the cluster
// does not wait an election timeout to notice it is gone.
func (n *Node) Close() error {
	close(n.stop)
	n.wg.Wait()
	if st := n.raft.Status(); st.Role == raft.Leader && len(st.Conf.Voters) > 1 {
		// A transfer takes a round trip or two; give up after an election
		// timeout, which is what the cluster would wait anyway.
		timeout := time.Duration(n.cfg.Raft.Tick) * time.Duration(n.cfg.Raft.ElectionTicks)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if to, err := n.TransferLeader(ctx, 0); err != nil {
			n.log.Warn("could not hand over leadership before stopping", "err", err)
		} else {
			n.log.Info("handed leadership over before stopping", "to", to)
		}
		cancel()
	}
	err := n.raft.Stop()
	if cerr := n.engine.Close(); err == nil {
		err = cerr
	}
	return err
}

// Done is closed if the node stops on its own (a fatal error: see Err).
func (n *Node) Done() <-chan struct{} { return n.raft.Done() }

// Err returns the error that stopped the node, if any.
func (n *Node) Err() error { return n.raft.Err() }

// ID returns the node's id.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Config returns the node's configuration.
func (n *Node) Config() Config { return n.cfg }

// stateMachine adapts kv.StateMachine to the runner's interface.
type stateMachine struct{ sm *kv.StateMachine }

func (s stateMachine) Apply(entries []raft.Entry) ([]kv.Result, error) {
	// No fsync per batch: the WAL holds the entries, and a restart replays
	// whatever the engine lost after its own last flush.
	return s.sm.Apply(entries, false)
}

func (s stateMachine) Applied() uint64 { return s.sm.Applied() }

func (s stateMachine) Snapshot() (runner.Snapshot, error) {
	snap, err := s.sm.Snapshot()
	if err != nil {
		return nil, err
	}
	return kvSnapshot{snap}, nil
}

func (s stateMachine) Restore(r io.Reader) error { return s.sm.Restore(r) }

// durableStateMachine is the state machine on an engine that keeps its
// writes across a restart: the runner's snapshots are then synced engine
// views, not files (runner.Durable).
type durableStateMachine struct{ stateMachine }

func (s durableStateMachine) Sync() error { return s.sm.Sync() }

type kvSnapshot struct{ *kv.Snapshot }

func (s kvSnapshot) Index() uint64 { return s.Snapshot.Index }

// registerDiskMetrics reports how much disk the engine, the WAL and the
// snapshot files take, measured when Prometheus scrapes (a walk of a few
// directories: every engine has files there, so no engine API is needed).
func registerDiskMetrics(reg prometheus.Registerer, cfg Config) {
	for _, d := range []struct{ name, help, dir string }{
		{"minikv_engine_disk_bytes", "Bytes on disk of the storage engine's files.", "kv-" + cfg.Engine},
		{"minikv_wal_disk_bytes", "Bytes on disk of the Raft WAL segments.", "wal"},
		{"minikv_snapshot_disk_bytes", "Bytes on disk of the snapshot files.", "snap"},
	} {
		dir := filepath.Join(cfg.DataDir, d.dir)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: d.name, Help: d.help},
			func() float64 { return float64(dirSize(dir)) }))
	}
}

func dirSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}
