package raft

import (
	"errors"
	"fmt"
)

// Leadership transfer (thesis §3.10).
//
// To hand leadership to another voter — before taking the leader down for
// maintenance, say — the leader stops accepting proposals, brings the
// target's log fully up to date, and sends it MsgTimeoutNow: "start an
// election now". The target campaigns at once, without a pre-vote, and its
// vote requests say they come from a transfer, so voters that recently
// heard from the leader grant them anyway. Its log is complete, so it wins
// unless something fails; if no new leader emerges within an election
// timeout, the old leader gives up and accepts proposals again.

// ErrTransferInProgress is returned for proposals during a leadership
// transfer.
var ErrTransferInProgress = errors.New("raft: leadership transfer in progress")

// campaignTransfer marks the vote requests of a transfer's election.
const campaignTransfer = "transfer"

// TransferLeadership asks the leader to hand leadership to voter to.
func (r *Raft) TransferLeadership(to uint64) error {
	if r.role != Leader {
		return &NotLeaderError{Leader: r.lead}
	}
	if to == r.id {
		return nil
	}
	if !r.isVoter(to) {
		return fmt.Errorf("raft: transfer leadership: %d is not a voter", to)
	}
	// LAB 5 BEGIN: start a transfer: catch the target up, then tell it to campaign
	// STUB: return errors.New("lab 5: leadership transfer not implemented")
	r.leadTransferee = to
	r.transferElapsed = 0
	r.timeoutNowSent = false
	if pr := r.prs[to]; pr.Match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
	} else {
		r.sendAppend(to, true)
	}
	return nil
	// LAB 5 END
}

// sendTimeoutNow tells the transfer's target to campaign, once.
func (r *Raft) sendTimeoutNow(to uint64) {
	if !r.timeoutNowSent {
		r.timeoutNowSent = true
		r.transferredThisTerm = true
		r.send(Message{To: to, Type: MsgTimeoutNow})
	}
}

// maybeFinishTransfer sends MsgTimeoutNow once the target has caught up.
func (r *Raft) maybeFinishTransfer(from uint64, pr *Progress) {
	if from == r.leadTransferee && pr.Match == r.log.lastIndex() {
		r.sendTimeoutNow(from)
	}
}

// tickTransfer gives up on a transfer that has not completed within an
// election timeout.
func (r *Raft) tickTransfer() {
	if r.leadTransferee == None {
		return
	}
	if r.transferElapsed++; r.transferElapsed >= r.cfg.ElectionTick {
		r.leadTransferee = None
	}
}

// LeadTransferee returns the target of the leadership transfer in progress,
// or None.
func (r *Raft) LeadTransferee() uint64 { return r.leadTransferee }
