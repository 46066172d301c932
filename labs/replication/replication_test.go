package replication_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
)

// TestBasicAgree: commands get indices 1, 2, 3, ... and nothing is committed
// before it was proposed.
func TestBasicAgree(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		for index := uint64(1); index <= 3; index++ {
			if n, _ := c.NCommitted(index); n > 0 {
				t.Fatalf("index %d committed on %d servers before Start()", index, n)
			}
			if got := c.One(labtest.Cmd(int(index)*100), servers, false); got != index {
				t.Fatalf("got index %d but expected %d", got, index)
			}
		}
	})
}

// TestRPCBytes: each command crosses the network about once per follower —
// no resending of whole logs.
func TestRPCBytes(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		rnd := t.Rand()
		c.One(labtest.Cmd(99), servers, false)
		bytes0 := c.BytesTotal()
		sent := 0
		for index := uint64(2); index < 10; index++ {
			cmd := make([]byte, 5000)
			for i := range cmd {
				cmd[i] = byte('a' + rnd.IntN(26))
			}
			if got := c.One(cmd, servers, false); got != index {
				t.Fatalf("got index %d but expected %d", got, index)
			}
			sent += len(cmd)
		}
		got, expected := c.BytesTotal()-bytes0, (servers-1)*sent
		if got > expected+50000 {
			t.Fatalf("too many RPC bytes; got %d, expected about %d", got, expected)
		}
	})
}

// TestFollowerFailure: progress continues while a quorum is up, and stops
// when it is not.
func TestFollowerFailure(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(101), servers, false)

		leader1 := c.CheckOneLeader()
		c.DisconnectServer((leader1 + 1) % servers)
		c.One(labtest.Cmd(102), servers-1, false)
		c.Run(c.ElectionTimeout())
		c.One(labtest.Cmd(103), servers-1, false)

		// Cut off the remaining follower too.
		leader2 := c.CheckOneLeader()
		c.DisconnectServer((leader2 + 1) % servers)
		c.DisconnectServer((leader2 + 2) % servers)
		index, _, ok := c.Start(leader2, labtest.Cmd(104))
		if !ok {
			t.Fatalf("leader rejected Start()")
		}
		if index != 4 {
			t.Fatalf("expected index 4, got %d", index)
		}
		c.Run(2 * c.ElectionTimeout())
		if n, _ := c.NCommitted(index); n > 0 {
			t.Fatalf("%d servers committed index %d without a majority", n, index)
		}
	})
}

// TestLeaderFailure: a new leader takes over from a failed one; without a
// quorum nothing commits.
func TestLeaderFailure(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(101), servers, false)

		leader1 := c.CheckOneLeader()
		c.DisconnectServer(leader1)
		c.One(labtest.Cmd(102), servers-1, false)
		c.Run(c.ElectionTimeout())
		c.One(labtest.Cmd(103), servers-1, false)

		leader2 := c.CheckOneLeader()
		c.DisconnectServer(leader2)
		for i := range servers {
			c.Start(i, labtest.Cmd(104))
		}
		c.Run(2 * c.ElectionTimeout())
		if n, _ := c.NCommitted(4); n > 0 {
			t.Fatalf("%d servers committed index 4 without a majority", n)
		}
	})
}

// TestFailAgree: a follower that was cut off catches up when it returns.
func TestFailAgree(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(101), servers, false)

		leader := c.CheckOneLeader()
		c.DisconnectServer((leader + 1) % servers)
		for v := 102; v <= 105; v++ {
			c.One(labtest.Cmd(v), servers-1, false)
		}
		c.ConnectServer((leader + 1) % servers)
		c.One(labtest.Cmd(106), servers, true)
		c.Run(c.ElectionTimeout())
		c.One(labtest.Cmd(107), servers, true)
	})
}

// TestFailNoAgree: with three of five followers cut off, a proposal gets an
// index but never commits; after healing, agreement resumes.
func TestFailNoAgree(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(10), servers, false)

		leader := c.CheckOneLeader()
		for k := 1; k <= 3; k++ {
			c.DisconnectServer((leader + k) % servers)
		}
		index, _, ok := c.Start(leader, labtest.Cmd(20))
		if !ok {
			t.Fatalf("leader rejected Start()")
		}
		if index != 2 {
			t.Fatalf("expected index 2, got %d", index)
		}
		c.Run(2 * c.ElectionTimeout())
		if n, _ := c.NCommitted(index); n > 0 {
			t.Fatalf("%d committed but no majority", n)
		}

		for k := 1; k <= 3; k++ {
			c.ConnectServer((leader + k) % servers)
		}
		// The disconnected majority may have chosen a leader of its own and
		// forgotten index 2, or not.
		leader2 := c.CheckOneLeader()
		index2, _, ok2 := c.Start(leader2, labtest.Cmd(30))
		if !ok2 {
			t.Fatalf("leader2 rejected Start()")
		}
		if index2 < 2 || index2 > 3 {
			t.Fatalf("unexpected index %d", index2)
		}
		c.One(labtest.Cmd(1000), servers, true)
	})
}

