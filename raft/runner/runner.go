// Package runner drives a raft core (package raft) in real time, for a real
// node: a ticker, the durable WAL and snapshot files (package storage/wal),
// a Transport to the other nodes (package raft/transport), and the state
// machine the log is applied to.
//
// The core is a deterministic state machine with no goroutines; the runner is
// where time, disks and sockets come in. One goroutine, the loop, owns the
// core: it is the only one that calls Tick, Step, Propose, Ready and Advance.
// Everything else — client requests, messages from peers, snapshot transfers
// finishing — reaches the loop through channels. Each turn of the loop does
// what the simulator's node does (sim/node.go), in the order the Ready
// contract demands:
//
//  1. persist the Ready's snapshot, hard state and entries (WAL, fsync once
//     for the whole batch when MustSync),
//  2. send its messages,
//  3. apply its committed entries and answer the proposals waiting for them,
//  4. serve the reads whose read index is now applied,
//  5. Advance.
//
// Batching comes for free: while the loop waits on an fsync, proposals and
// messages pile up in the channels, and the next turn drains them all into
// one Ready — one fsync and one message per peer for many client requests.
//
// Snapshots: every SnapshotEntries applied entries (or SnapshotBytes of
// them) the runner captures the state machine (a consistent point-in-time
// view), streams it to a snapshot file on another goroutine, then records
// it in the WAL. A Durable state machine is synced instead, and its view
// kept: a file is written from it only for a follower that needs one (see
// views.go). The core's log is compacted one snapshot behind, so that a
// follower that lags by less than SnapshotEntries catches up from the log
// instead of a whole snapshot.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/raft/transport"
	"github.com/minikv-go/minikv/storage/wal"
)

// StateMachine is what the log is applied to. R is the result of applying
// one entry, returned to whoever proposed it.
type StateMachine[R any] interface {
	// Apply applies committed entries in order and returns one result per
	// entry. An error means the state machine cannot go on: the node stops.
	Apply(entries []raft.Entry) ([]R, error)
	// Applied is the index of the last entry the state reflects. A durable
	// state machine keeps it across restarts; the runner then replays the
	// log only after it.
	Applied() uint64
	// Snapshot captures the state as of Applied(). Writing it out may take
	// long and happens on another goroutine while Apply goes on.
	Snapshot() (Snapshot, error)
	// Restore replaces the whole state with a snapshot's.
	Restore(r io.Reader) error
}

// Snapshot is a point-in-time capture of a state machine.
type Snapshot interface {
	Index() uint64
	WriteTo(w io.Writer) (int64, error)
	Close() error
}

// Config configures a Node.
type Config struct {
	// Raft configures the core. Raft.ID is this node; Raft.Peers the voters
	// of the first configuration (a node joining an existing cluster passes
	// none). Raft.Rand may be nil.
	Raft raft.Config
	// Dir holds the WAL (Dir/wal) and snapshot files (Dir/snap).
	Dir string
	// TickInterval is the real time one raft tick stands for.
	TickInterval time.Duration
	// SnapshotEntries: a snapshot is taken every this many applied entries
	// (default 10,000)...
	SnapshotEntries uint64
	// SnapshotBytes: ...or once the entries applied since the last one
	// hold this many bytes (default 64 MiB). The core keeps its log in
	// memory back to the snapshot before last, so this bounds the memory
	// large entries (S3 chunks of 1 MiB) can take.
	SnapshotBytes uint64
	// NewTransport builds the transport; the runner is its Handler and its
	// SnapshotStore. Telling it where the peers are is the caller's job
	// (see OnConfChange).
	NewTransport func(transport.Handler, transport.SnapshotStore) (transport.Transport, error)
	// OnConfChange, if set, is called on the loop after a configuration
	// change is applied, and after a snapshot from the leader is installed
	// (with a zero ConfChange): the members may have changed.
	OnConfChange func(cc raft.ConfChange)
	Logger       *slog.Logger
	Metrics      *Metrics
}

// Errors returned to callers.
var (
	// ErrStopped: the node stopped (or died; see Node.Err).
	ErrStopped = errors.New("runner: node stopped")
	// ErrDropped: the proposal's log slot went to another leader's entry; it
	// was not applied. Retrying is safe.
	ErrDropped = errors.New("runner: proposal dropped by a leader change")
)

