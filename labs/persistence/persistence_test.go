package persistence_test

import (
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/sim"
)

// TestPersist1: servers crash and restart — all at once, the leader, a
// follower — and the cluster keeps agreeing; nothing committed is lost.
func TestPersist1(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(11), servers, true)

		// Crash and restart everyone.
		for i := range servers {
			c.CrashServer(i)
		}
		for i := range servers {
			c.RestartServer(i)
		}
		c.One(labtest.Cmd(12), servers, true)

		leader1 := c.CheckOneLeader()
		c.CrashServer(leader1)
		c.RestartServer(leader1)
		c.One(labtest.Cmd(13), servers, true)

		leader2 := c.CheckOneLeader()
		c.CrashServer(leader2)
		c.One(labtest.Cmd(14), servers-1, true)
		c.RestartServer(leader2)
		c.Wait(4, servers, 0) // wait for leader2 to catch up

		i3 := (c.CheckOneLeader() + 1) % servers
		c.CrashServer(i3)
		c.One(labtest.Cmd(15), servers-1, true)
		c.RestartServer(i3)
		c.One(labtest.Cmd(16), servers, true)

		for index := uint64(1); index <= 6; index++ {
			if _, cmd := c.NCommitted(index); string(cmd) != string(labtest.Cmd(10+int(index))) {
				t.Fatalf("index %d holds %q after the crashes, want %q", index, cmd, labtest.Cmd(10+int(index)))
			}
		}
	})
}

// TestPersist2: five servers; repeatedly a majority crashes and restarts in
// different orders while commands keep committing.
func TestPersist2(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers)
		index := 1
		for range 5 {
			c.One(labtest.Cmd(10+index), servers, true)
			index++

			leader1 := c.CheckOneLeader()
			c.CrashServer((leader1 + 1) % servers)
			c.CrashServer((leader1 + 2) % servers)
			c.One(labtest.Cmd(10+index), servers-2, true)
			index++

			c.CrashServer(leader1)
			c.CrashServer((leader1 + 3) % servers)
			c.CrashServer((leader1 + 4) % servers)
			c.RestartServer((leader1 + 1) % servers)
			c.RestartServer((leader1 + 2) % servers)
			c.Run(c.ElectionTimeout())
			c.RestartServer((leader1 + 3) % servers)
			c.One(labtest.Cmd(10+index), servers-2, true)
			index++

			c.RestartServer((leader1 + 4) % servers)
			c.RestartServer(leader1)
		}
		c.One(labtest.Cmd(1000), servers, true)
	})
}

// TestPersist3: a leader and a follower crash right after committing; the
// server that was cut off and missed the entry returns with them.
func TestPersist3(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewCluster(t, servers)
		c.One(labtest.Cmd(101), servers, true)

		leader := c.CheckOneLeader()
		c.DisconnectServer((leader + 2) % servers)
		c.One(labtest.Cmd(102), 2, true)

		c.CrashServer(leader)
		c.CrashServer((leader + 1) % servers)
		c.ConnectServer((leader + 2) % servers)
		c.RestartServer(leader)
		c.One(labtest.Cmd(103), 2, true)

		c.RestartServer((leader + 1) % servers)
		c.One(labtest.Cmd(104), servers, true)
	})
}

// TestFigure8: propose on a leader and crash it quickly, over and over, with
// a random number of servers up. Entries of earlier terms must never be
// committed by counting replicas alone — the simulator's invariant checks
// (state machine safety, leader completeness) catch it the moment it happens.
func TestFigure8(t *testing.T) {
	labtest.ForSeeds(t, 4, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers)
		rnd := t.Rand()
		c.One(labtest.Cmd(rnd.IntN(10000)), 1, true)

		nup := servers
		for range 500 {
			leader := -1
			for i := range servers {
				if c.IsUp(c.ID(i)) {
					if _, _, ok := c.Start(i, labtest.Cmd(rnd.IntN(10000))); ok {
						leader = i
					}
				}
			}
			if rnd.IntN(1000) < 100 {
				c.Run(time.Duration(rnd.Int64N(int64(c.ElectionTimeout() / 2))))
			} else {
				c.Run(time.Duration(rnd.Int64N(int64(13 * time.Millisecond))))
			}
			if leader != -1 {
				c.CrashServer(leader)
				nup--
			}
			if nup < 3 {
				if s := rnd.IntN(servers); !c.IsUp(c.ID(s)) {
					c.RestartServer(s)
					nup++
				}
			}
		}
		for i := range servers {
			if !c.IsUp(c.ID(i)) {
				c.RestartServer(i)
			}
		}
		c.One(labtest.Cmd(rnd.IntN(10000)), servers, true)
	})
}

