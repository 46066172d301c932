package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// node is one simulated server: a raft core, its disk, and the replicated
// state machine, glued together by the same loop a real server runs:
// feed inputs, take a Ready, persist, (wait for fsync), send, apply, Advance.
type node struct {
	s    *Sim
	id   uint64
	up   bool
	gen  uint64 // incarnation: bumped at every crash so stale events are skipped
	raft *raft.Raft
	disk disk
	sm   stateMachine
	// engine is the durable KV engine, when the simulation models one: it
	// outlives crashes (keeping what it had synced), as a real data dir does.
	engine *simEngine

	// Inputs that arrived while a Ready was being persisted wait here: the
	// core must not be stepped between Ready and Advance.
	inbox   []raft.Message
	ticks   int
	syncing bool
	ready   raft.Ready

	// snap is the latest snapshot this node holds (taken or installed); it
	// is what the node sends when its core asks for a MsgSnap.
	snap raft.Snapshot

	tickEvery time.Duration // TickInterval scaled by this node's clock skew
	lastRole  raft.Role
	lastTerm  uint64
	applied   uint64

	// waiters are client operations proposed on this node, by log index.
	waiters map[uint64][]waiter
	// reads wait for their ReadState (by request context), then in
	// readsReady for the state machine to reach the read index.
	reads      map[string]waiter
	readsReady []readyRead
	// started is set once the node ran: the heal phase restarts only nodes
	// that were running before.
	started bool
}

type readyRead struct {
	index uint64
	w     waiter
}

func (s *Sim) newNode(id uint64) *node {
	return &node{s: s, id: id, tickEvery: s.opts.TickInterval, waiters: map[uint64][]waiter{}, reads: map[string]waiter{}}
}