// Node is one real raft node.
type Node[R any] struct {
	cfg  Config
	log  *slog.Logger
	raft *raft.Raft
	sm   StateMachine[R]
	// durable is sm if it keeps its state across a crash; its snapshots
	// are views kept in views, not files.
	durable Durable
	views   *views
	wal     *wal.WAL
	snaps   *wal.SnapshotFiles
	tr      transport.Transport

	recvc    chan raft.Message
	propc    chan proposal[R]
	ctlc     chan func()
	snapDone chan snapResult
	stopc    chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	err      atomic.Pointer[error]
	bg       sync.WaitGroup // snapshot writers

	// Loop-owned state.
	waiters      map[uint64][]waiter[R]
	reads        map[string]*readReq
	readyReads   []readyRead
	readSeq      uint64
	readPrefix   string // node id and incarnation: read ids are unique in the cluster
	snapping     bool
	lastSnap     raft.SnapshotMeta // the latest snapshot taken or installed
	prevSnap     raft.SnapshotMeta // the one before: the core is compacted to it
	lastApplied  uint64
	appliedBytes uint64 // entry data applied since the last snapshot began
	// unservable: the snapshot the core would send (prevSnap) has no file
	// and no view (a durable state machine restarted past it). The next
	// snapshot is taken at once and the log compacted to it.
	unservable bool

	status atomic.Pointer[raft.Status]
}

type proposal[R any] struct {
	data []byte
	cc   *raft.ConfChange
	done chan propResult[R]
}

type propResult[R any] struct {
	res R
	err error
}

type waiter[R any] struct {
	term uint64
	done chan propResult[R]
}

type readReq struct {
	deadline time.Time
	done     chan error
}

type readyRead struct {
	index uint64
	req   *readReq
}

type snapResult struct {
	meta raft.SnapshotMeta
	view Snapshot // a durable state machine's snapshot, kept in views
	err  error
}

// Start recovers the node from Dir (or creates it), restores the state
// machine if it is behind the latest snapshot, and starts the loop.
func Start[R any](cfg Config, sm StateMachine[R]) (*Node[R], error) {
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 10000
	}
	if cfg.SnapshotBytes == 0 {
		cfg.SnapshotBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Raft.Rand == nil {
		// Real nodes need election timeouts that differ between nodes and
		// between runs; only the simulator needs them replayable.
		seed := uint64(time.Now().UnixNano())
		cfg.Raft.Rand = rand.New(rand.NewPCG(seed, cfg.Raft.ID))
	}
	n := &Node[R]{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Raft.ID), sm: sm,
		recvc: make(chan raft.Message, 4096), propc: make(chan proposal[R], 1024),
		ctlc: make(chan func(), 64), snapDone: make(chan snapResult, 1),
		stopc: make(chan struct{}), done: make(chan struct{}),
		waiters: map[uint64][]waiter[R]{}, reads: map[string]*readReq{},
	}
	n.durable, _ = sm.(Durable)
	// The leader matches heartbeat answers to pending reads by their id, so
	// ids must differ between nodes, and between incarnations of one node
	// (a restarted node's counter starts again while the leader may still
	// hold its old reads).
	n.readPrefix = fmt.Sprintf("%d.%x.", cfg.Raft.ID, time.Now().UnixNano())
	if err := n.open(); err != nil {
		n.closeStorage()
		return nil, err
	}
	tr, err := cfg.NewTransport(n, n.views)
	if err != nil {
		n.closeStorage()
		return nil, fmt.Errorf("runner: transport: %w", err)
	}
	n.tr = tr
	n.publishStatus()
	go n.run()
	return n, nil
}

// open recovers the WAL, the snapshot files and the state machine, and
// builds the core.
func (n *Node[R]) open() error {
	var err error
	var ps raft.PersistentState
	if n.wal, ps, err = wal.Open(filepath.Join(n.cfg.Dir, "wal"), wal.Options{}); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if n.snaps, err = wal.OpenSnapshotFiles(filepath.Join(n.cfg.Dir, "snap")); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	snap := ps.Snapshot
	applied := n.sm.Applied()
	if snap.Index > applied {
		// The state machine lost what it had not made durable, or never
		// had it (an installed snapshot): start from the snapshot file.
		if err := n.restore(snap); err != nil {
			return err
		}
		applied = snap.Index
	}
	if last := lastIndex(ps); applied > last {
		return fmt.Errorf("runner: the state machine has applied index %d, but the log ends at %d: the data dir's engine and WAL do not belong together", applied, last)
	}
	n.lastSnap, n.prevSnap, n.lastApplied = snap, snap, applied
	n.views = newViews(n.snaps, n.cfg.Metrics)
	if err := n.keepRecoveredView(snap, applied); err != nil {
		return err
	}
	if n.raft, err = raft.New(n.cfg.Raft, ps); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	n.log.Info("recovered", "term", ps.HardState.Term, "commit", ps.HardState.Commit,
		"snapshot", snap.Index, "applied", applied, "last_index", lastIndex(ps))
	return nil
}

