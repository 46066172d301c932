package membership_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// newCluster starts voters nodes (IDs 1..voters) and spares spare nodes
// (the IDs after them, down until added). The leader's no-op is on: a leader
// must commit an entry of its own term before it may change the
// configuration or answer a read, and the no-op is how it does so promptly.
func newCluster(t *labtest.T, voters, spares int, opts ...labtest.Option) *labtest.Cluster {
	return labtest.NewCluster(t, voters, append([]labtest.Option{labtest.WithLeaderNoop(), labtest.WithSpares(spares)}, opts...)...)
}

// without returns ids minus the ones given.
func without(ids []uint64, drop ...uint64) []uint64 {
	var out []uint64
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

// neverUntil runs for d and fails the test with msg if cond ever holds
// (checked after every event).
func neverUntil(t *labtest.T, c *labtest.Cluster, d time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	if c.Until(d, cond) {
		t.Fatalf("%s", msg())
	}
}

// TestAddLearnerCatchUp: a spare joins as a learner while clients write. It
// catches up, but it neither campaigns nor counts towards a majority: the
// voters commit without it, and the leader with only the learner does not.
func TestAddLearnerCatchUp(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 1)
		const learner = 4
		c.StartClients(2)
		c.Run(300 * time.Millisecond) // some history for the learner to catch up on

		c.ConfChange("add learner 4", func() error { return c.AddLearner(learner) })
		if st := c.LeaderStatus(); !slices.Equal(st.Conf.Voters, []uint64{1, 2, 3}) || !slices.Equal(st.Conf.Learners, []uint64{learner}) {
			t.Fatalf("after adding learner 4, leader %d's configuration is %s; want voters [1 2 3] learners [4]", st.ID, labtest.ConfString(st.Conf))
		}
		c.WaitCaughtUp(learner, 2*time.Second)

		// Cut off, a learner never campaigns: it stays a follower in its term.
		st, _ := c.Status(learner)
		c.Disconnect(learner)
		neverUntil(t, c, 10*c.ElectionTimeout(), func() bool {
			now, _ := c.Status(learner)
			return now.Role != raft.Follower || now.Term != st.Term
		}, func() string {
			now, _ := c.Status(learner)
			return fmt.Sprintf("learner 4, cut off, became %v in term %d (it was a follower in term %d): a learner must never campaign", now.Role, now.Term, st.Term)
		})
		// The voters commit without it.
		c.OneAny(labtest.Cmd(1), 3)
		c.Connect(learner)
		c.WaitCaughtUp(learner, 2*time.Second)

		// The leader and the learner alone are not a majority.
		lead := c.WaitLeader()
		c.Partition([]uint64{lead, learner}, without([]uint64{1, 2, 3}, lead))
		index, _, err := c.Propose(lead, labtest.Cmd(2))
		if err != nil {
			t.Fatalf("propose on leader %d: %v", lead, err)
		}
		// Nor can the learner's answer confirm a read.
		if got, err := c.Read(lead, c.ElectionTimeout()/2); err == nil {
			t.Fatalf("leader %d, with only learner 4 connected, served a read (%d values, last %d): it confirmed its leadership without a majority of the voters [1 2 3]", lead, got.Len, got.Last)
		}
		neverUntil(t, c, c.ElectionTimeout()/2, func() bool {
			st, _ := c.Status(lead)
			return st.Commit >= index
		}, func() string {
			return fmt.Sprintf("leader %d committed index %d with only itself and learner 4 connected: the learner was counted towards a majority of the voters [1 2 3]", lead, index)
		})
		c.Heal()
		c.OneAny(labtest.Cmd(3), 4) // three voters and the learner
		c.StopClients()
		c.Run(2 * time.Second)
		if lead := c.WaitLeader(); lead == learner {
			t.Fatalf("learner 4 leads")
		}
		c.CheckHistory()
	})
}