// start boots the node from whatever its disk holds.
func (n *node) start() error {
	st, snap, err := loadState(n.disk.recover())
	if err != nil {
		return fmt.Errorf("node %d: recovery: %w", n.id, err)
	}
	cfg := n.s.opts.Raft
	cfg.ID, cfg.Peers = n.id, n.s.initial
	// Each incarnation of each node draws from its own stream of the seed.
	cfg.Rand = rand.New(rand.NewPCG(n.s.seed, n.id<<32|n.gen))
	r, err := raft.New(cfg, st)
	if err != nil {
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	n.raft, n.up, n.syncing, n.started = r, true, false, true
	n.inbox, n.ticks = nil, 0
	if n.sm, err = n.s.work.openStateMachine(n); err != nil {
		return err
	}
	n.applied = n.sm.applied()
	n.snap = snap
	switch {
	case !snap.IsEmpty() && snap.Meta.Index > n.applied:
		// Restart from the snapshot, then apply what the log holds after it.
		if err := n.restoreSnapshot(snap); err != nil {
			return err
		}
	case n.applied > 0:
		// A durable engine kept its state: it must be the state every node
		// reached at that index. Raft will hand over committed entries from
		// its snapshot on; those the engine already holds are skipped.
		if err := n.s.recordState(n, n.applied); err != nil {
			return err
		}
	}
	st2 := r.Status()
	n.lastRole, n.lastTerm = st2.Role, st2.Term
	n.s.trace.state(n.s.now, n.id, st2, "start")
	if len(n.s.net.blocked)+len(n.s.net.disconnected) > 0 {
		n.s.trace.network(n.s.now, n.s.net, n.s.startedIDs()) // links of a node that just joined
	}
	n.scheduleTick()
	return nil
}

func (n *node) scheduleTick() {
	n.s.scheduleNode(n.tickEvery, evTick, n, func() {
		n.ticks++
		n.process()
		if t, ok := n.s.work.(interface{ onTick(*node) }); ok && n.up {
			t.onTick(n)
		}
		n.scheduleTick()
	})
}

// crash stops the node at once: in-flight work is lost, and so is whatever
// its disk had not made durable.
func (n *node) crash() {
	if !n.up {
		return
	}
	n.up = false
	n.gen++
	n.disk.crash(n.s.rng, n.s.opts.TearWrites)
	n.sm.crash()
	n.raft, n.sm = nil, nil
	n.inbox, n.ticks, n.syncing = nil, 0, false
	clear(n.waiters)
	clear(n.reads)
	n.readsReady = nil
	n.s.trace.crash(n.s.now, n.id)
}

// process runs the node's loop as far as it can without waiting on the disk.
func (n *node) process() {
	for n.up && !n.syncing && n.s.violation == nil {
		if len(n.inbox) == 0 && n.ticks == 0 && !n.raft.HasReady() {
			return
		}
		for ; n.ticks > 0; n.ticks-- {
			n.raft.Tick()
		}
		inbox := n.inbox
		n.inbox = nil
		for _, m := range inbox {
			n.raft.Step(m)
		}
		n.s.observe(n)
		if !n.raft.HasReady() {
			continue
		}
		rd := n.raft.Ready()
		if rd.HardState.IsEmpty() && rd.Snapshot.IsEmpty() && len(rd.Entries) == 0 && len(rd.Messages) == 0 && len(rd.CommittedEntries) == 0 && len(rd.ReadStates) == 0 {
			// The core says it has work but hands over none: looping on it
			// would spin forever without virtual time moving.
			n.s.fail(fmt.Errorf("ready contract: node %d: HasReady() is true but Ready() returned nothing to persist, send or apply", n.id))
			return
		}
		n.handleReady(rd)
	}
}

// handleReady persists a Ready. With an fsync to wait for, the rest of the
// work (send, apply, Advance) happens when the simulated fsync completes.
func (n *node) handleReady(rd raft.Ready) {
	if !rd.Snapshot.IsEmpty() {
		// A leader's snapshot replaces the whole log: rewrite the disk.
		st, _, _ := loadState(n.disk.recover())
		hs := rd.HardState
		if hs.IsEmpty() {
			hs = st.HardState
		}
		if err := n.s.checkPersist(n, rd.Entries); err != nil {
			n.s.fail(err)
			return
		}
		n.disk.rewrite(rd.Snapshot, hs, rd.Entries)
		n.snap = rd.Snapshot
		n.s.checkDiskSize(n)
	} else if s := n.s; len(rd.Entries) > 0 || !rd.HardState.IsEmpty() {
		if err := s.checkPersist(n, rd.Entries); err != nil {
			s.fail(err)
			return
		}
		n.disk.write(encodeRecord(rd.HardState, rd.Entries))
		s.checkDiskSize(n)
	}
	if !rd.MustSync {
		n.finishReady(rd)
		return
	}
	n.syncing = true
	n.ready = rd
	if n.s.opts.SendBeforeSync {
		// A deliberately broken node, for teaching: it promises (votes,
		// acknowledges) before its promise is on disk.
		n.sendAll(rd.Messages)
		n.ready.Messages = nil
	}
	lat := n.s.opts.FsyncLatency
	n.s.scheduleNode(lat/2+time.Duration(n.s.rng.Int64N(int64(lat)+1)), evSyncDone, n, func() {
		n.disk.sync()
		rd := n.ready
		n.ready = raft.Ready{}
		n.syncing = false
		n.finishReady(rd)
		n.process()
	})
}

func (n *node) sendAll(msgs []raft.Message) {
	for _, m := range msgs {
		if m.Type == raft.MsgSnap {
			// The core names the snapshot; the node attaches its bytes, as a
			// real node streams its snapshot file. A message the core queued
			// before the node compacted again (the core may be stepped while
			// a Ready waits for its fsync) names an older snapshot: the node
			// sends the one it holds now, and the follower's answer tells
			// the leader how far it got.
			want, got := n.snap.Meta, m.Snapshot.Meta
			if got.Index < want.Index {
				got = want
			}
			if got.Index != want.Index || got.Term != want.Term ||
				!slices.Equal(got.Conf.Voters, want.Conf.Voters) || !slices.Equal(got.Conf.Learners, want.Conf.Learners) {
				n.s.fail(fmt.Errorf("node %d: core sent snapshot %+v, but the node holds snapshot %+v", n.id, got, want))
				return
			}
			snap := n.snap
			m.Snapshot = &snap
		}
		n.s.send(m)
	}
}

func (n *node) finishReady(rd raft.Ready) {
	n.sendAll(rd.Messages)
	if !rd.Snapshot.IsEmpty() {
		if err := n.restoreSnapshot(rd.Snapshot); err != nil {
			n.s.fail(err)
			return
		}
		n.s.stats.Installs++
	}
	if err := n.apply(rd.CommittedEntries); err != nil {
		n.s.fail(err)
		return
	}
	for _, rs := range rd.ReadStates {
		if w, ok := n.reads[string(rs.RequestCtx)]; ok {
			delete(n.reads, string(rs.RequestCtx))
			n.readsReady = append(n.readsReady, readyRead{index: rs.Index, w: w})
		}
	}
	n.serveReads()
	n.raft.Advance(rd)
	n.maybeCompact()
}

// serveReads answers the confirmed reads whose index the state machine has
// reached.
func (n *node) serveReads() {
	keep := n.readsReady[:0]
	for _, rr := range n.readsReady {
		if rr.index <= n.applied {
			n.s.serveRead(rr.w, n.sm)
		} else {
			keep = append(keep, rr)
		}
	}
	n.readsReady = keep
}

// restoreSnapshot replaces the state machine with a snapshot's state.
func (n *node) restoreSnapshot(snap raft.Snapshot) error {
	if err := n.sm.restore(snap.Data); err != nil {
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	if got := n.sm.applied(); got != snap.Meta.Index {
		return fmt.Errorf("node %d: snapshot at index %d restored a state machine at index %d", n.id, snap.Meta.Index, got)
	}
	if err := n.s.checkSnapshot(n, snap.Meta.Index); err != nil {
		return err
	}
	n.applied = snap.Meta.Index
	// Client operations waiting on entries the snapshot covers will never
	// see them applied here; their clients time out.
	for idx := range n.waiters {
		if idx <= snap.Meta.Index {
			delete(n.waiters, idx)
		}
	}
	return nil
}

// maybeCompact takes a snapshot once the disk holds more than
// Options.SnapshotBytes, and drops the log entries it covers.
func (n *node) maybeCompact() {
	limit := n.s.opts.SnapshotBytes
	st := n.raft.Status()
	// Only the log counts: a state machine larger than the limit must not
	// make every Ready rewrite the disk.
	// (A durable engine may be ahead of the core after a restart: wait
	// until the core has caught up, so that data and index agree.)
	if limit <= 0 || len(n.disk.data)-n.disk.snapBytes < limit || st.Applied < st.FirstIndex || st.Applied != n.applied {
		return
	}
	meta, err := n.raft.SnapshotMeta(st.Applied)
	if err != nil {
		n.s.fail(fmt.Errorf("node %d: %w", n.id, err))
		return
	}
	data, err := n.sm.snapshot()
	if err != nil {
		n.s.fail(fmt.Errorf("node %d: %w", n.id, err))
		return
	}
	snap := raft.Snapshot{Meta: meta, Data: data}
	disk, _, err := loadState(n.disk.recover())
	if err != nil {
		n.s.fail(fmt.Errorf("node %d: %w", n.id, err))
		return
	}
	var rest []raft.Entry
	for _, e := range disk.Entries {
		if e.Index > meta.Index {
			rest = append(rest, e)
		}
	}
	n.disk.rewrite(snap, disk.HardState, rest)
	n.snap = snap
	if err := n.raft.Compact(meta.Index); err != nil {
		n.s.fail(fmt.Errorf("node %d: %w", n.id, err))
	}
	n.s.stats.Snapshots++
}

// apply hands committed entries to the state machine, in one batch as a
// real node does, and answers the clients waiting for them.
func (n *node) apply(entries []raft.Entry) error {
	var batch []raft.Entry
	for _, e := range entries {
		if e.Index <= n.applied {
			continue // a durable engine already holds it
		}
		if e.Index != n.applied+1 {
			return fmt.Errorf("state machine safety: node %d applied index %d after %d (gap or reorder)", n.id, e.Index, n.applied)
		}
		n.applied = e.Index
		if err := n.s.checkApply(n, e); err != nil {
			return err
		}
		batch = append(batch, e)
	}
	if len(batch) == 0 {
		return nil
	}
	results, err := n.sm.apply(batch)
	if err != nil {
		return fmt.Errorf("node %d: apply: %w", n.id, err)
	}
	if err := n.s.recordState(n, n.applied); err != nil {
		return err
	}
	for i, e := range batch {
		for _, w := range n.waiters[e.Index] {
			n.s.resolve(w, e, results[i])
		}
		delete(n.waiters, e.Index)
	}
	return nil
}