// keepRecoveredView makes the recovered snapshot servable to followers
// again when it has no file: a durable state machine still at its index
// gives a view of it; one past it cannot, and the next snapshot is taken
// at once (unservable).
func (n *Node[R]) keepRecoveredView(snap raft.SnapshotMeta, applied uint64) error {
	if n.durable == nil || snap.Index == 0 {
		return nil
	}
	if rc, _, err := n.snaps.Open(snap.Index, snap.Term); err == nil {
		return rc.Close()
	}
	if applied != snap.Index {
		n.unservable = true
		return nil
	}
	view, err := n.sm.Snapshot()
	if err != nil {
		return fmt.Errorf("runner: snapshot view at %d: %w", snap.Index, err)
	}
	if view.Index() != snap.Index {
		view.Close()
		return fmt.Errorf("runner: state machine captured index %d, expected %d", view.Index(), snap.Index)
	}
	n.views.add(snap, view)
	return nil
}

func lastIndex(ps raft.PersistentState) uint64 {
	if k := len(ps.Entries); k > 0 {
		return ps.Entries[k-1].Index
	}
	return ps.Snapshot.Index
}

// restore loads the snapshot file meta names into the state machine.
func (n *Node[R]) restore(meta raft.SnapshotMeta) error {
	r, _, err := n.snaps.Open(meta.Index, meta.Term)
	if err != nil && n.durable != nil && errors.Is(err, fs.ErrNotExist) {
		// A durable state machine's snapshots are views of its own
		// files: without them, there is nothing to restore from.
		return fmt.Errorf("runner: the state machine is at index %d, behind the snapshot at %d the WAL starts from, and a durable state machine's snapshots have no file: its own files are missing or were replaced (an engine directory deleted, or another engine chosen); start the node with the files it had, or remove the data dir and add the node back as a new member",
			n.sm.Applied(), meta.Index)
	}
	if err != nil {
		return fmt.Errorf("runner: snapshot %d (term %d) is recorded in the WAL but its file cannot be read: %w", meta.Index, meta.Term, err)
	}
	defer r.Close()
	if err := n.sm.Restore(r); err != nil {
		return fmt.Errorf("runner: restore snapshot %d: %w", meta.Index, err)
	}
	if got := n.sm.Applied(); got != meta.Index {
		return fmt.Errorf("runner: snapshot %d restored a state machine at index %d", meta.Index, got)
	}
	return nil
}

func (n *Node[R]) closeStorage() {
	if n.wal != nil {
		if err := n.wal.Close(); err != nil {
			n.log.Error("closing the WAL", "err", err)
		}
	}
}

// run is the loop: the only goroutine that touches the core.
func (n *Node[R]) run() {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	defer close(n.done)
	for {
		select {
		case <-n.stopc:
			return
		case <-ticker.C:
			n.raft.Tick()
			n.expireReads()
		case m := <-n.recvc:
			n.raft.Step(m)
		case p := <-n.propc:
			n.propose(p)
		case f := <-n.ctlc:
			f()
		case r := <-n.snapDone:
			n.snapshotWritten(r)
		}
		n.drain()
		for n.raft.HasReady() {
			if err := n.handleReady(); err != nil {
				n.fail(err)
				return
			}
		}
		n.publishStatus()
	}
}

// drain takes whatever else is already waiting, so that one Ready (one
// fsync) covers it all.
func (n *Node[R]) drain() {
	for range 1024 {
		select {
		case m := <-n.recvc:
			n.raft.Step(m)
		case p := <-n.propc:
			n.propose(p)
		default:
			return
		}
	}
}

func (n *Node[R]) propose(p proposal[R]) {
	var index, term uint64
	var err error
	if p.cc != nil {
		index, term, err = n.raft.ProposeConfChange(*p.cc)
	} else {
		index, term, err = n.raft.Propose(p.data)
	}
	if err != nil {
		p.done <- propResult[R]{err: err}
		return
	}
	n.cfg.Metrics.proposal()
	n.waiters[index] = append(n.waiters[index], waiter[R]{term: term, done: p.done})
}