// TestPromoteLearner: a caught-up learner is promoted. The majority of the
// four voters is now three: the leader and one old voter no longer commit,
// but with the promoted node they do; and the promoted node can win an
// election.
func TestPromoteLearner(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 1)
		const node = 4
		c.OneAny(labtest.Cmd(1), 3)
		c.ConfChange("add learner 4", func() error { return c.AddLearner(node) })
		c.WaitCaughtUp(node, 2*time.Second)
		c.ConfChange("promote 4", func() error { return c.Promote(node) })
		st := c.LeaderStatus()
		if !slices.Equal(st.Conf.Voters, []uint64{1, 2, 3, node}) || len(st.Conf.Learners) > 0 {
			t.Fatalf("after promoting 4, leader %d's configuration is %s; want voters [1 2 3 4], no learners", st.ID, labtest.ConfString(st.Conf))
		}
		c.WaitCaughtUp(node, time.Second)

		// The leader, one old voter and the promoted node: 3 of 4 commit,
		// and only thanks to node 4's acknowledgement.
		lead := st.ID
		rest := without([]uint64{1, 2, 3}, lead)
		a, b := rest[0], rest[1]
		c.Partition([]uint64{lead, a, node}, []uint64{b})
		c.OneAny(labtest.Cmd(2), 3)

		// The leader and one old voter: 2 of 4 do not.
		lead = c.WaitLeader()
		if lead == node {
			t.Fatalf("node 4 took over while the old leader was connected to it")
		}
		c.Partition([]uint64{lead, a}, []uint64{node, b})
		index, _, err := c.Propose(lead, labtest.Cmd(3))
		if err != nil {
			t.Fatalf("propose on leader %d: %v", lead, err)
		}
		neverUntil(t, c, c.ElectionTimeout(), func() bool {
			st, _ := c.Status(lead)
			return st.Commit >= index
		}, func() string {
			return fmt.Sprintf("leader %d committed index %d with only voter %d: after promoting 4, a majority is 3 of the voters [1 2 3 4]", lead, index, a)
		})

		// The promoted node can lead. Cut the leader off, and let the other
		// two old voters talk only to node 4: it is the one node that can
		// gather three votes.
		c.Heal()
		c.OneAny(labtest.Cmd(4), 4) // all four voters hold the same log
		lead = c.WaitLeader()
		if lead != node {
			x := without([]uint64{1, 2, 3}, lead)
			c.Partition([]uint64{node, x[0], x[1]}, []uint64{lead})
			c.BlockLink(x[0], x[1])
			c.BlockLink(x[1], x[0])
			if got := c.WaitLeader(node, x[0], x[1]); got != node {
				t.Fatalf("node %d leads, but it cannot reach a majority of 4 voters: only node 4 could", got)
			}
			c.Heal()
		}
		c.OneAny(labtest.Cmd(5), 4)
	})
}

// TestRemoveFollower: a follower is removed. The cluster commits without
// it, and the leader stops sending it entries.
func TestRemoveFollower(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 0)
		c.OneAny(labtest.Cmd(1), 3)
		lead := c.WaitLeader()
		rest := without([]uint64{1, 2, 3}, lead)
		gone := rest[t.Rand().IntN(2)]
		c.ConfChange("remove follower", func() error { return c.RemoveMember(gone) })
		st := c.LeaderStatus()
		if !slices.Equal(st.Conf.Voters, without([]uint64{1, 2, 3}, gone)) || len(st.Conf.Learners) > 0 {
			t.Fatalf("after removing %d, leader %d's configuration is %s", gone, st.ID, labtest.ConfString(st.Conf))
		}
		c.Run(100 * time.Millisecond)
		before, _ := c.Status(gone)
		for i := range 10 {
			c.OneAny(labtest.Cmd(10+i), 2)
		}
		after, _ := c.Status(gone)
		if after.LastIndex != before.LastIndex {
			t.Fatalf("removed node %d still receives entries: its log grew from %d to %d", gone, before.LastIndex, after.LastIndex)
		}
		if lst := c.LeaderStatus(); lst.Term != st.Term {
			t.Fatalf("the removed node disturbed the cluster: the term went from %d to %d", st.Term, lst.Term)
		}
		// The two remaining voters are the whole cluster now.
		c.Crash(gone)
		c.OneAny(labtest.Cmd(20), 2)
	})
}

