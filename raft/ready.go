package raft

// Ready is a batch of work for the caller, produced by everything Tick, Step
// and Propose did since the last Advance. Handle it in this order:
//
//  1. Persist HardState (if not empty) and Entries — atomically, and with an
//     fsync when MustSync. Entries[0].Index says where they start: any entry
//     already on disk at or after that index must be discarded first.
//  2. Send Messages. Only now: a vote or an acknowledgement promises that
//     something is on disk, and it must be true before anyone hears it.
//  3. Apply CommittedEntries to the state machine, in order.
//  4. Call Advance.
type Ready struct {
	HardState HardState // zero when unchanged since the last Ready
	// Snapshot, when not empty, is a leader's snapshot this peer installed:
	// persist it (it replaces the whole log before it) and restore the state
	// machine from it before applying CommittedEntries.
	Snapshot Snapshot
	Entries  []Entry
	// ReadStates are confirmed linearizable reads (read.go): serve each once
	// the state machine has applied its Index.
	ReadStates       []ReadState
	Messages         []Message
	CommittedEntries []Entry
	MustSync         bool
}

// HasReady reports whether a call to Ready would return any work.
func (r *Raft) HasReady() bool {
	return r.hardState() != r.prevHardState ||
		r.pendingSnapshot != nil ||
		len(r.msgs) > 0 || len(r.readStates) > 0 ||
		r.log.stable < r.log.lastIndex() ||
		r.log.applied < r.log.committed
}

func (r *Raft) hardState() HardState {
	return HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed}
}

// Ready returns the pending batch of work. Ready must not be called again
// until Advance was called with this batch. Tick, Step and Propose may be
// called in between (say, while the disk is busy): their effects wait for the
// next Ready, so nothing they produce is sent before it is persisted.
func (r *Raft) Ready() Ready {
	rd := Ready{Messages: r.msgs, CommittedEntries: r.log.toApply(), ReadStates: r.readStates}
	r.msgs, r.readStates = nil, nil
	r.persistence(&rd)
	if r.pendingSnapshot != nil {
		rd.Snapshot = *r.pendingSnapshot
		rd.MustSync = true
		r.pendingSnapshot = nil
	}
	return rd
}

// persistence fills in what rd must put on disk before its messages leave.
func (r *Raft) persistence(rd *Ready) {
	// LAB 3 BEGIN: say what must reach the disk before any message is sent
	// STUB: return
	if hs := r.hardState(); hs != r.prevHardState {
		rd.HardState = hs
		// A changed term or vote must be durable: forgetting a vote could let
		// us vote twice in one term. A changed commit index alone need not be.
		rd.MustSync = hs.Term != r.prevHardState.Term || hs.Vote != r.prevHardState.Vote
	}
	rd.Entries = r.log.unstable()
	if len(rd.Entries) > 0 {
		rd.MustSync = true
	}
	// LAB 3 END
}

// Advance tells the peer that rd was persisted, sent and applied.
func (r *Raft) Advance(rd Ready) {
	if !rd.HardState.IsEmpty() {
		r.prevHardState = rd.HardState
	}
	if n := len(rd.Entries); n > 0 {
		last := rd.Entries[n-1]
		r.log.stableTo(last.Index, last.Term)
	}
	// (An installed snapshot moved stable and applied when it was installed.)
	if n := len(rd.CommittedEntries); n > 0 {
		r.log.appliedTo(rd.CommittedEntries[n-1].Index)
	}
}