// handleReady persists, sends, applies and advances one Ready.
func (n *Node[R]) handleReady() error {
	rd := n.raft.Ready()
	if !rd.Snapshot.IsEmpty() {
		if err := n.installSnapshot(rd.Snapshot.Meta); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := n.wal.Save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
		return fmt.Errorf("runner: WAL: %w", err)
	}
	if rd.MustSync {
		n.cfg.Metrics.fsync(time.Since(start))
	}
	n.cfg.Metrics.sent(rd.Messages)
	n.tr.Send(rd.Messages)
	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	for _, rs := range rd.ReadStates {
		if req := n.reads[string(rs.RequestCtx)]; req != nil {
			delete(n.reads, string(rs.RequestCtx))
			n.readyReads = append(n.readyReads, readyRead{index: rs.Index, req: req})
		}
	}
	n.serveReads()
	n.raft.Advance(rd)
	n.maybeSnapshot()
	return nil
}

// installSnapshot takes in a snapshot the leader sent: its file is already
// on disk (the transport handed it to SnapshotStore.Receive before the
// message reached the core).
func (n *Node[R]) installSnapshot(meta raft.SnapshotMeta) error {
	if err := n.wal.SaveSnapshot(meta); err != nil {
		return fmt.Errorf("runner: WAL: %w", err)
	}
	if err := n.restore(meta); err != nil {
		return err
	}
	n.lastApplied = meta.Index
	n.prevSnap, n.lastSnap, n.unservable = meta, meta, false
	n.views.dropBelow(meta.Index)
	n.failWaitersUpTo(meta.Index)
	if err := n.snaps.Prune(meta.Index); err != nil {
		n.log.Warn("removing old snapshots", "err", err)
	}
	n.cfg.Metrics.snapshotInstalled()
	n.log.Info("installed a snapshot from the leader", "index", meta.Index, "term", meta.Term)
	if n.cfg.OnConfChange != nil {
		n.cfg.OnConfChange(raft.ConfChange{})
	}
	return nil
}

// apply hands committed entries to the state machine and answers their
// proposers.
func (n *Node[R]) apply(entries []raft.Entry) error {
	for len(entries) > 0 && entries[0].Index <= n.lastApplied {
		entries = entries[1:] // a durable state machine already holds them
	}
	if len(entries) == 0 {
		return nil
	}
	if entries[0].Index != n.lastApplied+1 {
		return fmt.Errorf("runner: committed entries start at %d, but the state machine is at %d", entries[0].Index, n.lastApplied)
	}
	results, err := n.sm.Apply(entries)
	if err != nil {
		return fmt.Errorf("runner: apply: %w", err)
	}
	n.lastApplied = entries[len(entries)-1].Index
	for i, e := range entries {
		n.appliedBytes += uint64(len(e.Data))
		if e.Type == raft.EntryConfChange {
			n.confChanged(e)
		}
		for _, w := range n.waiters[e.Index] {
			if w.term == e.Term {
				w.done <- propResult[R]{res: results[i]}
			} else {
				w.done <- propResult[R]{err: ErrDropped}
			}
		}
		delete(n.waiters, e.Index)
	}
	return nil
}

// failWaitersUpTo answers the proposals a snapshot overtook: the node will
// never see their entries applied.
func (n *Node[R]) failWaitersUpTo(index uint64) {
	for idx, ws := range n.waiters {
		if idx <= index {
			for _, w := range ws {
				w.done <- propResult[R]{err: ErrDropped}
			}
			delete(n.waiters, idx)
		}
	}
}

// confChanged reports an applied configuration change.
func (n *Node[R]) confChanged(e raft.Entry) {
	cc, err := raft.UnmarshalConfChange(e.Data)
	if err != nil {
		n.log.Error("undecodable configuration change", "index", e.Index, "err", err)
		return
	}
	n.log.Info("configuration change applied", "change", cc.String(), "index", e.Index)
	if n.cfg.OnConfChange != nil {
		n.cfg.OnConfChange(cc)
	}
}

// serveReads releases the reads whose index the state machine has reached.
func (n *Node[R]) serveReads() {
	keep := n.readyReads[:0]
	for _, rr := range n.readyReads {
		if rr.index <= n.lastApplied {
			rr.req.done <- nil
		} else {
			keep = append(keep, rr)
		}
	}
	n.readyReads = keep
}