// TestRemoveLeader: the leader removes itself. It keeps leading until the
// change is committed, then steps down; one of the remaining voters takes
// over, with every committed entry.
func TestRemoveLeader(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 0)
		var committed []uint64
		for i := range 3 {
			committed = append(committed, c.OneAny(labtest.Cmd(i+1), 3))
		}
		lead := c.WaitLeader()
		if err := c.RemoveMember(lead); err != nil {
			t.Fatalf("leader %d removing itself: %v", lead, err)
		}
		st, _ := c.Status(lead)
		ccIndex := st.LastIndex
		if st.Role != raft.Leader {
			t.Fatalf("leader %d stepped down as soon as it proposed its removal (index %d): it must lead until the change commits", lead, ccIndex)
		}
		var stepped raft.Status
		ok := c.Until(2*c.ElectionTimeout(), func() bool {
			stepped, _ = c.Status(lead)
			return stepped.Role != raft.Leader
		})
		if !ok {
			t.Fatalf("leader %d removed itself at index %d but still leads %v later (commit %d)", lead, ccIndex, 2*c.ElectionTimeout(), stepped.Commit)
		}
		if stepped.Commit < ccIndex {
			t.Fatalf("leader %d stepped down at commit %d, before its removal (index %d) was committed", lead, stepped.Commit, ccIndex)
		}
		rest := without([]uint64{1, 2, 3}, lead)
		next := c.WaitLeader(rest...)
		if st := c.LeaderStatus(); !slices.Equal(st.Conf.Voters, rest) {
			t.Fatalf("new leader %d's configuration is %s; want voters %v", next, labtest.ConfString(st.Conf), rest)
		}
		committed = append(committed, c.OneAny(labtest.Cmd(4), 2))
		// The removed leader stays out.
		neverUntil(t, c, 10*c.ElectionTimeout(), func() bool {
			st, _ := c.Status(lead)
			return st.Role != raft.Follower
		}, func() string { return fmt.Sprintf("removed leader %d campaigns again", lead) })
		for i, index := range committed {
			if n, cmd := c.NCommitted(index); n < 2 || string(cmd) != string(labtest.Cmd(i+1)) {
				t.Fatalf("index %d holds %q on %d nodes after the leader left; want %q on the 2 voters", index, cmd, n, labtest.Cmd(i+1))
			}
		}
	})
}

// TestRemoveLeaderWithoutCountingItself: a leader that removes itself must
// not count its own copy towards committing the change. Five voters, two of
// them cut off: the leader and two others hold the change, 2 of the 4
// remaining voters, which is not a majority of the new configuration.
func TestRemoveLeaderWithoutCountingItself(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 5, 0)
		all := []uint64{1, 2, 3, 4, 5}
		c.OneAny(labtest.Cmd(1), 5)
		lead := c.WaitLeader()
		rest := without(all, lead)
		rnd := t.Rand()
		rnd.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		near, far := rest[:2], rest[2:]
		c.Partition(append([]uint64{lead}, near...), far)
		if err := c.RemoveMember(lead); err != nil {
			t.Fatalf("leader %d removing itself: %v", lead, err)
		}
		st, _ := c.Status(lead)
		ccIndex := st.LastIndex
		neverUntil(t, c, c.ElectionTimeout(), func() bool {
			n, _, _ := c.Committed(ccIndex)
			return n > 0
		}, func() string {
			return fmt.Sprintf("leader %d's own removal (index %d) committed with only %v of the remaining voters %v: the removed leader counted itself", lead, ccIndex, near, slices.Sorted(slices.Values(rest)))
		})
		c.Heal()
		c.WaitLeader(rest...)
		c.OneAny(labtest.Cmd(2), 4)
		if st := c.LeaderStatus(); labtest.IsMember(st.Conf, lead) {
			t.Fatalf("leader %d's removal was lost: the configuration is %s", lead, labtest.ConfString(st.Conf))
		}
	})
}

