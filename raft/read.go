package raft

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Linearizable reads without writing to the log (thesis §6.4).
//
// A leader cannot simply answer a read from its state machine: a newer
// leader may exist that it has not heard of, and its state may be stale.
// ReadIndex makes the read safe in three steps:
//
//  1. the leader notes its commit index as the read index (it must have
//     committed an entry of its own term first, so that the commit index is
//     at least as high as any earlier leader's);
//  2. it confirms it is still the leader: a round of heartbeats carrying the
//     request's context, acknowledged by a quorum;
//  3. the state machine waits until it has applied up to the read index, and
//     serves the read.
//
// Steps 1-2 happen here and end in a ReadState in Ready.ReadStates; step 3
// is the application's. A follower forwards the request to its leader and
// gets the read index back, then waits for its own state machine: reads are
// spread over the cluster and still linearizable.
//
// With Config.LeaseReads the leader skips step 2 while it holds a lease.
// Every heartbeat carries the leader's tick count when it was sent, and each
// answer echoes it. A follower that got a heartbeat refuses to help elect
// anyone else for an election timeout (CheckQuorum's inLease, PreVote's
// heardFromLeader), so once a quorum has answered a heartbeat sent at tick S,
// no other leader can exist before S + ElectionTick — counted on the
// followers' clocks. The leader trusts its lease until
// S + ElectionTick - leaseMargin on its own clock. That is only true if
// clocks tick at nearly the same rate everywhere: a leader whose clock runs
// slow believes in its lease too long and serves stale reads (the simulator
// shows it: minikv sim --lease-reads --faults skew). A leader that started a
// transfer stops trusting its lease for the rest of its term: the target's
// election bypasses the followers' leases.

// ReadState is a confirmed read: once the state machine has applied Index, a
// read for the request identified by RequestCtx is linearizable there.
type ReadState struct {
	Index      uint64
	RequestCtx []byte
}

// ErrNoLeader is returned for a read when no leader is known to forward it to.
var ErrNoLeader = errors.New("raft: no leader known")

// readRequest is a read the leader is confirming.
type readRequest struct {
	ctx []byte // the caller's id for the read, handed back in its ReadState
	// round is the leader's own id for the read, carried by the heartbeats
	// that confirm it: unique for this leader, whatever ids callers chose,
	// so a late answer to an older round can never confirm a newer read.
	round []byte
	from  uint64 // the peer that asked (the leader itself, or a follower)
	index uint64 // the commit index when the request arrived
	acks  map[uint64]bool
}

// ReadIndex asks for a linearizable read. ctx identifies the request to the
// caller, which finds it again in a ReadState: it must be unique among this
// node's pending reads. (The leader confirms reads under ids of its own, so
// ids chosen by different nodes may collide harmlessly.) The answer arrives as a ReadState in a later Ready; if leadership changes
// first, it never does, and the caller retries after a timeout.
func (r *Raft) ReadIndex(ctx []byte) error {
	switch {
	case r.role == Leader:
		r.handleReadIndex(Message{From: r.id, Context: ctx})
	case r.lead == None:
		return ErrNoLeader
	default:
		r.send(Message{To: r.lead, Type: MsgReadIndex, Context: ctx})
	}
	return nil
}

// handleReadIndex starts confirming a read on the leader.
func (r *Raft) handleReadIndex(m Message) {
	// LAB 5 BEGIN: confirm leadership before answering a read (ReadIndex)
	// STUB: r.answerRead(m.From, r.log.committed, m.Context)
	if t, _ := r.log.term(r.log.committed); t != r.term {
		// Until an entry of our term is committed, our commit index may be
		// behind an earlier leader's: hold the read until it is.
		r.readsWaiting = append(r.readsWaiting, m)
		return
	}
	if len(r.voters) == 1 && r.isVoter(r.id) || r.cfg.LeaseReads && r.leaseValid() {
		r.answerRead(m.From, r.log.committed, m.Context)
		return
	}
	r.readRounds++
	rr := &readRequest{
		ctx: m.Context, round: binary.BigEndian.AppendUint64(nil, r.readRounds),
		from: m.From, index: r.log.committed, acks: map[uint64]bool{r.id: true},
	}
	r.readsPending = append(r.readsPending, rr)
	// Confirm leadership now rather than at the next heartbeat.
	r.bcastHeartbeatWithContext(rr.round)
	// LAB 5 END
}

// releaseWaitingReads starts the reads held until the leader's first commit
// in its term.
func (r *Raft) releaseWaitingReads() {
	if len(r.readsWaiting) == 0 {
		return
	}
	if t, _ := r.log.term(r.log.committed); t != r.term {
		return
	}
	waiting := r.readsWaiting
	r.readsWaiting = nil
	for _, m := range waiting {
		r.handleReadIndex(m)
	}
}

// ackRead records a heartbeat answer carrying a read's round. A quorum of
// answers confirms that read and every read queued before it: their
// heartbeats went out earlier, so the same quorum vouches for them too.
func (r *Raft) ackRead(from uint64, round []byte) {
	i := slices.IndexFunc(r.readsPending, func(rr *readRequest) bool { return string(rr.round) == string(round) })
	if i < 0 {
		return
	}
	rr := r.readsPending[i]
	rr.acks[from] = true
	n := 0
	for _, id := range r.voters {
		if rr.acks[id] {
			n++
		}
	}
	if n < r.quorum() {
		return
	}
	done := r.readsPending[:i+1]
	r.readsPending = slices.Clone(r.readsPending[i+1:])
	for _, rr := range done {
		r.answerRead(rr.from, rr.index, rr.ctx)
	}
}

// answerRead hands a confirmed read index to whoever asked.
func (r *Raft) answerRead(to, index uint64, ctx []byte) {
	if to == r.id {
		r.readStates = append(r.readStates, ReadState{Index: index, RequestCtx: ctx})
		return
	}
	r.send(Message{To: to, Type: MsgReadIndexResp, Index: index, Context: ctx})
}

// bcastHeartbeatWithContext sends a heartbeat carrying ctx to every peer.
func (r *Raft) bcastHeartbeatWithContext(ctx []byte) {
	for _, id := range r.peers() {
		if id == r.id {
			continue
		}
		r.send(Message{To: id, Type: MsgHeartbeat, Commit: min(r.prs[id].Match, r.log.committed), Context: ctx, Index: r.ticks})
	}
}

// leaseMargin is how many ticks before the followers' leases end the leader
// stops trusting its own: one for the phase between peers' tick boundaries,
// one for the follower that counts the tick of arrival, and a tenth of the
// election timeout for clock drift.
func (r *Raft) leaseMargin() uint64 { return 2 + uint64(r.cfg.ElectionTick/10) }

// leaseValid reports whether the leader may serve a read without a round of
// heartbeats (see the comment at the top of this file).
func (r *Raft) leaseValid() bool {
	if !r.cfg.CheckQuorum || r.transferredThisTerm || !r.isVoter(r.id) {
		return false
	}
	sent := make([]uint64, 0, len(r.voters))
	for _, id := range r.voters {
		if id == r.id {
			sent = append(sent, r.ticks)
		} else {
			sent = append(sent, r.prs[id].leaseTick)
		}
	}
	slices.Sort(sent)
	// The newest heartbeat round a quorum has answered was sent at:
	acked := sent[len(sent)-r.quorum()]
	return acked > 0 && r.ticks+r.leaseMargin() < acked+uint64(r.cfg.ElectionTick)
}