// expireReads forgets reads whose caller gave up (ReadIndex requests can be
// lost with the messages that carried them).
func (n *Node[R]) expireReads() {
	now := time.Now()
	for k, req := range n.reads {
		if now.After(req.deadline) {
			delete(n.reads, k)
		}
	}
}

// maybeSnapshot starts a snapshot once enough entries were applied since
// the last one.
func (n *Node[R]) maybeSnapshot() {
	st := n.raft.Status()
	due := st.Applied >= n.lastSnap.Index+n.cfg.SnapshotEntries || n.appliedBytes >= n.cfg.SnapshotBytes || n.unservable
	if n.snapping || st.Applied != n.lastApplied || st.Applied <= n.lastSnap.Index || !due {
		return
	}
	meta, err := n.raft.SnapshotMeta(st.Applied)
	if err != nil {
		n.log.Error("snapshot", "err", err)
		return
	}
	snap, err := n.sm.Snapshot()
	if err != nil {
		n.log.Error("snapshot", "err", err)
		return
	}
	if snap.Index() != meta.Index {
		snap.Close()
		n.log.Error("snapshot", "err", fmt.Errorf("state machine captured index %d, expected %d", snap.Index(), meta.Index))
		return
	}
	n.snapping, n.appliedBytes = true, 0
	if n.durable != nil {
		// Sync, so that the state survives without the log before meta;
		// the view is what a follower will get.
		n.bg.Go(func() {
			n.snapDone <- snapResult{meta: meta, view: snap, err: n.durable.Sync()}
		})
		return
	}
	n.bg.Go(func() {
		n.snapDone <- snapResult{meta: meta, err: n.writeSnapshot(meta, snap)}
	})
}

// writeSnapshot streams a captured state to its snapshot file (off the loop).
func (n *Node[R]) writeSnapshot(meta raft.SnapshotMeta, snap Snapshot) error {
	defer snap.Close()
	w, err := n.snaps.Create(meta.Index, meta.Term)
	if err != nil {
		return err
	}
	size, err := snap.WriteTo(w)
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	n.cfg.Metrics.snapshotFileWritten(size)
	return nil
}

// snapshotWritten records a finished snapshot in the WAL and compacts the
// log one snapshot behind.
func (n *Node[R]) snapshotWritten(r snapResult) {
	n.snapping = false
	if r.err != nil || r.meta.Index <= n.lastSnap.Index { // or a leader's snapshot overtook it
		if r.view != nil {
			r.view.Close()
		}
		if r.err != nil {
			n.log.Error("writing a snapshot", "index", r.meta.Index, "err", r.err)
		}
		return
	}
	if err := n.wal.SaveSnapshot(r.meta); err != nil {
		if r.view != nil {
			r.view.Close()
		}
		n.fail(fmt.Errorf("runner: WAL: %w", err))
		return
	}
	if r.view != nil {
		n.views.add(r.meta, r.view)
	}
	n.cfg.Metrics.snapshotTaken()
	n.prevSnap, n.lastSnap = n.lastSnap, r.meta
	if n.unservable {
		n.prevSnap, n.unservable = r.meta, false
	}
	n.views.dropBelow(n.prevSnap.Index)
	if keep := n.prevSnap.Index; keep > 0 {
		if err := n.raft.Compact(keep); err != nil {
			n.log.Error("compacting the log", "err", err)
		}
		if err := n.wal.Compact(keep); err != nil {
			n.log.Error("compacting the WAL", "err", err)
		}
		if err := n.snaps.Prune(keep); err != nil {
			n.log.Warn("removing old snapshots", "err", err)
		}
	}
	n.log.Debug("snapshot taken", "index", r.meta.Index, "compacted_to", n.prevSnap.Index)
}

// fail stops the node after an error it cannot survive (a failing disk).
func (n *Node[R]) fail(err error) {
	n.log.Error("node failed; stopping", "err", err)
	n.err.Store(&err)
	n.stopOnce.Do(func() { close(n.stopc) })
}

func (n *Node[R]) publishStatus() {
	st := n.raft.Status()
	n.status.Store(&st)
	n.cfg.Metrics.status(st)
}

// Process implements transport.Handler.
func (n *Node[R]) Process(m raft.Message) {
	select {
	case n.recvc <- m:
	case <-n.stopc:
	}
}

// ReportUnreachable implements transport.Handler. The core needs nothing:
// it keeps probing an unreachable peer with heartbeats.
func (n *Node[R]) ReportUnreachable(id uint64) {
	n.log.Debug("peer unreachable", "peer", id)
}

