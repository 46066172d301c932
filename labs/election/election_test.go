package election_test

import (
	"testing"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
)

// TestInitialElection: three servers elect exactly one leader, in a term of
// at least 1, and with no failures they stay with it: no needless elections.
func TestInitialElection(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 3)
		c.CheckOneLeader()
		// Give followers a moment to learn of the election.
		c.Run(c.HeartbeatInterval() * 2)
		term1 := c.CheckTerms()
		if term1 < 1 {
			t.Fatalf("term is %d, but should be at least 1", term1)
		}
		c.Run(2 * c.ElectionTimeout())
		if term2 := c.CheckTerms(); term2 != term1 {
			t.Fatalf("term changed from %d to %d with no failures", term1, term2)
		}
		c.CheckOneLeader()
	})
}

// TestReElection: a leader that is cut off is replaced; when it rejoins it
// does not disturb the new leader; without a quorum nobody is elected; when
// the quorum returns, a leader is.
func TestReElection(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 3)
		leader1 := c.CheckOneLeader()

		c.DisconnectServer(leader1)
		leader2 := c.CheckOneLeader()
		term2 := c.StatusOf(leader2).Term

		// The old leader rejoins. It must learn of the new term and follow,
		// not force a new election.
		c.ConnectServer(leader1)
		if l := c.CheckOneLeader(); l != leader2 {
			t.Fatalf("old leader %d rejoined and leadership moved from %d to %d", leader1, leader2, l)
		}
		if term := c.CheckTerms(); term != term2 {
			t.Fatalf("old leader %d rejoined and the term moved from %d to %d", leader1, term2, term)
		}

		// No quorum, no leader.
		c.DisconnectServer(leader2)
		c.DisconnectServer((leader2 + 1) % 3)
		c.Run(3 * c.ElectionTimeout())
		c.CheckNoLeader()

		// A quorum again: a leader.
		c.ConnectServer((leader2 + 1) % 3)
		c.CheckOneLeader()

		// The last server rejoins: still one leader.
		c.ConnectServer(leader2)
		c.CheckOneLeader()
	})
}

// TestManyElections: seven servers; again and again three random ones are
// cut off. The four others always have a leader.
func TestManyElections(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 7
		c := labtest.NewCluster(t, servers)
		rnd := t.Rand()
		c.CheckOneLeader()
		for range 10 {
			i1, i2, i3 := rnd.IntN(servers), rnd.IntN(servers), rnd.IntN(servers)
			c.DisconnectServer(i1)
			c.DisconnectServer(i2)
			c.DisconnectServer(i3)
			// Either the current leader is still alive, or the remaining
			// four elect a new one.
			c.CheckOneLeader()
			c.ConnectServer(i1)
			c.ConnectServer(i2)
			c.ConnectServer(i3)
		}
		c.CheckOneLeader()
	})
}

// TestPreVoteKeepsTermStable: a follower cut off for a long time keeps
// timing out, but with PreVote it never raises its term, so when it returns
// the leader stays (thesis §9.6).
func TestPreVoteKeepsTermStable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 5)
		leader := c.CheckOneLeader()
		term := c.CheckTerms()
		follower := (leader + 1) % 5
		c.DisconnectServer(follower)
		c.Run(10 * c.ElectionTimeout())
		if got := c.StatusOf(follower).Term; got != term {
			t.Fatalf("isolated follower %d moved its term from %d to %d despite PreVote", follower, term, got)
		}
		c.ConnectServer(follower)
		c.Run(2 * c.ElectionTimeout())
		if l := c.CheckOneLeader(); l != leader {
			t.Fatalf("returning follower disrupted the cluster: leader %d → %d", leader, l)
		}
		if got := c.CheckTerms(); got != term {
			t.Fatalf("returning follower disrupted the cluster: term %d → %d", term, got)
		}
	})
}

// TestCheckQuorumLeaderStepsDown: a leader that cannot hear from a majority
// steps down within about two election timeouts, so clients stop sending it
// requests it can never commit.
func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 5)
		leader := c.CheckOneLeader()
		c.DisconnectServer(leader)
		c.Run(3 * c.ElectionTimeout())
		if st := c.StatusOf(leader); st.Role == raft.Leader {
			t.Fatalf("leader %d cut off from everyone is still leader after 3 election timeouts", leader)
		}
		c.CheckOneLeader()
	})
}

// TestElectionRestriction: a server whose log lacks committed entries cannot
// be elected (§5.4.1), so committed entries survive a change of leader.
func TestElectionRestriction(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := labtest.NewCluster(t, 3)
		c.One(labtest.Cmd(1), 3, false)
		leader := c.CheckOneLeader()
		behind := (leader + 1) % 3
		ahead := (leader + 2) % 3
		c.DisconnectServer(behind)
		index := c.One(labtest.Cmd(2), 2, false) // on leader and ahead only
		// The leader goes away; behind comes back. Only ahead may win.
		c.DisconnectServer(leader)
		c.ConnectServer(behind)
		if l := c.CheckOneLeader(); l != ahead {
			t.Fatalf("server %d, missing committed entry %d, was elected; only %d could be", l, index, ahead)
		}
		c.One(labtest.Cmd(3), 2, false)
		if n, cmd := c.NCommitted(index); n < 2 || string(cmd) != string(labtest.Cmd(2)) {
			t.Fatalf("committed entry %d lost after a change of leader (now %d servers hold %q)", index, n, cmd)
		}
	})
}

// TestElectionRestrictionLastTermWins: "at least as up to date" compares the
// last entries' terms first and lengths only on a tie (§5.4.1). A cut-off
// old leader piles up a long log of uncommitted entries in an old term; the
// follower that holds a newer committed entry has a shorter log, but it — not
// the long log — must win.
func TestElectionRestrictionLastTermWins(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(1), servers, false)

		old := c.CheckOneLeader()
		c.DisconnectServer(old)
		for v := range 20 {
			c.Start(old, labtest.Cmd(100+v)) // a long log in the old term, never committed
		}
		newLeader := c.CheckOneLeader()
		index := c.One(labtest.Cmd(2), 2, false) // committed in the new term
		follower := 3 - old - newLeader

		// The new leader goes away; the old one, with its longer log,
		// returns. Only the follower, whose last term is newer, may win.
		c.DisconnectServer(newLeader)
		c.ConnectServer(old)
		if l := c.CheckOneLeader(); l != follower {
			t.Fatalf("server %d won with a longer log of an older last term (%d entries, last term %d) over server %d (last term %d): §5.4.1 compares terms first",
				l, c.StatusOf(old).LastIndex, c.StatusOf(old).LastTerm, follower, c.StatusOf(follower).LastTerm)
		}
		c.One(labtest.Cmd(3), 2, true)
		if _, cmd := c.NCommitted(index); string(cmd) != string(labtest.Cmd(2)) {
			t.Fatalf("committed entry %d lost: now %q", index, cmd)
		}
	})
}
