package raft

import "fmt"

// ProgressState is how the leader currently replicates to one follower.
type ProgressState uint8

const (
	// StateProbe: the leader does not know where the follower's log matches
	// its own. It sends one append at a time and waits for the answer (or the
	// next heartbeat response) before trying again.
	StateProbe ProgressState = iota
	// StateReplicate: the follower is known to match up to Match. The leader
	// streams appends optimistically, up to MaxInflightMsgs unacknowledged.
	StateReplicate
	// StateSnapshot: the follower needs entries the leader compacted away; a
	// snapshot is on its way and appends wait until it is acknowledged.
	StateSnapshot
)

func (s ProgressState) String() string {
	switch s {
	case StateProbe:
		return "Probe"
	case StateReplicate:
		return "Replicate"
	}
	return "Snapshot"
}

// Progress is the leader's view of one peer (thesis §3.5, etcd's "progress").
type Progress struct {
	// Match is the highest index known to be replicated on the peer.
	Match uint64
	// Next is the index of the next entry to send.
	Next  uint64
	State ProgressState
	// ProbeSent is set in StateProbe while an append is outstanding.
	ProbeSent bool
	// RecentActive is set whenever the peer answers; CheckQuorum clears it
	// every election timeout.
	RecentActive bool
	// PendingSnapshot is the index of the snapshot sent in StateSnapshot.
	PendingSnapshot uint64
	// leaseTick is the leader's tick count when it sent the newest heartbeat
	// this peer answered (read.go's lease).
	leaseTick uint64
	// snapshotWait counts heartbeat answers while in StateSnapshot: if the
	// snapshot or its acknowledgement was lost, the leader probes again.
	snapshotWait int

	inflights inflights
}

func newProgress(next uint64, maxInflight int) *Progress {
	return &Progress{Next: next, inflights: inflights{buf: make([]uint64, maxInflight)}}
}

func (p *Progress) String() string {
	return fmt.Sprintf("%s match=%d next=%d inflight=%d", p.State, p.Match, p.Next, p.inflights.count)
}

// isPaused reports whether the leader should hold back appends to this peer.
func (p *Progress) isPaused() bool {
	switch p.State {
	case StateProbe:
		return p.ProbeSent
	case StateSnapshot:
		return true
	}
	return p.inflights.full()
}

func (p *Progress) becomeSnapshot(index uint64) {
	p.State = StateSnapshot
	p.PendingSnapshot = index
	p.snapshotWait = 0
	p.inflights.reset()
}

func (p *Progress) becomeProbe() {
	p.State = StateProbe
	p.ProbeSent = false
	p.Next = p.Match + 1
	p.PendingSnapshot = 0
	p.inflights.reset()
}

func (p *Progress) becomeReplicate() {
	p.State = StateReplicate
	p.ProbeSent = false
	p.Next = p.Match + 1
	p.PendingSnapshot = 0
	p.inflights.reset()
}

// sentEntries records an append carrying entries up to last.
func (p *Progress) sentEntries(last uint64) {
	switch p.State {
	case StateReplicate:
		p.Next = last + 1
		p.inflights.add(last)
	case StateProbe:
		p.ProbeSent = true
	}
}

// maybeUpdate records an acknowledgement up to index n. It returns false if the
// acknowledgement is stale (tells nothing new).
func (p *Progress) maybeUpdate(n uint64) bool {
	updated := false
	if n > p.Match {
		p.Match = n
		p.ProbeSent = false
		updated = true
	}
	p.Next = max(p.Next, n+1)
	return updated
}

// maybeBackUp handles a rejection of the append whose previous index was
// rejected; retryAt is where the leader thinks matching may resume. It returns
// false for a stale rejection that must be ignored.
func (p *Progress) maybeBackUp(rejected, retryAt uint64) bool {
	// LAB 2 BEGIN: move Next back after a rejection, ignoring stale ones
	// STUB: return false
	switch {
	case p.State == StateSnapshot:
		// Whatever append this answers, the snapshot on its way decides.
		return false
	case p.State == StateReplicate:
		// Everything up to Match is known to match: a rejection at or below it
		// answers an old, reordered append.
		if rejected <= p.Match {
			return false
		}
	case rejected != p.Next-1:
		// In probe we only ever have one append out; answers to others are old.
		return false
	}
	p.becomeProbe()
	p.Next = max(p.Match+1, min(rejected, retryAt))
	return true
	// LAB 2 END
}

// inflights is a ring buffer of the last indices of unacknowledged appends.
type inflights struct {
	buf   []uint64
	start int
	count int
}

func (in *inflights) full() bool { return in.count == len(in.buf) }

func (in *inflights) add(last uint64) {
	if in.full() {
		panic("raft: inflights overflow")
	}
	in.buf[(in.start+in.count)%len(in.buf)] = last
	in.count++
}

// freeLE drops every inflight append whose last index is ≤ to.
func (in *inflights) freeLE(to uint64) {
	for in.count > 0 && in.buf[in.start] <= to {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

// freeFirst drops the oldest inflight append (used when a heartbeat answer
// shows the peer is alive though an append went unanswered).
func (in *inflights) freeFirst() {
	if in.count > 0 {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

func (in *inflights) reset() { in.start, in.count = 0, 0 }
