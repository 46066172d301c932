package raft

import (
	"fmt"
	"slices"
)

// Raft is one peer's consensus state machine. It is not safe for concurrent
// use; the caller drives it from one goroutine (see the package comment).
type Raft struct {
	id   uint64
	cfg  Config
	role Role

	term uint64 // current term (Figure 2: currentTerm)
	vote uint64 // peer voted for in term (Figure 2: votedFor)
	lead uint64 // leader of term, as far as we know

	log *raftLog

	voters   []uint64             // sorted, so iteration never depends on map order
	learners []uint64             // sorted; they replicate but never vote
	members  []uint64             // voters and learners, sorted
	prs      map[uint64]*Progress // leader's view of every peer, self included
	votes    map[uint64]bool      // votes received in the current (pre-)campaign

	// snapConf is the configuration of the snapshot the log starts after.
	snapConf ConfState
	// pendingSnapshot is a leader's snapshot this follower installed, for
	// the next Ready to hand to the state machine.
	pendingSnapshot *Snapshot
	// confs are the configuration entries in the log, oldest first; the
	// newest is in force (membership.go).
	confs []confEntry

	// Reads being confirmed (read.go): held until the leader's first commit
	// in its term, confirmed by a quorum of heartbeats, and answered.
	readsWaiting []Message
	readsPending []*readRequest
	readRounds   uint64 // numbers the leader's read rounds (readRequest.round)
	readStates   []ReadState

	// Leadership transfer in progress (transfer.go).
	leadTransferee  uint64
	transferElapsed int
	timeoutNowSent  bool
	// transferredThisTerm: a transfer's target was told to campaign; its
	// election ignores leases, so this leader's lease is void (read.go).
	transferredThisTerm bool

	// ticks counts every Tick since the peer started: the clock the lease
	// of read.go is measured on.
	ticks uint64
	// restarted is set when the peer came back with a term from its disk.
	restarted bool

	// Logical clocks, counted in ticks since the last reset.
	electionElapsed  int
	heartbeatElapsed int
	// randomizedElectionTimeout is drawn from [ElectionTick, 2*ElectionTick).
	randomizedElectionTimeout int

	msgs          []Message
	prevHardState HardState // what the caller last persisted
	matchBuf      []uint64  // scratch space for maybeCommit
}

// New creates a peer from its configuration and what it finds on disk.
func New(cfg Config, state PersistentState) (*Raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Raft{
		id:     cfg.ID,
		cfg:    cfg,
		log:    newRaftLog(),
		voters: slices.Sorted(slices.Values(cfg.Peers)),
		prs:    map[uint64]*Progress{},
	}
	r.voters = slices.Compact(r.voters)
	r.members = r.voters
	r.snapConf = r.confState()
	if err := r.restore(state); err != nil {
		return nil, err
	}
	r.trackConf(state.Entries)
	r.restarted = r.term > 0
	r.becomeFollower(r.term, None)
	return r, nil
}

// restore loads a peer's persisted state: a restarted peer must come back with
// the same term, vote and log it had promised to others before the crash.
// If a snapshot is on disk, the log starts after it, and the caller restores
// its state machine from the snapshot before applying anything.
func (r *Raft) restore(state PersistentState) error {
	if snap := state.Snapshot; snap.Index > 0 {
		r.log.restoreSnapshot(snap)
		r.snapConf = snap.Conf
		r.applyConfState(snap.Conf)
	}
	// LAB 3 BEGIN: come back from disk with the term, vote and log we persisted
	// STUB: return nil
	first := r.log.lastIndex() + 1
	for i, e := range state.Entries {
		if e.Index != first+uint64(i) {
			return fmt.Errorf("raft: restore: entry %d has index %d, want %d", i, e.Index, first+uint64(i))
		}
	}
	r.log.entries = append(r.log.entries, state.Entries...)
	r.log.stable = r.log.lastIndex()
	hs := state.HardState
	if hs.Commit > r.log.lastIndex() {
		return fmt.Errorf("raft: restore: commit %d beyond last index %d", hs.Commit, r.log.lastIndex())
	}
	r.term, r.vote = hs.Term, hs.Vote
	r.log.committed = max(r.log.committed, hs.Commit)
	r.prevHardState = hs
	return nil
	// LAB 3 END
}