// TestConcurrentStarts: several proposals made in the same instant in one
// term all commit.
func TestConcurrentStarts(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		for try := 0; ; try++ {
			if try == 5 {
				t.Fatalf("term changed too often")
			}
			if try > 0 {
				c.Run(3 * c.ElectionTimeout()) // give the cluster a chance to settle
			}
			leader := c.CheckOneLeader()
			_, term, ok := c.Start(leader, labtest.Cmd(1))
			if !ok {
				continue
			}
			var indices []uint64
			for i := range 5 {
				index, term1, ok := c.Start(leader, labtest.Cmd(100+i))
				if !ok || term1 != term {
					break
				}
				indices = append(indices, index)
			}
			if len(indices) < 5 {
				continue
			}
			var got []string
			changed := false
			for _, index := range indices {
				cmd := c.Wait(index, servers, term)
				if cmd == nil {
					changed = true
					break
				}
				got = append(got, string(cmd))
			}
			if changed {
				continue
			}
			for i := range 5 {
				if want := string(labtest.Cmd(100 + i)); !slices.Contains(got, want) {
					t.Fatalf("command %q missing in %v", want, got)
				}
			}
			return
		}
	})
}

// TestRejoin: a partitioned leader with uncommitted entries rejoins and its
// entries are overwritten by the new leader's.
func TestRejoin(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(101), servers, true)

		leader1 := c.CheckOneLeader()
		c.DisconnectServer(leader1)
		// The old leader accepts proposals it can never commit.
		c.Start(leader1, labtest.Cmd(102))
		c.Start(leader1, labtest.Cmd(103))
		c.Start(leader1, labtest.Cmd(104))

		c.One(labtest.Cmd(103), 2, true)

		leader2 := c.CheckOneLeader()
		c.DisconnectServer(leader2)
		c.ConnectServer(leader1)
		c.One(labtest.Cmd(104), 2, true)

		c.ConnectServer(leader2)
		c.One(labtest.Cmd(105), servers, true)
	})
}

// TestBackup: five servers; minority leaders pile up many uncommitted
// entries; fast backtracking brings the divergent logs in line in a few
// round trips per follower, not one per entry.
func TestBackup(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers)
		rnd := t.Rand()
		cmd := func() []byte { return labtest.Cmd(rnd.IntN(1 << 30)) }
		c.One(cmd(), servers, true)

		// Put the leader and one follower in a partition.
		leader1 := c.CheckOneLeader()
		for k := 2; k <= 4; k++ {
			c.DisconnectServer((leader1 + k) % servers)
		}
		// Lots of proposals that will not commit.
		for range 50 {
			c.Start(leader1, cmd())
		}
		c.Run(c.ElectionTimeout() / 2)
		c.DisconnectServer(leader1)
		c.DisconnectServer((leader1 + 1) % servers)

		// Let the other partition accept the same number of entries.
		for k := 2; k <= 4; k++ {
			c.ConnectServer((leader1 + k) % servers)
		}
		for range 50 {
			c.One(cmd(), 3, true)
		}

		// Now another partitioned leader and one follower.
		leader2 := c.CheckOneLeader()
		other := (leader1 + 2) % servers
		if leader2 == other {
			other = (leader2 + 1) % servers
		}
		c.DisconnectServer(other)
		for range 50 {
			c.Start(leader2, cmd())
		}
		c.Run(c.ElectionTimeout() / 2)

		// Bring the original leader back to life.
		for i := range servers {
			c.DisconnectServer(i)
		}
		c.ConnectServer(leader1)
		c.ConnectServer((leader1 + 1) % servers)
		c.ConnectServer(other)
		for range 50 {
			c.One(cmd(), 3, true)
		}

		// Everyone now; count how many appends are rejected while the
		// divergent logs converge.
		rejected0 := c.RejectedAppends()
		for i := range servers {
			c.ConnectServer(i)
		}
		c.One(cmd(), servers, true)
		if r := c.RejectedAppends() - rejected0; r > 20 {
			t.Fatalf("%d appends were rejected while logs converged; fast backup should need a few per follower", r)
		}
	})
}