// TestUncommittedChangeIsRolledBack: a configuration is in force as soon as
// its entry is in the log, so when the entry is overwritten, the
// configuration must go with it. A leader, cut off, proposes its own
// removal and (rightly) stops counting itself; the others elect a new
// leader, whose log replaces that entry. Back, the old leader must be a
// voter again: it can take over.
func TestUncommittedChangeIsRolledBack(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 0)
		c.OneAny(labtest.Cmd(1), 3)
		old := c.WaitLeader()
		c.Disconnect(old)
		if err := c.RemoveMember(old); err != nil {
			t.Fatalf("leader %d removing itself: %v", old, err)
		}
		if st, _ := c.Status(old); labtest.IsMember(st.Conf, old) {
			t.Fatalf("leader %d appended its removal, but its configuration is still %s: a change is in force as soon as it is in the log", old, labtest.ConfString(st.Conf))
		}
		next := c.WaitLeader(without([]uint64{1, 2, 3}, old)...)
		c.OneAny(labtest.Cmd(2), 2)
		c.Connect(old)
		c.WaitCaughtUp(old, 2*time.Second)
		want := c.LeaderStatus().Conf
		if st, _ := c.Status(old); !labtest.SameConf(st.Conf, want) {
			t.Fatalf("node %d's uncommitted removal was overwritten by leader %d's log, but its configuration is still %s; the cluster's is %s", old, next, labtest.ConfString(st.Conf), labtest.ConfString(want))
		}
		if err := c.TransferLeader(old); err != nil {
			t.Fatalf("transfer to %d: %v", old, err)
		}
		if !c.Until(c.ElectionTimeout(), func() bool { st, _ := c.Status(old); return st.Role == raft.Leader }) {
			t.Fatalf("node %d, a voter again, did not take over within an election timeout of a transfer to it", old)
		}
		c.OneAny(labtest.Cmd(3), 3)
	})
}

// TestOneConfChangeAtATime: the leader refuses a change while the previous
// one is uncommitted, and a new leader refuses changes until it has
// committed an entry of its own term.
func TestOneConfChangeAtATime(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 3, 2)
		c.OneAny(labtest.Cmd(1), 3)
		lead := c.WaitLeader()
		if err := c.AddLearner(4); err != nil {
			t.Fatalf("add learner 4: %v", err)
		}
		if err := c.AddLearner(5); !errors.Is(err, raft.ErrConfChangePending) {
			t.Fatalf("add learner 5 while adding 4 is uncommitted: got %v, want raft.ErrConfChangePending", err)
		}
		if err := c.RemoveMember(without([]uint64{1, 2, 3}, lead)[0]); !errors.Is(err, raft.ErrConfChangePending) {
			t.Fatalf("remove a voter while adding 4 is uncommitted: got %v, want raft.ErrConfChangePending", err)
		}
		// Once the first change is committed, the next one is accepted.
		c.Run(c.ElectionTimeout())
		if err := c.AddLearner(5); err != nil {
			t.Fatalf("add learner 5 after adding 4 committed: %v", err)
		}
		c.Run(c.ElectionTimeout())

		// A new leader, before its first commit in its term, refuses.
		c.Disconnect(lead)
		next := c.WaitLeader(without([]uint64{1, 2, 3, 4, 5}, lead)...)
		st, _ := c.Status(next)
		if ct, _ := c.Raft(next).Term(st.Commit); ct == st.Term {
			t.Fatalf("test setup: new leader %d committed an entry of its term %d at once", next, st.Term)
		}
		if err := c.RemoveMember(lead); !errors.Is(err, raft.ErrConfChangeTooEarly) {
			t.Fatalf("new leader %d (term %d, commit %d of an earlier term) accepted a change: got %v, want raft.ErrConfChangeTooEarly", next, st.Term, st.Commit, err)
		}
		ok := c.Until(c.ElectionTimeout(), func() bool {
			st, _ := c.Status(next)
			ct, _ := c.Raft(next).Term(st.Commit)
			return ct == st.Term
		})
		if !ok {
			t.Fatalf("new leader %d did not commit its no-op within an election timeout", next)
		}
		if err := c.RemoveMember(lead); err != nil {
			t.Fatalf("new leader %d refused a change after its first commit in its term: %v", next, err)
		}
		c.Connect(lead)
		c.OneAny(labtest.Cmd(2), 4)
	})
}