// TestUnreliableAgree: with loss, duplication and reordering, concurrent
// clients' proposals still commit, and what they saw is linearizable.
func TestUnreliableAgree(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers, labtest.Unreliable())
		c.StartClients(4)
		for iter := 1; iter < 50; iter++ {
			c.One(labtest.Cmd(iter), 1, true)
		}
		c.SetUnreliable(false)
		c.One(labtest.Cmd(100), servers, true)
		c.StopClients()
		c.Run(2 * time.Second)
		if ops, _ := c.ClientOps(); ops < 50 {
			t.Fatalf("only %d client operations completed on an unreliable network", ops)
		}
		c.CheckHistory()
	})
}

// TestFigure8Unreliable: Figure 8 with an unreliable network, long
// reordering, and leaders cut off instead of crashed.
func TestFigure8Unreliable(t *testing.T) {
	labtest.ForSeeds(t, 4, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewCluster(t, servers, labtest.Unreliable())
		rnd := t.Rand()
		c.One(labtest.Cmd(rnd.IntN(10000)), 1, true)

		nup := servers
		for iters := range 500 {
			if iters == 100 {
				c.SetLongReordering(true)
			}
			leader := -1
			for i := range servers {
				if _, _, ok := c.Start(i, labtest.Cmd(rnd.IntN(10000))); ok && c.Connected(i) {
					leader = i
				}
			}
			if rnd.IntN(1000) < 100 {
				c.Run(time.Duration(rnd.Int64N(int64(c.ElectionTimeout() / 2))))
			} else {
				c.Run(time.Duration(rnd.Int64N(int64(13 * time.Millisecond))))
			}
			if leader != -1 && rnd.IntN(1000) < int(c.ElectionTimeout()/time.Millisecond)/2 {
				c.DisconnectServer(leader)
				nup--
			}
			if nup < 3 {
				if s := rnd.IntN(servers); !c.Connected(s) {
					c.ConnectServer(s)
					nup++
				}
			}
		}
		for i := range servers {
			c.ConnectServer(i)
		}
		c.SetLongReordering(false)
		c.One(labtest.Cmd(rnd.IntN(10000)), servers, true)
	})
}

// churn runs clients while servers crash, restart and are cut off for many
// rounds, then checks that every value a client saw committed is in the
// final log, and that the history is linearizable.
func churn(t *labtest.T, unreliable bool) {
	const servers = 5
	var opts []labtest.Option
	if unreliable {
		opts = append(opts, labtest.Unreliable())
	}
	c := labtest.NewCluster(t, servers, opts...)
	rnd := t.Rand()
	c.StartClients(3)
	for range 20 {
		labtest.ChurnRound(c, rnd, servers)
	}
	c.Run(c.ElectionTimeout())
	c.SetUnreliable(false)
	labtest.HealAll(c, servers)
	c.Run(2 * time.Second)
	c.StopClients()
	c.Run(2 * time.Second)
	c.One(labtest.Cmd(1<<20), servers, true)
	if ops, _ := c.ClientOps(); ops == 0 {
		t.Fatalf("no client operation completed during churn")
	}
	c.CheckHistory()
}

// TestReliableChurn: churn on a reliable network.
func TestReliableChurn(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) { churn(t, false) })
}

// TestUnreliableChurn: churn on a lossy, duplicating, reordering network.
func TestUnreliableChurn(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) { churn(t, true) })
}

// TestPersistBeforeSend shows what the persistence contract protects
// against. A node that sends a Ready's messages before its fsync completes
// can acknowledge entries, or grant votes, that a crash then erases: over a
// sweep of seeds with crashes, the simulator catches a broken invariant or a
// lost acknowledged write. The same sweep with the contract kept is clean.
func TestPersistBeforeSend(t *testing.T) {
	sweep := func(broken bool) (violations int, example error) {
		for seed := uint64(1); seed <= 60; seed++ {
			o := sim.DefaultOptions(seed)
			o.Faults = sim.FaultCrash
			o.Duration = 5 * time.Second
			o.FsyncLatency = 5 * time.Millisecond // a slow disk widens the window
			o.SendBeforeSync = broken
			if res := sim.Run(o, 30*time.Second); res.Violation != nil {
				violations++
				if example == nil {
					example = res.Violation
				}
			}
		}
		return violations, example
	}
	if n, err := sweep(false); n > 0 {
		t.Fatalf("%d of 60 seeds broke with the contract kept; first: %v", n, err)
	}
	n, err := sweep(true)
	if n == 0 {
		t.Fatalf("sending before fsync broke nothing in 60 seeds: the simulator's crashes are too gentle to show why the contract matters")
	}
	t.Logf("sending before fsync: %d of 60 seeds broke; first: %v", n, err)
}
