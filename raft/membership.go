package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Membership changes, one server at a time (thesis §4.1-4.3).
//
// minikv changes the configuration by one server per step: add a learner,
// promote a learner to voter, or remove a server. Any two majorities of
// configurations that differ by one voter overlap, so the old and the new
// configuration can never elect two leaders in one term — the safety
// argument of single-server changes, and the reason joint consensus is not
// needed for them. Three rules keep it safe:
//
//   - a configuration takes effect as soon as its entry is in a server's log,
//     committed or not (and is undone if the entry is truncated away);
//   - a leader starts a change only once the previous one is committed;
//   - a leader starts a change only once it has committed an entry of its
//     own term (the fix to the bug in the original single-server algorithm:
//     without it, changes started by two leaders of different terms can
//     each hold a majority).
//
// New servers join as learners: they receive the log but neither vote nor
// count towards commitment until they have caught up and are promoted, so a
// new, empty server never slows the cluster down (thesis §4.2.1). A leader
// that removes itself keeps leading until the change commits, without
// counting itself, and then steps down (thesis §4.2.2).

// EntryConfChange is the entry type of a configuration change; its Data is
// a ConfChange (see ConfChange.Marshal).
const EntryConfChange EntryType = 2

// ConfChangeType is the kind of a one-server configuration change.
type ConfChangeType uint8