// TestConfChangeWaitsForCommitInTerm replays the bug in the original
// single-server algorithm (Ongaro, raft-dev, 2015) that the third rule in
// raft/membership.go fixes. Voters 1-4 and learner 5. The leader, cut off
// with 5, promotes it: {1,...,5}, uncommitted. The other three elect a new
// leader, which at once removes the old one. Two of the three are a
// majority of the new configuration, so the removal commits without the
// third. Without the rule, that third voter can now vote with the old
// leader and 5 for a leader of {1,...,5}, which lacks the committed
// removal. With the rule, the new leader must first commit an entry of its
// term on a majority of the old configuration, which includes the third
// voter: its log is then newer than the old leader's, and it refuses its
// vote. The test runs without the leader's no-op, so that the rule alone
// decides.
func TestConfChangeWaitsForCommitInTerm(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 4, labtest.WithSpares(1))
		c.OneAny(labtest.Cmd(1), 4)
		c.ConfChange("add learner 5", func() error { return c.AddLearner(5) })
		c.WaitCaughtUp(5, time.Second)
		c.OneAny(labtest.Cmd(2), 5)
		c.Run(100 * time.Millisecond)

		// The leader, cut off with the learner, promotes it.
		old := c.WaitLeader()
		others := without([]uint64{1, 2, 3, 4}, old)
		c.Partition([]uint64{old, 5}, others)
		if err := c.Promote(5); err != nil {
			t.Fatalf("leader %d promoting 5: %v", old, err)
		}
		// The other side elects a leader; one voter there will not hear of
		// its change.
		next := c.WaitLeader(others...)
		rest := without(others, next)
		left, right := rest[0], rest[1]
		err := c.RemoveMember(old)
		if errors.Is(err, raft.ErrConfChangeTooEarly) {
			// As the rule demands: commit an entry of this term first, on a
			// majority of the old configuration (next, left, right).
			c.OneAny(labtest.Cmd(3), 3)
			c.BlockLink(next, left)
			err = c.RemoveMember(old)
		} else {
			c.BlockLink(next, left)
		}
		if err != nil {
			t.Fatalf("leader %d removing %d: %v", next, old, err)
		}
		st, _ := c.Status(next)
		ccIndex, ccTerm := st.LastIndex, st.Term
		ok := c.Until(c.ElectionTimeout(), func() bool {
			st, _ := c.Status(next)
			return st.Commit >= ccIndex
		})
		if !ok {
			t.Fatalf("leader %d's removal of %d (index %d) did not commit with %d and %d", next, old, ccIndex, next, right)
		}

		// Now the old leader, the promoted learner and the voter left out.
		// (The old leader may still lead its old term for a while; a leader
		// in a term after next's is what must not happen.)
		c.Partition([]uint64{old, 5, left}, []uint64{next, right})
		ok = c.Until(20*c.ElectionTimeout(), func() bool {
			for _, id := range []uint64{old, 5, left} {
				if st, _ := c.Status(id); st.Role == raft.Leader && st.Term > ccTerm {
					return true
				}
			}
			return false
		})
		if ok {
			// Two configurations with disjoint majorities: let the new
			// leader commit, and the simulator's checks will say what broke.
			id, _ := c.Leader()
			if _, _, err := c.Propose(id, labtest.Cmd(4)); err == nil {
				c.Run(c.ElectionTimeout())
			}
			st, _ := c.Status(id)
			t.Fatalf("node %d leads term %d with %s, although %d's removal was committed by %d in a configuration without it", id, st.Term, labtest.ConfString(st.Conf), old, next)
		}
		c.Heal()
		c.OneAny(labtest.Cmd(5), 3)
		if st := c.LeaderStatus(); !slices.Equal(st.Conf.Voters, others) {
			t.Fatalf("final configuration %s; want voters %v", labtest.ConfString(st.Conf), others)
		}
	})
}