// confState returns the configuration in force.
func (r *Raft) confState() ConfState {
	return ConfState{Voters: slices.Clone(r.voters), Learners: slices.Clone(r.learners)}
}

// applyConfState makes cs the configuration in force.
func (r *Raft) applyConfState(cs ConfState) {
	if len(cs.Voters) == 0 {
		return // a snapshot from before configurations were recorded
	}
	r.voters = slices.Compact(slices.Sorted(slices.Values(cs.Voters)))
	r.learners = slices.Compact(slices.Sorted(slices.Values(cs.Learners)))
	r.members = slices.Sorted(slices.Values(append(slices.Clone(r.voters), r.learners...)))
}

// ID returns this peer's ID.
func (r *Raft) ID() uint64 { return r.id }

// quorum is the number of voters that make a majority.
func (r *Raft) quorum() int { return len(r.voters)/2 + 1 }

func (r *Raft) isVoter(id uint64) bool {
	_, ok := slices.BinarySearch(r.voters, id)
	return ok
}

// send queues a message for the caller to deliver after the next persist.
func (r *Raft) send(m Message) {
	m.From = r.id
	if m.Term == 0 {
		m.Term = r.term
	}
	r.msgs = append(r.msgs, m)
}

// Tick advances the peer's logical clock by one tick.
func (r *Raft) Tick() {
	r.ticks++
	if r.role == Leader {
		r.tickLeader()
	} else {
		r.tickElection()
	}
}

// Step feeds one message from another peer into the state machine.
func (r *Raft) Step(m Message) {
	if m.To != r.id || m.From == None {
		return
	}
	switch {
	case m.Term > r.term:
		if !r.stepHigherTerm(m) {
			return
		}
	case m.Term < r.term:
		r.stepLowerTerm(m)
		return
	}

	switch m.Type {
	case MsgVote, MsgPreVote:
		r.handleVoteRequest(m)
		return
	}
	switch r.role {
	case Leader:
		r.stepLeader(m)
	case Candidate, PreCandidate:
		r.stepCandidate(m)
	case Follower:
		r.stepFollower(m)
	}
}

// stepHigherTerm handles a message from a later term (Figure 2, "all servers":
// if RPC request or response contains term T > currentTerm, set currentTerm =
// T and convert to follower). It returns false if the message must be dropped.
func (r *Raft) stepHigherTerm(m Message) bool {
	switch {
	case m.Type == MsgPreVote && r.heardFromLeader():
		// A pre-vote is granted only by peers that have not heard from a
		// leader for an election timeout (thesis §9.6): a peer returning
		// from a partition cannot depose a healthy leader.
		return false
	case m.Type == MsgVote && r.inLease() && string(m.Context) != campaignTransfer:
		// With CheckQuorum, real votes get the same treatment (thesis
		// §4.2.3): a peer asking for votes now is disruptive, not helpful —
		// unless the leader itself asked it to campaign (transfer.go).
		return false
	}
	switch {
	case m.Type == MsgPreVote:
		// A pre-vote never changes our term: it is only a question.
	case m.Type == MsgPreVoteResp && !m.Reject:
		// A granted pre-vote carries the term we would campaign in; it is
		// counted in stepCandidate, not adopted.
	default:
		lead := None
		if m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap {
			lead = m.From
		}
		r.becomeFollower(m.Term, lead)
	}
	return true
}

// stepLowerTerm answers messages from an earlier term. Most are dropped, but
// with PreVote or CheckQuorum a peer whose term ran ahead (say, while it was
// partitioned and kept pre-campaigning) must tell a stale leader, or the two
// would never converge: we reply with our term and the leader steps down.
func (r *Raft) stepLowerTerm(m Message) {
	switch {
	case (r.cfg.CheckQuorum || r.cfg.PreVote) && (m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap):
		r.send(Message{To: m.From, Type: MsgAppResp})
	case m.Type == MsgPreVote:
		r.send(Message{To: m.From, Type: MsgPreVoteResp, Reject: true})
	}
}

func (r *Raft) stepFollower(m Message) {
	switch m.Type {
	case MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleAppend(m)
	case MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleHeartbeat(m)
	case MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleSnapshot(m)
	case MsgReadIndexResp:
		r.readStates = append(r.readStates, ReadState{Index: m.Index, RequestCtx: m.Context})
	case MsgTimeoutNow:
		if r.isVoter(r.id) {
			r.campaignNow()
		}
	}
}