const (
	ConfAddLearner ConfChangeType = iota + 1 // add a non-voting member
	ConfPromote                              // make a caught-up learner a voter
	ConfRemove                               // remove a voter or learner
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfAddLearner:
		return "AddLearner"
	case ConfPromote:
		return "Promote"
	case ConfRemove:
		return "Remove"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChange is one configuration change.
type ConfChange struct {
	Type   ConfChangeType
	NodeID uint64
	// Context is opaque to the core and replicated with the change: a real
	// node puts the new member's addresses there, so that every node learns
	// how to reach it when the change is applied.
	Context []byte
}

func (cc ConfChange) String() string { return fmt.Sprintf("%s(%d)", cc.Type, cc.NodeID) }

// Marshal returns the entry data for cc: the type, the node ID (uvarint)
// and the context, if any, to the end.
func (cc ConfChange) Marshal() []byte {
	b := binary.AppendUvarint([]byte{byte(cc.Type)}, cc.NodeID)
	return append(b, cc.Context...)
}

// UnmarshalConfChange reads a ConfChange from entry data.
func UnmarshalConfChange(b []byte) (ConfChange, error) {
	if len(b) < 2 {
		return ConfChange{}, errors.New("raft: conf change: too short")
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 || binary.PutUvarint(make([]byte, binary.MaxVarintLen64), id) != n {
		return ConfChange{}, errors.New("raft: conf change: bad node ID")
	}
	cc := ConfChange{Type: ConfChangeType(b[0]), NodeID: id}
	if rest := b[1+n:]; len(rest) > 0 {
		cc.Context = append([]byte(nil), rest...)
	}
	return cc, nil
}

var (
	// ErrConfChangePending: the previous configuration change is not committed yet.
	ErrConfChangePending = errors.New("raft: a configuration change is still uncommitted")
	// ErrConfChangeTooEarly: the leader has not committed an entry of its term yet.
	ErrConfChangeTooEarly = errors.New("raft: the leader has not yet committed an entry of its term")
)

// applyConfChange returns cs changed by cc, or why cc does not apply.
func applyConfChange(cs ConfState, cc ConfChange) (ConfState, error) {
	isVoter, isLearner := slices.Contains(cs.Voters, cc.NodeID), slices.Contains(cs.Learners, cc.NodeID)
	next := ConfState{Voters: slices.Clone(cs.Voters), Learners: slices.Clone(cs.Learners)}
	switch cc.Type {
	case ConfAddLearner:
		if isVoter || isLearner {
			return cs, fmt.Errorf("raft: %v: node %d is already a member", cc, cc.NodeID)
		}
		next.Learners = append(next.Learners, cc.NodeID)
	case ConfPromote:
		if !isLearner {
			return cs, fmt.Errorf("raft: %v: only a learner can be promoted (add it as a learner and let it catch up first)", cc)
		}
		next.Learners = slices.DeleteFunc(next.Learners, func(id uint64) bool { return id == cc.NodeID })
		next.Voters = append(next.Voters, cc.NodeID)
	case ConfRemove:
		if !isVoter && !isLearner {
			return cs, fmt.Errorf("raft: %v: node %d is not a member", cc, cc.NodeID)
		}
		if isVoter && len(cs.Voters) == 1 {
			return cs, fmt.Errorf("raft: %v: cannot remove the last voter", cc)
		}
		next.Voters = slices.DeleteFunc(next.Voters, func(id uint64) bool { return id == cc.NodeID })
		next.Learners = slices.DeleteFunc(next.Learners, func(id uint64) bool { return id == cc.NodeID })
	default:
		return cs, fmt.Errorf("raft: unknown configuration change %v", cc)
	}
	slices.Sort(next.Voters)
	slices.Sort(next.Learners)
	return next, nil
}

// confEntry is a configuration whose entry is in the log.
type confEntry struct {
	index, term uint64
	conf        ConfState
}

// ProposeConfChange asks the leader to change the configuration by one
// server. It returns the index and term of the change's entry.
func (r *Raft) ProposeConfChange(cc ConfChange) (index, term uint64, err error) {
	if r.role != Leader {
		return 0, 0, &NotLeaderError{Leader: r.lead}
	}
	if r.leadTransferee != None {
		return 0, 0, ErrTransferInProgress
	}
	// LAB 5 BEGIN: refuse a change that could break the one-at-a-time rules
	// STUB: _ = ErrConfChangePending
	if last := r.lastConf(); last.index > r.log.committed {
		return 0, 0, ErrConfChangePending
	}
	if t, _ := r.log.term(r.log.committed); t != r.term {
		return 0, 0, ErrConfChangeTooEarly
	}
	// LAB 5 END
	if _, err := applyConfChange(r.confState(), cc); err != nil {
		return 0, 0, err
	}
	r.appendEntries(Entry{Type: EntryConfChange, Data: cc.Marshal()})
	r.bcastAppend()
	return r.log.lastIndex(), r.term, nil
}

// lastConf returns the newest configuration entry in the log, or the
// snapshot's configuration (index 0 if the log holds none).
func (r *Raft) lastConf() confEntry {
	if n := len(r.confs); n > 0 {
		return r.confs[n-1]
	}
	return confEntry{conf: r.snapConf}
}

// confAt returns the configuration in force at index.
func (r *Raft) confAt(index uint64) ConfState {
	cs := r.snapConf
	for _, c := range r.confs {
		if c.index > index {
			break
		}
		cs = c.conf
	}
	return cs
}

// trackConf brings the configuration in line with the log after entries
// were appended (and maybe a suffix truncated): drop configurations whose
// entries are gone, adopt those of new entries, in log order.
func (r *Raft) trackConf(appended []Entry) {
	keep := len(r.confs)
	for keep > 0 {
		c := r.confs[keep-1]
		if t, ok := r.log.term(c.index); ok && t == c.term {
			break
		}
		keep--
	}
	changed := keep != len(r.confs)
	r.confs = r.confs[:keep]
	for _, e := range appended {
		if e.Type != EntryConfChange || e.Index <= r.lastConf().index || !r.log.matchTerm(e.Index, e.Term) {
			continue
		}
		cc, err := UnmarshalConfChange(e.Data)
		if err != nil {
			continue // a corrupt change is ignored the same way everywhere
		}
		next, err := applyConfChange(r.lastConf().conf, cc)
		if err != nil {
			continue // an invalid change is a no-op, on every peer alike
		}
		r.confs = append(r.confs, confEntry{index: e.Index, term: e.Term, conf: next})
		changed = true
	}
	if changed { // the common case, plain entries, costs nothing more
		r.setConf(r.lastConf().conf)
	}
}

// compactConfs records the configuration at a new snapshot index and drops
// the configuration entries the snapshot covers.
func (r *Raft) compactConfs(index uint64) {
	r.snapConf = r.confAt(index)
	r.confs = slices.DeleteFunc(r.confs, func(c confEntry) bool { return c.index <= index })
}

// setConf makes cs the configuration in force; a leader starts or stops
// tracking the progress of the servers that came or went.
func (r *Raft) setConf(cs ConfState) {
	r.applyConfState(cs)
	if r.role != Leader {
		return
	}
	members := r.peers()
	for _, id := range members {
		if r.prs[id] == nil {
			pr := newProgress(r.log.lastIndex()+1, r.cfg.MaxInflightMsgs)
			pr.RecentActive = true
			r.prs[id] = pr
		}
	}
	for id := range r.prs {
		if id != r.id && !slices.Contains(members, id) {
			delete(r.prs, id)
		}
	}
}

// maybeStepDownRemoved makes a leader that is no longer a voter step down
// once the change that removed it is committed.
func (r *Raft) maybeStepDownRemoved() {
	if r.role == Leader && !r.isVoter(r.id) && r.lastConf().index <= r.log.committed {
		r.becomeFollower(r.term, None)
	}
}
