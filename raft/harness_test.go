package raft

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file is a tiny in-memory cluster for the tests of this package. It
// drives every peer exactly as a real node would (see ready.go):
//
//	persist HardState and Entries → send Messages → apply CommittedEntries → Advance
//
// all in one goroutine, with one FIFO queue of messages in flight. Nothing
// happens unless a test asks for it: tick, deliver, propose. A test shapes
// the network by dropping messages (drop, isolate) and by crashing and
// restarting peers.

// disk is one peer's stable storage: a record of every Ready it persisted,
// in order, like a write-ahead log.
type disk struct {
	records []record
}

type record struct {
	hs   HardState // empty when unchanged
	snap SnapshotMeta
	ents []Entry
}

// save appends one Ready's worth of persistence.
func (d *disk) save(hs HardState, ents []Entry) {
	if !hs.IsEmpty() || len(ents) > 0 {
		d.records = append(d.records, record{hs: hs, ents: slices.Clone(ents)})
	}
}

// saveSnapshot records a snapshot: the log before it is replaced.
func (d *disk) saveSnapshot(meta SnapshotMeta) {
	d.records = append(d.records, record{snap: meta})
}

// state replays the records, as a restarting peer reads its disk: the last
// hard state wins, and entries starting at index k first discard everything
// the log held from k on.
func (d *disk) state() PersistentState {
	var st PersistentState
	for _, rec := range d.records {
		if rec.snap.Index > 0 {
			st.Snapshot, st.Entries = rec.snap, nil
			st.HardState.Commit = max(st.HardState.Commit, rec.snap.Index)
		}
		if !rec.hs.IsEmpty() {
			st.HardState = rec.hs
		}
		if len(rec.ents) > 0 {
			st.Entries = append(st.Entries[:rec.ents[0].Index-1-st.Snapshot.Index], rec.ents...)
		}
	}
	return st
}

// network is a cluster of peers 1..n connected by a message queue.
type network struct {
	t     testing.TB
	ids   []uint64
	cfgs  map[uint64]Config
	peers map[uint64]*Raft // nil while crashed
	disks map[uint64]*disk
	// applied holds, per peer, every committed entry handed to its state
	// machine since it last (re)started or restored a snapshot, which ended
	// at base.
	applied map[uint64][]Entry
	base    map[uint64]uint64
	// reads holds, per peer, every ReadState it produced.
	reads map[uint64][]ReadState

	queue []Message              // sent, not yet delivered
	sent  []Message              // every message ever sent, for assertions
	drops []func(m Message) bool // a message is lost if any returns true
}

// newNetwork starts n fresh peers. Each option may adjust every peer's Config.
func newNetwork(t testing.TB, n int, opts ...func(*Config)) *network {
	t.Helper()
	nw := &network{
		t: t, cfgs: map[uint64]Config{}, peers: map[uint64]*Raft{},
		disks: map[uint64]*disk{}, applied: map[uint64][]Entry{},
		base: map[uint64]uint64{}, reads: map[uint64][]ReadState{},
	}
	for id := uint64(1); id <= uint64(n); id++ {
		nw.ids = append(nw.ids, id)
	}
	for _, id := range nw.ids {
		nw.cfgs[id] = testConfig(id, nw.ids, opts...)
		nw.disks[id] = &disk{}
		nw.start(id)
	}
	return nw
}