// TestCount: message budgets. Few messages to elect a leader, about one
// append (and its answer) per follower per command, and no more than the
// heartbeats when idle.
func TestCount(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		leader := c.CheckOneLeader()

		_, _, byType := c.MessageStats()
		election := byType[raft.MsgPreVote] + byType[raft.MsgPreVoteResp] + byType[raft.MsgVote] + byType[raft.MsgVoteResp]
		if election > 30 || election < 1 {
			t.Fatalf("too many or too few messages (%d) to elect the initial leader", election)
		}

		// Ten commands at once: about 2 messages per follower each, plus
		// the heartbeats of the time it takes.
		for try := 0; ; try++ {
			if try == 5 {
				t.Fatalf("term changed too often")
			}
			leader = c.CheckOneLeader()
			total1, start := c.MessageCount(), c.Now()
			index, term, ok := c.Start(leader, labtest.Cmd(1))
			if !ok {
				continue
			}
			const iters = 10
			failed := false
			for i := 1; i < iters+2 && !failed; i++ {
				index1, term1, ok := c.Start(leader, labtest.Cmd(100+i))
				failed = !ok || term1 != term || index1 != index+uint64(i)
			}
			for i := 1; i <= iters+1 && !failed; i++ {
				failed = c.Wait(index+uint64(i), servers, term) == nil
			}
			if failed || c.StatusOf(leader).Term != term {
				continue
			}
			heartbeats := heartbeatBudget(c, servers, c.Now()-start)
			if used := c.MessageCount() - total1; used > 2*(servers-1)*(iters+2)+heartbeats {
				t.Fatalf("too many messages (%d) for %d entries (budget %d + %d for heartbeats)", used, iters+2, 2*(servers-1)*(iters+2), heartbeats)
			}
			break
		}

		// Idle for a second: only heartbeats and their answers.
		total2 := c.MessageCount()
		c.Run(time.Second)
		if used, budget := c.MessageCount()-total2, heartbeatBudget(c, servers, time.Second); used > budget {
			t.Fatalf("too many messages (%d) in 1s of idleness; heartbeats need %d", used, budget)
		}
	})
}

// heartbeatBudget is what heartbeats (and their answers) to every follower
// cost over d, with one period of slack.
func heartbeatBudget(c *labtest.Cluster, servers int, d time.Duration) int {
	periods := int(d/c.HeartbeatInterval()) + 1
	return 2 * (servers - 1) * periods
}

// TestLeaderNoopCommitsEarlierTerms: an entry from an earlier term that a new
// leader holds is committed only once the leader commits an entry of its own
// term (§5.4.2). With the no-op that happens right after the election;
// without it, only when a client proposes something.
func TestLeaderNoopCommitsEarlierTerms(t *testing.T) {
	for _, noop := range []bool{false, true} {
		t.Run(fmt.Sprintf("noop=%v", noop), func(t *testing.T) {
			labtest.ForSeeds(t, 5, func(t *labtest.T) {
				const servers = 3
				var opts []labtest.Option
				if noop {
					opts = append(opts, labtest.WithLeaderNoop())
				}
				c := labtest.NewCluster(t, servers, opts...)
				c.One(labtest.Cmd(1), servers, false)
				leader := c.CheckOneLeader()

				// An entry reaches both followers' logs, and the leader dies
				// before it can tell them it is committed.
				index, _, _ := c.Start(leader, labtest.Cmd(2))
				c.RunUntil(c.ElectionTimeout(), func() bool {
					for i := range servers {
						if c.StatusOf(i).LastIndex < index {
							return false
						}
					}
					return true
				})
				c.CrashServer(leader)
				for i := range servers {
					if i != leader && c.StatusOf(i).Commit >= index {
						t.Skip("a follower learned of the commit before the leader crashed; nothing to show with this seed")
					}
				}

				c.CheckOneLeader()
				c.Run(c.ElectionTimeout())
				n, _ := c.NCommitted(index)
				switch {
				case noop && n < servers-1:
					t.Fatalf("with the leader no-op, entry %d of the previous term should be committed on both live servers (is on %d)", index, n)
				case !noop && n > 0:
					t.Fatalf("without the no-op, entry %d of the previous term was committed with no entry of the new term: counting replicas of old entries is what Figure 8 forbids", index)
				}
				c.One(labtest.Cmd(3), servers-1, true)
				if n, cmd := c.NCommitted(index); n < servers-1 || string(cmd) != string(labtest.Cmd(2)) {
					t.Fatalf("entry %d of the previous term lost (on %d servers: %q)", index, n, cmd)
				}
			})
		})
	}
}