func (r *Raft) stepLeader(m Message) {
	pr := r.prs[m.From]
	if pr == nil {
		return
	}
	switch m.Type {
	case MsgAppResp:
		pr.RecentActive = true
		r.handleAppendResponse(m, pr)
	case MsgHeartbeatResp:
		pr.RecentActive = true
		r.handleHeartbeatResponse(m, pr)
		if len(m.Context) > 0 {
			r.ackRead(m.From, m.Context)
		}
	case MsgReadIndex:
		r.handleReadIndex(m)
	}
}

// reset puts the peer in a fresh state for term.
func (r *Raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedElectionTimeout()
	r.leadTransferee = None
	r.transferredThisTerm = false
	r.readsWaiting, r.readsPending = nil, nil
	r.votes = map[uint64]bool{}
	r.prs = map[uint64]*Progress{}
	for _, id := range r.peers() {
		pr := newProgress(r.log.lastIndex()+1, r.cfg.MaxInflightMsgs)
		if id == r.id {
			pr.Match = r.log.lastIndex()
		}
		r.prs[id] = pr
	}
}

// peers returns voters and learners, in ID order. The slice is shared:
// callers must not modify it.
func (r *Raft) peers() []uint64 { return r.members }

func (r *Raft) resetRandomizedElectionTimeout() {
	r.randomizedElectionTimeout = r.cfg.ElectionTick + r.cfg.Rand.IntN(r.cfg.ElectionTick)
}

func (r *Raft) becomeFollower(term, lead uint64) {
	r.reset(term)
	r.lead = lead
	r.role = Follower
}

func (r *Raft) becomePreCandidate() {
	if r.role == Leader {
		panic("raft: leader cannot become pre-candidate")
	}
	// A pre-candidate keeps its term and its vote: it is only asking.
	r.votes = map[uint64]bool{}
	r.lead = None
	r.electionElapsed = 0
	r.resetRandomizedElectionTimeout()
	r.role = PreCandidate
}

func (r *Raft) becomeCandidate() {
	if r.role == Leader {
		panic("raft: leader cannot become candidate")
	}
	r.reset(r.term + 1)
	r.vote = r.id
	r.role = Candidate
}

func (r *Raft) becomeLeader() {
	if r.role == Follower {
		panic("raft: follower cannot become leader without an election")
	}
	r.reset(r.term)
	r.lead = r.id
	r.role = Leader
	for _, id := range r.voters {
		r.prs[id].RecentActive = true
	}
	if !r.cfg.DisableLeaderNoop {
		r.appendEntries(Entry{Type: EntryNoop})
	}
	r.bcastAppend()
}

// Status is a snapshot of a peer's state, for tests, the simulator and
// monitoring.
type Status struct {
	ID        uint64
	Role      Role
	Term      uint64
	Vote      uint64
	Lead      uint64
	Commit    uint64
	Applied   uint64
	LastIndex uint64
	LastTerm  uint64
	// FirstIndex is the first entry still in the log; the ones before it
	// were compacted into a snapshot.
	FirstIndex uint64
	Conf       ConfState
}

// Status returns the peer's current state.
func (r *Raft) Status() Status {
	return Status{
		ID: r.id, Role: r.role, Term: r.term, Vote: r.vote, Lead: r.lead,
		Commit: r.log.committed, Applied: r.log.applied,
		LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm(),
		FirstIndex: r.log.offset() + 1, Conf: r.confState(),
	}
}

// Progress returns a copy of the leader's view of peer id, or nil when this
// peer is not the leader or id is unknown.
func (r *Raft) Progress(id uint64) *Progress {
	if r.role != Leader || r.prs[id] == nil {
		return nil
	}
	p := *r.prs[id]
	return &p
}

// Term returns the term of the entry at index i, if the log holds it.
func (r *Raft) Term(i uint64) (uint64, bool) { return r.log.term(i) }

// Entries returns a copy of the log entries in [lo, hi). It is meant for
// tests and invariant checks, not for the hot path.
func (r *Raft) Entries(lo, hi uint64) []Entry {
	if lo >= hi || lo <= r.log.offset() {
		return nil // empty, or compacted into a snapshot
	}
	return slices.Clone(r.log.slice(lo, hi, ^uint64(0)))
}