// testConfig is the configuration every test starts from: elections after
// 10–19 ticks, heartbeats every tick, randomness seeded by the peer's ID.
func testConfig(id uint64, peers []uint64, opts ...func(*Config)) Config {
	cfg := Config{
		ID: id, Peers: peers, ElectionTick: 10, HeartbeatTick: 1,
		Rand: rand.New(rand.NewPCG(1, id)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// Options for newNetwork and testConfig.
func withSeed(seed uint64) func(*Config) {
	return func(c *Config) { c.Rand = rand.New(rand.NewPCG(seed, c.ID)) }
}
func withPreVote(c *Config)     { c.PreVote = true }
func withCheckQuorum(c *Config) { c.CheckQuorum = true }
func withoutNoop(c *Config)     { c.DisableLeaderNoop = true }

// start (re)creates peer id from what its disk holds.
func (nw *network) start(id uint64) {
	nw.t.Helper()
	st := nw.disks[id].state()
	r, err := New(nw.cfgs[id], st)
	require.NoError(nw.t, err)
	nw.peers[id] = r
	nw.applied[id] = nil
	nw.base[id] = st.Snapshot.Index
}

// addPeer creates a new peer id (not in the first configuration) with an
// empty disk, the way an operator starts a server before adding it.
func (nw *network) addPeer(id uint64, opts ...func(*Config)) {
	nw.t.Helper()
	nw.ids = append(nw.ids, id)
	nw.cfgs[id] = testConfig(id, nw.cfgs[nw.ids[0]].Peers, opts...)
	nw.disks[id] = &disk{}
	nw.start(id)
}

// compact has peer id snapshot its applied state and compact its log.
func (nw *network) compact(id uint64) SnapshotMeta {
	nw.t.Helper()
	r := nw.peers[id]
	meta, err := r.SnapshotMeta(r.Status().Applied)
	require.NoError(nw.t, err)
	nw.disks[id].saveSnapshot(meta)
	require.NoError(nw.t, r.Compact(meta.Index))
	return meta
}

// handleReady runs the Ready contract once for peer id, if it has work.
func (nw *network) handleReady(id uint64) {
	nw.t.Helper()
	r := nw.peers[id]
	if r == nil || !r.HasReady() {
		return
	}
	rd := r.Ready()
	require.False(nw.t, rd.HardState.IsEmpty() && rd.Snapshot.IsEmpty() && len(rd.Entries) == 0 && len(rd.Messages) == 0 && len(rd.CommittedEntries) == 0 && len(rd.ReadStates) == 0,
		"peer %d: HasReady() is true but Ready() returned nothing to persist, send or apply", id)
	if !rd.Snapshot.IsEmpty() { // 1. persist
		nw.disks[id].saveSnapshot(rd.Snapshot.Meta)
	}
	nw.disks[id].save(rd.HardState, rd.Entries)
	nw.sent = append(nw.sent, rd.Messages...) // 2. send
	nw.queue = append(nw.queue, rd.Messages...)
	if !rd.Snapshot.IsEmpty() { // 3. apply, in order: the snapshot first
		nw.base[id], nw.applied[id] = rd.Snapshot.Meta.Index, nil
	}
	for _, e := range rd.CommittedEntries {
		require.Equal(nw.t, nw.base[id]+uint64(len(nw.applied[id]))+1, e.Index, "peer %d applies out of order", id)
		nw.applied[id] = append(nw.applied[id], e)
	}
	nw.reads[id] = append(nw.reads[id], rd.ReadStates...)
	r.Advance(rd) // 4. advance
}

// flush handles the pending Ready of every live peer.
func (nw *network) flush() {
	for _, id := range nw.ids {
		nw.handleReady(id)
	}
}

// tick advances the clock of the given peers (all live peers if none) by one
// tick, then flushes.
func (nw *network) tick(ids ...uint64) {
	if len(ids) == 0 {
		ids = nw.ids
	}
	for _, id := range ids {
		if r := nw.peers[id]; r != nil {
			r.Tick()
		}
	}
	nw.flush()
}

// tickN ticks the given peers (all if none) n times, delivering after each.
func (nw *network) tickN(n int, ids ...uint64) {
	for range n {
		nw.tick(ids...)
		nw.deliver()
	}
}

// deliver hands queued messages to their destinations, in the order they were
// sent, until the network is quiet. Messages to a crashed peer, or matching a
// drop rule, are lost.
func (nw *network) deliver() {
	nw.t.Helper()
	for steps := 0; len(nw.queue) > 0; steps++ {
		require.Less(nw.t, steps, 1_000_000, "network never went quiet")
		m := nw.queue[0]
		nw.queue = nw.queue[1:]
		if nw.dropped(m) || nw.peers[m.To] == nil {
			continue
		}
		nw.peers[m.To].Step(m)
		nw.handleReady(m.To)
	}
}

// send injects a hand-made message, as if it had been sent by m.From, and
// delivers everything.
func (nw *network) send(m Message) {
	nw.queue = append(nw.queue, m)
	nw.deliver()
}

func (nw *network) dropped(m Message) bool {
	for _, drop := range nw.drops {
		if drop(m) {
			return true
		}
	}
	return false
}

// drop loses every message for which pred returns true, until heal.
func (nw *network) drop(pred func(m Message) bool) { nw.drops = append(nw.drops, pred) }

// isolate cuts peer id off from everyone, in both directions, until heal.
func (nw *network) isolate(id uint64) {
	nw.drop(func(m Message) bool { return m.From == id || m.To == id })
}

// heal removes every drop rule.
func (nw *network) heal() { nw.drops = nil }

// crash stops peer id. What it had persisted stays on its disk.
func (nw *network) crash(id uint64) { nw.peers[id] = nil }

// load replaces peer id's disk with st and restarts it: the way a test sets up
// a history that would take many steps to produce.
func (nw *network) load(id uint64, st PersistentState) {
	nw.disks[id] = &disk{}
	nw.disks[id].save(st.HardState, st.Entries)
	nw.restart(id)
}

// restart brings a crashed peer back from its disk.
func (nw *network) restart(id uint64) {
	nw.start(id)
	nw.flush()
}

// timeout ticks peer id alone until its election timer fires and it starts a
// (pre-)campaign. Nothing is delivered yet.
func (nw *network) timeout(id uint64) {
	nw.t.Helper()
	r := nw.peers[id]
	start := r.Status()
	until(nw.t, func() bool { return r.Status().Role != start.Role || r.Status().Term != start.Term },
		func() { nw.tick(id) })
}

// campaign makes peer id start an election, then delivers: a deterministic
// way to pick who campaigns next.
func (nw *network) campaign(id uint64) {
	nw.t.Helper()
	nw.timeout(id)
	nw.deliver()
}

// elect makes peer id the leader and lets the cluster settle.
func (nw *network) elect(id uint64) {
	nw.t.Helper()
	nw.campaign(id)
	requireRole(nw.t, Leader, nw.peers[id].Status().Role, "peer %d did not win", id)
}

// propose has leader id propose each of data, then delivers.
func (nw *network) propose(id uint64, data ...string) {
	nw.t.Helper()
	for _, d := range data {
		_, _, err := nw.peers[id].Propose([]byte(d))
		require.NoError(nw.t, err)
	}
	nw.flush()
	nw.deliver()
}

// status returns peer id's Status.
func (nw *network) status(id uint64) Status { return nw.peers[id].Status() }

// sentSince returns the messages matching pred among those sent after the
// first n. Take n := len(nw.sent) before an action to see what it sent.
func (nw *network) sentSince(n int, pred func(m Message) bool) []Message {
	var out []Message
	for _, m := range nw.sent[n:] {
		if pred(m) {
			out = append(out, m)
		}
	}
	return out
}

// until calls step until done returns true. It fails the test after 1000
// steps: a bug should make a test fail, not hang.
func until(t testing.TB, done func() bool, step func()) {
	t.Helper()
	for i := 0; !done(); i++ {
		require.Less(t, i, 1000, "gave up waiting")
		step()
	}
}

// requireRole is require.Equal for roles, printing their names.
func requireRole(t testing.TB, want, got Role, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.String(), got.String(), msgAndArgs...)
}

// --- Helpers for tests that drive a single peer by hand. ---

// entries builds a log whose i-th entry (index i+1) has term terms[i].
func entries(terms ...uint64) []Entry {
	ents := make([]Entry, len(terms))
	for i, t := range terms {
		ents[i] = Entry{Term: t, Index: uint64(i) + 1}
	}
	return ents
}

// newPeer starts peer id of the cluster peers from the given disk contents.
func newPeer(t testing.TB, id uint64, peers []uint64, st PersistentState, opts ...func(*Config)) *Raft {
	t.Helper()
	r, err := New(testConfig(id, peers, opts...), st)
	require.NoError(t, err)
	return r
}

// drain runs the Ready contract on r without a disk and returns the messages
// it would send.
func drain(t testing.TB, r *Raft) []Message {
	t.Helper()
	var msgs []Message
	until(t, func() bool { return !r.HasReady() }, func() {
		rd := r.Ready()
		require.False(t, rd.HardState.IsEmpty() && rd.Snapshot.IsEmpty() && len(rd.Entries) == 0 && len(rd.Messages) == 0 && len(rd.CommittedEntries) == 0 && len(rd.ReadStates) == 0,
			"HasReady() is true but Ready() returned nothing to persist, send or apply")
		msgs = append(msgs, rd.Messages...)
		r.Advance(rd)
	})
	return msgs
}

// logTerms returns the terms of r's whole log, index 1 first.
func logTerms(r *Raft) []uint64 {
	var terms []uint64
	for _, e := range r.Entries(1, r.Status().LastIndex+1) {
		terms = append(terms, e.Term)
	}
	return terms
}

// TestHarness_ElectsAndReplicates checks the harness itself: a leader is
// elected, commits a proposal everywhere, and a restarted peer finds its log.
func TestHarness_ElectsAndReplicates(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a", "b")
	nw.tickN(2) // heartbeats carry the commit index to the followers
	for _, id := range nw.ids {
		require.Equal(t, uint64(3), nw.status(id).Commit, "peer %d", id)
		require.Len(t, nw.applied[id], 3, "peer %d", id)
		require.Equal(t, "b", string(nw.applied[id][2].Data))
	}
	nw.crash(2)
	nw.restart(2)
	require.Equal(t, []uint64{1, 1, 1}, logTerms(nw.peers[2]))
	require.Len(t, nw.applied[2], 3, "a restarted peer re-applies its committed log")
}
