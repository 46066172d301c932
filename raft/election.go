package raft

// tickElection is a follower's or candidate's clock: when no leader has been
// heard from for a randomized election timeout, start an election (§5.2).
func (r *Raft) tickElection() {
	r.electionElapsed++
	if r.isVoter(r.id) && r.electionElapsed >= r.randomizedElectionTimeout {
		r.electionElapsed = 0
		r.campaign(r.cfg.PreVote)
	}
}

// heardFromLeader reports whether this peer heard from a leader less than an
// election timeout ago.
func (r *Raft) heardFromLeader() bool {
	if r.cfg.LeaseReads && r.restarted && r.ticks < uint64(r.cfg.ElectionTick) {
		// Just restarted: we may have promised a leader its lease before a
		// crash made us forget (read.go). Keep the promise for one timeout.
		return true
	}
	return r.lead != None && r.electionElapsed < r.cfg.ElectionTick
}

// inLease reports whether, with CheckQuorum, this peer refuses to help depose
// the leader it heard from recently.
func (r *Raft) inLease() bool {
	return r.cfg.CheckQuorum && r.heardFromLeader()
}

// campaign starts a pre-vote (if preVote) or a real election.
func (r *Raft) campaign(preVote bool) {
	var voteMsg MessageType
	var term uint64
	if preVote {
		r.becomePreCandidate()
		voteMsg, term = MsgPreVote, r.term+1
	} else {
		r.becomeCandidate()
		voteMsg, term = MsgVote, r.term
	}
	// Vote for ourselves; a one-voter cluster wins at once.
	if r.poll(r.id, true) {
		return
	}
	r.requestVotes(voteMsg, term, nil)
}

// campaignNow starts a real election at once, skipping the pre-vote: the
// leader asked us to take over (transfer.go).
func (r *Raft) campaignNow() {
	r.becomeCandidate()
	if r.poll(r.id, true) {
		return
	}
	r.requestVotes(MsgVote, r.term, []byte(campaignTransfer))
}

// requestVotes asks every other voter for its (pre-)vote.
func (r *Raft) requestVotes(voteMsg MessageType, term uint64, ctx []byte) {
	for _, id := range r.voters {
		if id == r.id {
			continue
		}
		r.send(Message{To: id, Type: voteMsg, Term: term, Index: r.log.lastIndex(), LogTerm: r.log.lastTerm(), Context: ctx})
	}
}

// handleVoteRequest decides on a MsgVote or MsgPreVote whose term is at least
// ours (stepHigherTerm already moved us to a higher real term).
func (r *Raft) handleVoteRequest(m Message) {
	respType := MsgVoteResp
	if m.Type == MsgPreVote {
		respType = MsgPreVoteResp
	}
	// LAB 1 BEGIN: grant or refuse a vote (Figure 2 RequestVote, §5.2, §5.4.1)
	// STUB: r.send(Message{To: m.From, Type: respType, Reject: true})
	// We can vote for m.From if we already did in this term, or have voted for
	// nobody and know no leader; a pre-vote for a later term is always open.
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == MsgPreVote && m.Term > r.term)
	if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
		// Answer with the term of the request so a pre-candidate can count it.
		r.send(Message{To: m.From, Type: respType, Term: m.Term})
		if m.Type == MsgVote {
			r.electionElapsed = 0
			r.vote = m.From
		}
		return
	}
	r.send(Message{To: m.From, Type: respType, Reject: true})
	// LAB 1 END
}

// stepCandidate handles messages for a candidate or pre-candidate.
func (r *Raft) stepCandidate(m Message) {
	switch m.Type {
	case MsgApp:
		// Someone won this term: accept its leadership.
		r.becomeFollower(m.Term, m.From)
		r.handleAppend(m)
	case MsgHeartbeat:
		r.becomeFollower(m.Term, m.From)
		r.handleHeartbeat(m)
	case MsgSnap:
		r.becomeFollower(m.Term, m.From)
		r.handleSnapshot(m)
	case MsgTimeoutNow:
		// A pre-candidate can still be the target of a transfer by the
		// leader of its term.
		if r.role == PreCandidate && r.isVoter(r.id) {
			r.campaignNow()
		}
	case MsgVoteResp, MsgPreVoteResp:
		if (m.Type == MsgPreVoteResp) != (r.role == PreCandidate) {
			return // an answer to an earlier kind of campaign
		}
		r.poll(m.From, !m.Reject)
	}
}

// poll records a vote and acts on the outcome. It returns true when the
// campaign is decided (won or lost).
func (r *Raft) poll(from uint64, granted bool) bool {
	// LAB 1 BEGIN: count votes; a majority wins, a majority against loses
	// STUB: return false
	if _, seen := r.votes[from]; !seen {
		r.votes[from] = granted
	}
	yes, no := 0, 0
	for _, id := range r.voters {
		if g, ok := r.votes[id]; ok {
			if g {
				yes++
			} else {
				no++
			}
		}
	}
	switch {
	case yes >= r.quorum():
		if r.role == PreCandidate {
			r.campaign(false)
		} else {
			r.becomeLeader()
		}
		return true
	case no >= r.quorum():
		r.becomeFollower(r.term, None)
		return true
	}
	return false
	// LAB 1 END
}

// tickLeader is the leader's clock: heartbeats, and with CheckQuorum, stepping
// down when a quorum has not been heard from for an election timeout.
func (r *Raft) tickLeader() {
	r.heartbeatElapsed++
	r.electionElapsed++
	r.tickTransfer()
	if r.electionElapsed >= r.cfg.ElectionTick {
		r.electionElapsed = 0
		if r.cfg.CheckQuorum && !r.quorumActive() {
			r.becomeFollower(r.term, None)
			return
		}
	}
	if r.heartbeatElapsed >= r.cfg.HeartbeatTick {
		r.heartbeatElapsed = 0
		r.bcastHeartbeat()
	}
}

// quorumActive reports whether a quorum answered since the last check, and
// starts the next period.
func (r *Raft) quorumActive() bool {
	active := 0
	for _, id := range r.voters {
		pr := r.prs[id]
		if id == r.id || pr.RecentActive {
			active++
		}
		if id != r.id {
			pr.RecentActive = false
		}
	}
	return active >= r.quorum()
}
