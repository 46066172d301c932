package sim

import (
	"fmt"
	"hash/fnv"

	"github.com/minikv-go/minikv/raft"
)

// checker holds what the whole cluster has ever said, to check the safety
// properties of Raft (paper Figure 3) after every event:
//
//	Election Safety       at most one leader per term
//	Log Matching          same index and term ⇒ same entry and same prefix
//	Leader Completeness   a new leader holds every committed entry
//	State Machine Safety  every node applies the same entry at each index
type checker struct {
	leaders   map[uint64]uint64    // term → the leader elected in it
	entries   map[[2]uint64]logRec // {index, term} → what that entry is
	committed []logRec             // committed[i-1] = the entry committed at i
	checked   map[uint64]uint64    // node → commit index already checked
}

type logRec struct {
	term     uint64
	prevTerm uint64
	hash     uint64
}

func newChecker() *checker {
	return &checker{leaders: map[uint64]uint64{}, entries: map[[2]uint64]logRec{}, checked: map[uint64]uint64{}}
}

func entryHash(e raft.Entry) uint64 {
	h := fnv.New64a()
	h.Write([]byte{byte(e.Type)})
	h.Write(e.Data)
	return h.Sum64()
}

// checkPersist checks Log Matching for entries a node is about to persist:
// an (index, term) pair must always name the same entry with the same
// predecessor term, which by induction means the same whole prefix.
func (s *Sim) checkPersist(n *node, ents []raft.Entry) error {
	for _, e := range ents {
		prev, _ := n.raft.Term(e.Index - 1)
		rec := logRec{term: e.Term, prevTerm: prev, hash: entryHash(e)}
		key := [2]uint64{e.Index, e.Term}
		if old, ok := s.check.entries[key]; ok && old != rec {
			return fmt.Errorf("log matching: node %d holds a different entry at index %d term %d", n.id, e.Index, e.Term)
		}
		s.check.entries[key] = rec
	}
	return nil
}

// checkCommit checks that what a node considers committed agrees with what
// any node ever committed, and records new commitments.
func (s *Sim) checkCommit(n *node) error {
	st := n.raft.Status()
	c := s.check
	for i := c.checked[n.id] + 1; i <= st.Commit; i++ {
		t, ok := n.raft.Term(i)
		if !ok {
			continue // compacted away (snapshots): checked when it was committed
		}
		prev, _ := n.raft.Term(i - 1)
		rec := logRec{term: t, prevTerm: prev, hash: entryHash(n.raft.Entries(i, i+1)[0])}
		if i <= uint64(len(c.committed)) {
			if c.committed[i-1] != rec {
				return fmt.Errorf("committed entry changed: node %d has index %d term %d, but term %d was committed there", n.id, i, t, c.committed[i-1].term)
			}
			continue
		}
		c.committed = append(c.committed, rec)
		s.stats.Commits++
		s.trace.commit(s.now, n.id, i)
	}
	c.checked[n.id] = max(c.checked[n.id], st.Commit)
	return nil
}

// checkApply checks State Machine Safety for one applied entry.
func (s *Sim) checkApply(n *node, e raft.Entry) error {
	c := s.check
	if e.Index > uint64(len(c.committed)) {
		return fmt.Errorf("state machine safety: node %d applied index %d, which no node committed", n.id, e.Index)
	}
	if rec := c.committed[e.Index-1]; rec.term != e.Term || rec.hash != entryHash(e) {
		return fmt.Errorf("state machine safety: node %d applied a different entry at index %d (term %d, committed term %d)", n.id, e.Index, e.Term, rec.term)
	}
	return nil
}

// checkLeader checks Election Safety and Leader Completeness for a node that
// just became leader.
func (s *Sim) checkLeader(n *node, term uint64) error {
	c := s.check
	if other, ok := c.leaders[term]; ok && other != n.id {
		return fmt.Errorf("election safety: nodes %d and %d both leader in term %d", other, n.id, term)
	}
	c.leaders[term] = n.id
	for i, rec := range c.committed {
		t, ok := n.raft.Term(uint64(i) + 1)
		if ok && t != rec.term || !ok && uint64(i)+1 > n.raft.Status().LastIndex {
			return fmt.Errorf("leader completeness: new leader %d (term %d) lacks committed entry %d (term %d)", n.id, term, i+1, rec.term)
		}
	}
	return nil
}