// ReportSnapshot implements transport.Handler.
func (n *Node[R]) ReportSnapshot(id uint64, ok bool) {
	n.do(func() { n.raft.ReportSnapshot(id, !ok) })
}

// do runs f on the loop, without waiting for it.
func (n *Node[R]) do(f func()) {
	select {
	case n.ctlc <- f:
	case <-n.stopc:
	}
}

// call runs f on the loop and waits for it.
func (n *Node[R]) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case n.ctlc <- func() { f(); close(done) }:
	case <-n.stopc:
		return n.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-n.done:
		return n.stoppedErr()
	}
}

func (n *Node[R]) stoppedErr() error {
	if p := n.err.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrStopped, *p)
	}
	return ErrStopped
}

// Propose replicates data and waits until it is applied on this node,
// returning the state machine's result. It fails at once with a
// *raft.NotLeaderError on a follower, and with ErrDropped if a new leader's
// entry took the slot.
func (n *Node[R]) Propose(ctx context.Context, data []byte) (R, error) {
	return n.submit(ctx, proposal[R]{data: data, done: make(chan propResult[R], 1)})
}

// ProposeConfChange proposes a configuration change and waits until it is
// applied on this node.
func (n *Node[R]) ProposeConfChange(ctx context.Context, cc raft.ConfChange) error {
	_, err := n.submit(ctx, proposal[R]{cc: &cc, done: make(chan propResult[R], 1)})
	return err
}

func (n *Node[R]) submit(ctx context.Context, p proposal[R]) (R, error) {
	var zero R
	select {
	case n.propc <- p:
	case <-n.stopc:
		return zero, n.stoppedErr()
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-n.done:
		return zero, n.stoppedErr()
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// ReadBarrier returns once this node's state machine reflects every write
// that completed before the call: the core confirms its leader's commit
// index with a quorum (ReadIndex), and the node waits until it has applied
// up to it. Reading the state machine after it is linearizable.
func (n *Node[R]) ReadBarrier(ctx context.Context) error {
	req := &readReq{done: make(chan error, 1), deadline: time.Now().Add(time.Minute)}
	if d, ok := ctx.Deadline(); ok {
		req.deadline = d
	}
	var err error
	if cerr := n.call(ctx, func() {
		n.readSeq++
		key := n.readPrefix + strconv.FormatUint(n.readSeq, 36)
		if err = n.raft.ReadIndex([]byte(key)); err == nil {
			n.reads[key] = req
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-n.done:
		return n.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TransferLeadership asks the leader (this node) to hand over to id, and
// waits until id leads or ctx ends.
func (n *Node[R]) TransferLeadership(ctx context.Context, id uint64) error {
	var err error
	if cerr := n.call(ctx, func() { err = n.raft.TransferLeadership(id) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	t := time.NewTicker(n.cfg.TickInterval)
	defer t.Stop()
	for n.Status().Lead != id {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return n.stoppedErr()
		}
	}
	return nil
}

// Status returns the core's status as of the end of the loop's last turn.
func (n *Node[R]) Status() raft.Status { return *n.status.Load() }

// Progress returns what the leader knows of peer id's log (false if this
// node does not lead or id is not a member).
func (n *Node[R]) Progress(id uint64) (raft.Progress, bool) {
	var pr raft.Progress
	ok := false
	_ = n.call(context.Background(), func() {
		if p := n.raft.Progress(id); p != nil && n.raft.Status().Role == raft.Leader {
			pr, ok = *p, true
		}
	})
	return pr, ok
}

// Done is closed when the loop has exited (Stop, or a fatal error).
func (n *Node[R]) Done() <-chan struct{} { return n.done }

// Err returns the error that stopped the node, if any.
func (n *Node[R]) Err() error {
	if p := n.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Stop stops the loop, closes the transport and closes the WAL (which
// syncs it). Proposals in flight fail with ErrStopped.
func (n *Node[R]) Stop() error {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.done
	var errs []error
	if err := n.tr.Close(); err != nil {
		errs = append(errs, err)
	}
	// Let a snapshot being written finish (it holds a view of the state
	// machine's engine, which the caller closes next); its result is
	// dropped, and the next start takes a new one.
	n.bg.Wait()
	select {
	case r := <-n.snapDone: // taken, but never recorded
		if r.view != nil {
			r.view.Close()
		}
	default:
	}
	n.views.closeAll()
	if err := n.wal.Close(); err != nil && !errors.Is(err, wal.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