// confSurvivesRestart makes changes (add two learners, promote one, remove
// an original voter), crashes every node and restarts it: each comes back
// with the configuration it had.
func confSurvivesRestart(t *labtest.T, snapshotBytes int) {
	c := newCluster(t, 3, 2, labtest.WithOptions(func(o *sim.Options) { o.SnapshotBytes = snapshotBytes }))
	c.OneAny(labtest.Cmd(1), 3)
	c.ConfChange("add learner 4", func() error { return c.AddLearner(4) })
	c.WaitCaughtUp(4, 2*time.Second)
	c.ConfChange("promote 4", func() error { return c.Promote(4) })
	c.ConfChange("add learner 5", func() error { return c.AddLearner(5) })
	gone := uint64(1 + t.Rand().IntN(3))
	last := c.ConfChange(fmt.Sprintf("remove %d", gone), func() error { return c.RemoveMember(gone) })

	// Enough writes to compact the log past the changes, if snapshots are on.
	c.StartClients(3)
	c.Run(2 * time.Second)
	c.StopClients()
	c.Run(2 * time.Second)
	want := c.LeaderStatus().Conf
	if snapshotBytes > 0 {
		for _, id := range append(slices.Clone(want.Voters), want.Learners...) {
			if st, _ := c.Status(id); st.FirstIndex <= last {
				t.Fatalf("test setup: node %d's log still starts at %d, before the last change (%d): no snapshot holds the configuration", id, st.FirstIndex, last)
			}
		}
	}

	before := map[uint64]raft.ConfState{}
	for _, id := range c.Nodes() {
		st, _ := c.Status(id)
		before[id] = st.Conf
		c.Crash(id)
	}
	for _, id := range c.Nodes() {
		if err := c.Restart(id); err != nil {
			t.Fatalf("restart %d: %v", id, err)
		}
		if st, _ := c.Status(id); !labtest.SameConf(st.Conf, before[id]) {
			t.Fatalf("node %d: configuration before the crash %s, after restart %s", id, labtest.ConfString(before[id]), labtest.ConfString(st.Conf))
		}
	}
	c.OneAny(labtest.Cmd(2), len(want.Voters)+len(want.Learners))
	for _, id := range append(slices.Clone(want.Voters), want.Learners...) {
		if st, _ := c.Status(id); !labtest.SameConf(st.Conf, want) {
			t.Fatalf("member %d's configuration after restart is %s; the cluster's was %s", id, labtest.ConfString(st.Conf), labtest.ConfString(want))
		}
	}
}

// TestConfigurationSurvivesRestart: configurations come back from the log.
func TestConfigurationSurvivesRestart(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { confSurvivesRestart(t, 0) })
}

// TestConfigurationSurvivesRestartFromSnapshot: the same, with the changes
// compacted into snapshots (sim.Options.SnapshotBytes small).
func TestConfigurationSurvivesRestartFromSnapshot(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { confSurvivesRestart(t, 2<<10) })
}

// TestInvalidConfChangesAreRefused: changes that make no sense are refused
// and change nothing.
func TestInvalidConfChangesAreRefused(t *testing.T) {
	labtest.ForSeeds(t, 3, func(t *labtest.T) {
		c := newCluster(t, 3, 1)
		c.OneAny(labtest.Cmd(1), 3)
		lead := c.WaitLeader()
		other := without([]uint64{1, 2, 3}, lead)[0]
		c.ConfChange("add learner 4", func() error { return c.AddLearner(4) })
		for _, tc := range []struct {
			what string
			do   func() error
		}{
			{fmt.Sprintf("promote voter %d", other), func() error { return c.Promote(other) }},
			{"promote non-member 9", func() error { return c.Promote(9) }},
			{"remove non-member 9", func() error { return c.RemoveMember(9) }},
			{"add learner 4 again", func() error { return c.AddLearner(4) }},
		} {
			if err := tc.do(); err == nil {
				t.Fatalf("%s was accepted", tc.what)
			}
		}
		if err := c.TransferLeader(4); err == nil {
			t.Fatalf("a transfer to learner 4 was accepted")
		}
		if err := c.TransferLeader(lead); err != nil {
			t.Fatalf("a transfer to the leader itself: %v (want a no-op)", err)
		}
		if st := c.LeaderStatus(); st.ID != lead || !slices.Equal(st.Conf.Voters, []uint64{1, 2, 3}) || !slices.Equal(st.Conf.Learners, []uint64{4}) {
			t.Fatalf("refused changes changed something: leader %d, %s", st.ID, labtest.ConfString(st.Conf))
		}
		if _, _, err := c.Propose(lead, labtest.Cmd(2)); err != nil {
			t.Fatalf("proposals after refused changes: %v", err)
		}
	})
}
