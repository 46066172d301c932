package labtest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// Helpers for lab 5 (membership changes, leadership transfer, reads). In
// that lab the set of servers changes, so these helpers look at every node
// of the simulation (spares included), never only at the first n servers
// that Cluster's MIT-style helpers know.

// WithSpares gives the cluster n spare nodes (IDs after the first
// configuration's), down until a test adds them with (*sim.Sim).AddLearner.
func WithSpares(n int) Option {
	return func(o *sim.Options) { o.Spares = n }
}

// WaitLeader waits up to ten election timeouts for a node among ids (every
// node if ids is empty) to lead, and returns it. If several claim to lead,
// the one in the highest term wins, as in (*sim.Sim).Leader.
func (c *Cluster) WaitLeader(ids ...uint64) uint64 {
	c.t.Helper()
	if len(ids) == 0 {
		ids = c.Nodes()
	}
	var lead uint64
	found := func() bool {
		lead = 0
		var term uint64
		for _, id := range ids {
			if st, up := c.Status(id); up && st.Role == raft.Leader && st.Term >= term {
				lead, term = id, st.Term
			}
		}
		return lead != 0
	}
	if !c.Until(10*c.ElectionTimeout(), found) {
		c.t.Fatalf("no leader among nodes %v within %v", ids, 10*c.ElectionTimeout())
	}
	return lead
}

// LeaderStatus waits for a leader (among every node) and returns its status.
func (c *Cluster) LeaderStatus() raft.Status {
	c.t.Helper()
	st, _ := c.Status(c.WaitLeader())
	return st
}

// OneAny proposes cmd on whichever node leads (spares included) and waits
// until at least expectedServers nodes have committed it, retrying on a new
// leader if the entry is lost. It returns the index cmd committed at. It is
// (*Cluster).One for clusters whose membership changes.
func (c *Cluster) OneAny(cmd []byte, expectedServers int) uint64 {
	c.t.Helper()
	deadline := c.Now() + 10*time.Second
	for c.Now() < deadline {
		id, ok := c.Leader()
		if !ok {
			c.Run(20 * time.Millisecond)
			continue
		}
		index, term, err := c.Propose(id, cmd)
		if err != nil {
			c.Run(20 * time.Millisecond)
			continue
		}
		end := c.Now() + 2*time.Second
		for c.Now() < end {
			n, ours := c.committedAt(index, term, id)
			if n > 0 && !ours {
				break // another entry took the slot: propose again
			}
			if n >= expectedServers {
				return index
			}
			c.Run(10 * time.Millisecond)
		}
	}
	c.t.Fatalf("OneAny(%q): not committed on %d servers within 10s of virtual time", cmd, expectedServers)
	return 0
}

// ConfChange makes one membership change through the leader, retrying while
// the leader refuses for a reason that passes (a change still pending, no
// entry of its term committed yet, a transfer, no leader), and waits until
// the change's entry is committed. do is a call such as
// func() error { return c.AddLearner(4) }. It returns the entry's index.
func (c *Cluster) ConfChange(what string, do func() error) uint64 {
	c.t.Helper()
	deadline := c.Now() + 10*time.Second
	var lastErr error
	for c.Now() < deadline {
		lead, _ := c.Leader() // the node do's change goes through
		err := do()
		if err != nil {
			lastErr = err
			var nl *raft.NotLeaderError
			if errors.Is(err, raft.ErrConfChangePending) || errors.Is(err, raft.ErrConfChangeTooEarly) ||
				errors.Is(err, raft.ErrTransferInProgress) || errors.Is(err, sim.ErrNoLeader) || errors.As(err, &nl) {
				c.Run(20 * time.Millisecond)
				continue
			}
			c.t.Fatalf("%s: refused: %v", what, err)
		}
		// The change's entry is the leader's last: nothing ran since.
		st, _ := c.Status(lead)
		index, term := st.LastIndex, st.Term
		end := c.Now() + 3*time.Second
		for c.Now() < end {
			if n, ours := c.committedAt(index, term, lead); n > 0 {
				if ours {
					return index
				}
				break // lost with its leader: try again
			}
			c.Run(10 * time.Millisecond)
		}
		lastErr = fmt.Errorf("entry %d (term %d) not committed", index, term)
	}
	c.t.Fatalf("%s: not done within 10s of virtual time (last: %v)", what, lastErr)
	return 0
}

// WaitCaughtUp waits up to limit for node id to hold the leader's whole log
// and to know it committed, and fails the test if it does not.
func (c *Cluster) WaitCaughtUp(id uint64, limit time.Duration) {
	c.t.Helper()
	var lst, st raft.Status
	ok := c.Until(limit, func() bool {
		lead, ok := c.Leader()
		if !ok {
			return false
		}
		lst, _ = c.Status(lead)
		st, _ = c.Status(id)
		return st.LastIndex == lst.LastIndex && st.LastTerm == lst.LastTerm && st.Commit == lst.Commit
	})
	if !ok {
		c.t.Fatalf("node %d did not catch up within %v: its log ends at %d (commit %d), the leader's (%d) at %d (commit %d)",
			id, limit, st.LastIndex, st.Commit, lst.ID, lst.LastIndex, lst.Commit)
	}
}

// IsMember reports whether id is a voter or a learner of cs.
func IsMember(cs raft.ConfState, id uint64) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id)
}

// ConfString formats a configuration for failure messages.
func ConfString(cs raft.ConfState) string {
	return fmt.Sprintf("voters %v learners %v", cs.Voters, cs.Learners)
}

// SameConf reports whether two configurations are equal.
func SameConf(a, b raft.ConfState) bool {
	return slices.Equal(a.Voters, b.Voters) && slices.Equal(a.Learners, b.Learners)
}

// committedAt returns how many live nodes have committed index, and whether
// the entry committed there is the one proposer appended at index in term.
// Unlike (*sim.Sim).Committed it copes with nodes that compacted index into
// a snapshot: they count, but cannot say which entry it was; then the
// proposer can, if it is still in term (a leader never overwrites its own
// log, so its entry at index is still the one it proposed).
func (c *Cluster) committedAt(index, term, proposer uint64) (n int, ours bool) {
	c.t.Helper()
	known := false
	for _, id := range c.Nodes() {
		st, up := c.Status(id)
		if !up || st.Commit < index {
			continue
		}
		n++
		if st.FirstIndex <= index {
			e := c.Raft(id).Entries(index, index+1)[0]
			known, ours = true, e.Term == term
		}
	}
	if n > 0 && !known {
		if st, up := c.Status(proposer); up && st.Term == term && st.Commit >= index {
			ours = true
		}
	}
	return n, ours
}

// Until runs the simulation until cond holds (checked after every event) or
// limit passes, and reports whether cond held. An invariant violation fails
// the test.
func (c *Cluster) Until(limit time.Duration, cond func() bool) bool {
	c.t.Helper()
	ok, err := c.RunUntil(limit, cond)
	if err != nil {
		c.t.Fatalf("invariant violated: %v", violation(err))
	}
	return ok
}
