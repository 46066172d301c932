package raft

import "fmt"

// None is the zero peer ID: "no leader known", "voted for nobody".
const None uint64 = 0

// EntryType says how the state machine should treat an entry.
type EntryType uint8

const (
	// EntryNormal carries a command for the replicated state machine.
	EntryNormal EntryType = iota
	// EntryNoop is appended by a new leader at the start of its term so that it
	// can commit entries of earlier terms (paper §5.4.2, §8). It carries no data.
	EntryNoop
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "Normal"
	case EntryNoop:
		return "Noop"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one slot of the replicated log.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// HardState is what a peer must never forget across a crash: its current term,
// whom it voted for in that term, and how far it knows the log is committed.
// Term and Vote must reach the disk atomically with the entries of the same
// Ready (a vote must never be forgotten, or a peer could vote twice in a term).
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether h is the zero hard state.
func (h HardState) IsEmpty() bool { return h == HardState{} }

// MessageType names the kind of a Message.
type MessageType uint8

const (
	MsgApp           MessageType = iota + 1 // AppendEntries from the leader
	MsgAppResp                              // reply to MsgApp
	MsgVote                                 // RequestVote from a candidate
	MsgVoteResp                             // reply to MsgVote
	MsgPreVote                              // "would you vote for me?" (thesis §9.6)
	MsgPreVoteResp                          // reply to MsgPreVote
	MsgHeartbeat                            // leader's keep-alive, carries commit
	MsgHeartbeatResp                        // reply to MsgHeartbeat
	MsgSnap                                 // InstallSnapshot from the leader (§7)
	MsgReadIndex                            // a follower asks the leader for a read index
	MsgReadIndexResp                        // the leader's confirmed read index
	MsgTimeoutNow                           // leader transfer: "start an election now"
)

var messageTypeNames = map[MessageType]string{
	MsgApp: "MsgApp", MsgAppResp: "MsgAppResp",
	MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp",
	MsgPreVote: "MsgPreVote", MsgPreVoteResp: "MsgPreVoteResp",
	MsgHeartbeat: "MsgHeartbeat", MsgHeartbeatResp: "MsgHeartbeatResp",
	MsgSnap: "MsgSnap", MsgReadIndex: "MsgReadIndex", MsgReadIndexResp: "MsgReadIndexResp",
	MsgTimeoutNow: "MsgTimeoutNow",
}

func (t MessageType) String() string {
	if s, ok := messageTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// IsResponse reports whether t answers another message.
func (t MessageType) IsResponse() bool {
	switch t {
	case MsgAppResp, MsgVoteResp, MsgPreVoteResp, MsgHeartbeatResp, MsgReadIndexResp:
		return true
	}
	return false
}

// Message is everything peers say to each other. The meaning of Index and
// LogTerm depends on the type:
//
//	MsgApp:               Index/LogTerm = the entry just before Entries
//	MsgAppResp:           Index = last index now matching the leader;
//	                      on Reject, Index = the rejected MsgApp.Index and
//	                      RejectHint/LogTerm = where the follower's log diverges
//	MsgVote, MsgPreVote:  Index/LogTerm = the candidate's last entry
//	MsgSnap:              Snapshot = the leader's latest snapshot
//	MsgReadIndex(Resp):   Context = the read request; Resp.Index = read index
//	MsgHeartbeat(Resp):   Context = the latest read request being confirmed;
//	                      Index = the leader's tick count when it was sent
//	MsgVote:              Context = "transfer" when a leader transfer forces it
type Message struct {
	Type       MessageType
	From       uint64
	To         uint64
	Term       uint64
	LogTerm    uint64
	Index      uint64
	Entries    []Entry
	Commit     uint64
	Reject     bool
	RejectHint uint64
	// Snapshot travels with MsgSnap. The core fills in its metadata only;
	// the layer that sends the message attaches the data (the state
	// machine's snapshot lives with the application, not in the core).
	Snapshot *Snapshot
	Context  []byte
}

func (m Message) String() string {
	s := fmt.Sprintf("%s %d→%d term=%d", m.Type, m.From, m.To, m.Term)
	switch m.Type {
	case MsgApp:
		s += fmt.Sprintf(" prev=%d/%d n=%d commit=%d", m.Index, m.LogTerm, len(m.Entries), m.Commit)
	case MsgAppResp:
		if m.Reject {
			s += fmt.Sprintf(" reject=%d hint=%d/%d", m.Index, m.RejectHint, m.LogTerm)
		} else {
			s += fmt.Sprintf(" match=%d", m.Index)
		}
	case MsgVote, MsgPreVote:
		s += fmt.Sprintf(" last=%d/%d", m.Index, m.LogTerm)
	case MsgVoteResp, MsgPreVoteResp:
		s += fmt.Sprintf(" reject=%v", m.Reject)
	case MsgHeartbeat:
		s += fmt.Sprintf(" commit=%d", m.Commit)
	case MsgSnap:
		if m.Snapshot != nil {
			s += fmt.Sprintf(" snap=%d/%d bytes=%d", m.Snapshot.Meta.Index, m.Snapshot.Meta.Term, len(m.Snapshot.Data))
		}
	}
	return s
}

// ConfState is a cluster configuration: who votes, and who only listens.
// Both lists are sorted.
type ConfState struct {
	Voters   []uint64
	Learners []uint64
}

// SnapshotMeta says what a snapshot stands for: every entry up to and
// including Index (whose term was Term) has been applied, and Conf was the
// configuration in force at Index.
type SnapshotMeta struct {
	Index uint64
	Term  uint64
	Conf  ConfState
}

// Snapshot is the state machine's state at Meta.Index, in whatever encoding
// the state machine chose.
type Snapshot struct {
	Meta SnapshotMeta
	Data []byte
}

// IsEmpty reports whether s stands for no snapshot at all.
func (s Snapshot) IsEmpty() bool { return s.Meta.Index == 0 }

// Role is what a peer currently is.
type Role uint8

const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "Follower"
	case PreCandidate:
		return "PreCandidate"
	case Candidate:
		return "Candidate"
	case Leader:
		return "Leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// NotLeaderError is returned by Propose on a peer that is not the leader.
// Leader is the peer this one believes to be leader, or None.
type NotLeaderError struct {
	Leader uint64
}

func (e *NotLeaderError) Error() string {
	if e.Leader == None {
		return "raft: not the leader (no leader known)"
	}
	return fmt.Sprintf("raft: not the leader (leader is %d)", e.Leader)
}
