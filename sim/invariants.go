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
	digests   map[uint64]uint64    // index → digest of the state after applying it
	ops       []opID               // ops[i-1] = the client command applied at index i, if any
	applied   map[opID]bool        // every client command ever applied
	maxDisk   int                  // largest persisted state seen, in bytes
}

type logRec struct {
	term     uint64
	prevTerm uint64
	hash     uint64
}

func newChecker() *checker {
	return &checker{
		leaders: map[uint64]uint64{}, entries: map[[2]uint64]logRec{}, checked: map[uint64]uint64{},
		digests: map[uint64]uint64{}, applied: map[opID]bool{},
	}
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
	// Entries before FirstIndex were compacted into a snapshot: they were
	// checked when they were committed, and the snapshot is checked against
	// the states they led to (checkSnapshot).
	for i := max(c.checked[n.id]+1, st.FirstIndex); i <= st.Commit; i++ {
		t, _ := n.raft.Term(i)
		prev, _ := n.raft.Term(i - 1)
		rec := logRec{term: t, prevTerm: prev, hash: entryHash(n.raft.Entries(i, i+1)[0])}
		if i <= uint64(len(c.committed)) {
			if c.committed[i-1] != rec {
				return fmt.Errorf("committed entry changed: node %d has index %d term %d, but term %d was committed there", n.id, i, t, c.committed[i-1].term)
			}
			continue
		}
		if i != uint64(len(c.committed))+1 {
			return fmt.Errorf("checker: node %d committed index %d, but the cluster's committed history ends at %d", n.id, i, len(c.committed))
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
	for uint64(len(c.ops)) < e.Index {
		c.ops = append(c.ops, opID{})
	}
	if id, ok := s.work.commandID(e); ok {
		c.ops[e.Index-1] = id
		c.applied[id] = true
	}
	return nil
}

// opAt returns the client command applied at index (zero if none, or none
// yet).
func (c *checker) opAt(index uint64) opID {
	if index == 0 || index > uint64(len(c.ops)) {
		return opID{}
	}
	return c.ops[index-1]
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

// recordState remembers the digest of the state a node reached after
// applying up to index, and checks it against what every other node reached
// there.
func (s *Sim) recordState(n *node, index uint64) error {
	d, err := n.sm.digest()
	if err != nil {
		return fmt.Errorf("node %d: state digest: %w", n.id, err)
	}
	if old, ok := s.check.digests[index]; ok && old != d {
		return fmt.Errorf("state machine safety: at index %d node %d reached state %016x, another node %016x", index, n.id, d, old)
	}
	s.check.digests[index] = d
	return nil
}

// checkSnapshot checks that the state a node restored from a snapshot equals
// the state nodes reached by applying the log up to its index.
func (s *Sim) checkSnapshot(n *node, index uint64) error {
	d, err := n.sm.digest()
	if err != nil {
		return fmt.Errorf("node %d: state digest: %w", n.id, err)
	}
	if old, ok := s.check.digests[index]; ok && old != d {
		return fmt.Errorf("snapshot: node %d restored a snapshot at %d with state %016x, but applying the log gives %016x", n.id, index, d, old)
	}
	s.check.digests[index] = d
	return nil
}

// diskBound is the most persisted Raft state a node may hold when snapshots
// are on: the threshold, plus the entries that arrive while a follower cannot
// compact (it has not applied them yet), plus the snapshot itself.
func (s *Sim) diskBound() int { return 4*s.opts.SnapshotBytes + 64<<10 }

// checkDiskSize checks that persisted Raft state stays bounded.
func (s *Sim) checkDiskSize(n *node) {
	size := len(n.disk.data)
	s.check.maxDisk = max(s.check.maxDisk, size)
	if s.opts.SnapshotBytes > 0 && size > s.diskBound() {
		s.fail(fmt.Errorf("log size: node %d holds %d bytes of Raft state, over the bound of %d with snapshots every %d bytes", n.id, size, s.diskBound(), s.opts.SnapshotBytes))
	}
}

// MaxDiskBytes returns the largest persisted Raft state any node held.
func (s *Sim) MaxDiskBytes() int { return s.check.maxDisk }