// TestFigure8Scenario builds the situation of the paper's Figure 8 step by
// step and checks that an entry of an earlier term is not committed by
// counting replicas. Names follow the figure: s1 leads term 2, s5 term 3.
//
//	(a) s1 leads; its entry X (term 2) reaches only s2.
//	(b) s5 is elected by s3, s4 and itself, appends Y (term 3) at the same
//	    index, and crashes before sending it.
//	(c) s1 (or s2) leads again and copies X to a majority. X is now on
//	    three servers — yet committing it would be wrong, because...
//	(d) ...after that leader crashes, s5 can still win (its last term, 3,
//	    beats 2) and overwrite X with Y everywhere.
//
// The labs run without the leader's no-op, which is what makes (c) possible:
// the no-op would be an entry of the current term, and committing it would
// legitimately commit X. If the leader in (c) commits X by counting, the
// simulator sees the committed entry change in (d).
func TestFigure8Scenario(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(1), servers, false)

		s1 := c.CheckOneLeader()
		s2 := (s1 + 1) % servers
		rest := []int{(s1 + 2) % servers, (s1 + 3) % servers, (s1 + 4) % servers}
		ids := func(is ...int) []uint64 {
			var out []uint64
			for _, i := range is {
				out = append(out, c.ID(i))
			}
			return out
		}

		// (a) X reaches s2 only.
		c.Partition(ids(s1, s2), ids(rest...))
		xIndex, _, ok := c.Start(s1, labtest.Cmd(2))
		if !ok {
			t.Fatalf("s1 lost leadership before (a)")
		}
		c.RunUntil(c.ElectionTimeout(), func() bool { return c.StatusOf(s2).LastIndex >= xIndex })

		// (b) The other three elect a leader: that is s5.
		s5 := -1
		c.RunUntil(10*c.ElectionTimeout(), func() bool {
			for _, i := range rest {
				if c.StatusOf(i).Role == raft.Leader {
					s5 = i
					return true
				}
			}
			return false
		})
		if s5 < 0 {
			t.Fatalf("the majority partition elected no leader")
		}
		// s5 appends Y but nobody hears of it: it persists Y, then crashes.
		for _, i := range rest {
			if i != s5 {
				c.BlockLink(c.ID(s5), c.ID(i))
			}
		}
		yIndex, _, ok := c.Start(s5, labtest.Cmd(3))
		if !ok || yIndex != xIndex {
			t.Fatalf("s5 should append Y at X's index %d (got %d, leader=%v)", xIndex, yIndex, ok)
		}
		c.Run(20 * time.Millisecond)
		s5Term := c.StatusOf(s5).Term
		c.CrashServer(s5)

		// (c) Everyone else reconnects; s1 or s2 (the only logs holding
		// term 2) wins and copies X to the others.
		c.Heal()
		leader := -1
		c.RunUntil(10*c.ElectionTimeout(), func() bool {
			for _, i := range []int{s1, s2} {
				if st := c.StatusOf(i); st.Role == raft.Leader && st.Term > s5Term {
					leader = i
					return true
				}
			}
			return false
		})
		if leader < 0 {
			t.Fatalf("neither s1 nor s2 became leader in (c)")
		}
		xTerm, _ := c.Raft(c.ID(s2)).Term(xIndex)
		holders := func() int {
			n := 0
			for i := range servers {
				if i == s5 {
					continue
				}
				if tm, ok := c.Raft(c.ID(i)).Term(xIndex); ok && tm == xTerm {
					n++
				}
			}
			return n
		}
		c.RunUntil(3*c.ElectionTimeout(), func() bool { return holders() >= 3 })
		if holders() < 3 {
			t.Fatalf("X did not reach a majority in (c)")
		}
		c.Run(c.HeartbeatInterval() * 2)
		if st := c.StatusOf(leader); st.Commit >= xIndex {
			t.Fatalf("the term-%d leader committed X (index %d, term %d) by counting replicas: Figure 8 forbids it", st.Term, xIndex, xTerm)
		}

		// (d) That leader crashes; s5 comes back and may overwrite X.
		c.CrashServer(leader)
		c.RestartServer(s5)
		c.Run(5 * c.ElectionTimeout())
		c.One(labtest.Cmd(4), servers-1, true)
		c.RestartServer(leader)
		c.One(labtest.Cmd(5), servers, true)
	})
}
