package raft

import "slices"

// Propose asks the leader to append a command to the log. It returns the
// index and term the entry got; the command is committed once an entry with
// that index and term is applied. A non-leader returns a *NotLeaderError.
func (r *Raft) Propose(data []byte) (index, term uint64, err error) {
	if r.role != Leader {
		return 0, 0, &NotLeaderError{Leader: r.lead}
	}
	if r.leadTransferee != None {
		return 0, 0, ErrTransferInProgress
	}
	r.appendEntries(Entry{Type: EntryNormal, Data: data})
	r.bcastAppend()
	return r.log.lastIndex(), r.term, nil
}

// appendEntries adds new entries at the end of the leader's log.
func (r *Raft) appendEntries(ents ...Entry) {
	last := r.log.lastIndex()
	for i := range ents {
		ents[i].Term = r.term
		ents[i].Index = last + 1 + uint64(i)
	}
	r.log.append(ents...)
	r.trackConf(ents)
	// The leader counts itself: it persists these entries before any message
	// that could lead to their commitment leaves (see ready.go).
	r.prs[r.id].maybeUpdate(r.log.lastIndex())
	if r.maybeCommit() {
		r.committed()
	}
}

// committed reacts to a higher commit index on the leader: reads waiting for
// the term's first commit can go, and a leader that removed itself steps
// down once that change is committed.
func (r *Raft) committed() {
	r.releaseWaitingReads()
	r.maybeStepDownRemoved()
}

// bcastAppend sends new entries to every follower that is not paused.
func (r *Raft) bcastAppend() {
	for _, id := range r.peers() {
		if id != r.id {
			r.sendAppend(id, false)
		}
	}
}

// sendAppend sends peer `to` the entries from its Next on. With sendIfEmpty it
// sends even when there is nothing new, to probe where the logs match. It
// returns whether a message was sent.
func (r *Raft) sendAppend(to uint64, sendIfEmpty bool) bool {
	pr := r.prs[to]
	if pr.isPaused() {
		return false
	}
	prevIndex := pr.Next - 1
	prevTerm, ok := r.log.term(prevIndex)
	if !ok {
		// The entries this peer needs were compacted into a snapshot.
		sent := r.sendSnapshot(to, pr)
		if sent && !pr.isPaused() {
			// The callers loop "while sendAppend sends": an unpaused peer
			// would get snapshots forever within one Step.
			panic("raft: sent a snapshot but left the peer's progress unpaused (see (*Progress).becomeSnapshot)")
		}
		return sent
	}
	var ents []Entry
	if pr.Next <= r.log.lastIndex() {
		ents = r.log.slice(pr.Next, r.log.lastIndex()+1, r.cfg.MaxSizePerMsg)
	}
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	r.send(Message{To: to, Type: MsgApp, Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: r.log.committed})
	if len(ents) > 0 {
		pr.sentEntries(ents[len(ents)-1].Index)
	} else if pr.State == StateProbe {
		pr.ProbeSent = true
	}
	return true
}

// handleAppend is the follower's side of AppendEntries.
func (r *Raft) handleAppend(m Message) {
	if m.Index < r.log.committed {
		// An old append: everything up to our commit index matches the leader
		// already (Log Matching), so say so and let the leader move on.
		r.send(Message{To: m.From, Type: MsgAppResp, Index: r.log.committed})
		return
	}
	if lastNew, ok := r.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries); ok {
		r.trackConf(m.Entries)
		r.send(Message{To: m.From, Type: MsgAppResp, Index: lastNew})
		return
	}
	hintIndex, hintTerm := r.log.conflictHint(m.Index)
	r.send(Message{To: m.From, Type: MsgAppResp, Reject: true, Index: m.Index, RejectHint: hintIndex, LogTerm: hintTerm})
}

// handleAppendResponse is the leader's side: advance or back up the peer's
// progress, commit what a quorum holds, and keep the pipeline full.
func (r *Raft) handleAppendResponse(m Message, pr *Progress) {
	if m.Reject {
		if pr.maybeBackUp(m.Index, r.retryIndex(m)) {
			r.sendAppend(m.From, true)
		}
		return
	}
	if !pr.maybeUpdate(m.Index) {
		return
	}
	switch pr.State {
	case StateProbe:
		pr.becomeReplicate()
	case StateSnapshot:
		if pr.Match >= pr.PendingSnapshot {
			pr.becomeReplicate() // the snapshot arrived
		}
	case StateReplicate:
		pr.inflights.freeLE(m.Index)
	}
	// Followers learn the new commit index with their next append or
	// heartbeat; a message just for it would double the traffic per entry.
	if r.maybeCommit() {
		r.committed()
		if r.role != Leader {
			return
		}
	}
	r.maybeFinishTransfer(m.From, pr)
	// Keep the pipeline to this peer full.
	for r.sendAppend(m.From, false) {
	}
}

// retryIndex turns a follower's rejection hint into the index the leader
// tries next: past the leader's last entry of the conflicting term if it has
// any, otherwise the first index of that term in the follower's log. Either
// way a whole term of mismatch is skipped in one round trip (§5.3).
func (r *Raft) retryIndex(m Message) uint64 {
	// LAB 2 BEGIN: fast backup using the conflict term and index
	// STUB: return m.Index
	if m.LogTerm != 0 {
		if last := r.log.lastIndexOfTerm(m.LogTerm); last != 0 {
			return last + 1
		}
	}
	return m.RejectHint
	// LAB 2 END
}

// maybeCommit advances the commit index to the highest index replicated on a
// quorum — but only if that entry is from the current term. Entries of earlier
// terms are committed indirectly, never by counting replicas (§5.4.2,
// Figure 8). It returns whether the commit index moved.
func (r *Raft) maybeCommit() bool {
	// LAB 2 BEGIN: commit by quorum, current term only (Figure 8)
	// STUB: return false
	matches := r.matchBuf[:0]
	for _, id := range r.voters {
		matches = append(matches, r.prs[id].Match)
	}
	r.matchBuf = matches
	slices.Sort(matches)
	n := matches[len(matches)-r.quorum()] // the highest index a quorum holds
	if n > r.log.committed {
		if t, _ := r.log.term(n); t == r.term {
			r.log.commitTo(n)
			return true
		}
	}
	return false
	// LAB 2 END
}

// bcastHeartbeat tells every follower the leader is alive, and how far it
// may commit: never beyond what it is known to match.
// A heartbeat also carries the newest read being confirmed, so a read whose
// own heartbeats were lost is confirmed by the next round.
func (r *Raft) bcastHeartbeat() {
	var ctx []byte
	if n := len(r.readsPending); n > 0 {
		ctx = r.readsPending[n-1].round
	}
	r.bcastHeartbeatWithContext(ctx)
}

func (r *Raft) handleHeartbeat(m Message) {
	r.log.commitTo(m.Commit)
	r.send(Message{To: m.From, Type: MsgHeartbeatResp, Context: m.Context, Index: m.Index})
}

func (r *Raft) handleHeartbeatResponse(m Message, pr *Progress) {
	// The heartbeat this answers was sent at tick m.Index (lease reads).
	pr.leaseTick = max(pr.leaseTick, m.Index)
	// The peer is alive. If appends went missing, try again: in probe, the
	// outstanding probe is presumed lost; in replicate, free a slot so a full
	// pipeline of lost messages cannot stall the peer forever.
	pr.ProbeSent = false
	switch {
	case pr.State == StateReplicate && pr.inflights.full():
		pr.inflights.freeFirst()
	case pr.State == StateSnapshot:
		// The peer is alive but has not acknowledged the snapshot for an
		// election timeout: it or its answer was lost. Probe again.
		if pr.snapshotWait++; pr.snapshotWait*r.cfg.HeartbeatTick >= r.cfg.ElectionTick {
			pr.becomeProbe()
		}
	}
	if pr.Match < r.log.lastIndex() {
		r.sendAppend(m.From, true)
	}
}
