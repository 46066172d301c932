package membership_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// transferTo hands leadership from the current leader to target and checks
// that proposals are refused at once, and that target leads within an
// election timeout, in the next term. It returns how long that took.
func transferTo(t *labtest.T, c *labtest.Cluster, target uint64) time.Duration {
	t.Helper()
	old := c.WaitLeader()
	ost, _ := c.Status(old)
	start := c.Now()
	if err := c.TransferLeader(target); err != nil {
		t.Fatalf("transfer from %d to %d: %v", old, target, err)
	}
	if _, _, err := c.Propose(old, labtest.Cmd(99)); !errors.Is(err, raft.ErrTransferInProgress) {
		t.Fatalf("leader %d accepted a proposal while handing over to %d: got %v, want raft.ErrTransferInProgress", old, target, err)
	}
	ok := c.Until(c.ElectionTimeout(), func() bool {
		st, _ := c.Status(target)
		return st.Role == raft.Leader
	})
	if !ok {
		st, _ := c.Status(target)
		t.Fatalf("transfer from %d to %d: after %v (an election timeout) %d is %v in term %d", old, target, c.ElectionTimeout(), target, st.Role, st.Term)
	}
	took := c.Now() - start
	if st, _ := c.Status(target); st.Term != ost.Term+1 {
		t.Fatalf("transfer from %d to %d: it leads term %d, want %d (one election, right away)", old, target, st.Term, ost.Term+1)
	}
	return took
}

// TestLeaderTransfer: leadership moves to the chosen voter within an
// election timeout (an election after a crash takes at least one), also
// when the target must catch up first; proposals are refused meanwhile. A
// transfer to a target that is cut off gives up after an election timeout,
// and the leader accepts proposals again.
func TestLeaderTransfer(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 5, 0)
		all := []uint64{1, 2, 3, 4, 5}
		rnd := t.Rand()
		c.OneAny(labtest.Cmd(1), 5)

		// An up-to-date target.
		lead := c.WaitLeader()
		others := without(all, lead)
		target := others[rnd.IntN(len(others))]
		took := transferTo(t, c, target)
		t.Logf("transfer to up-to-date %d took %v", target, took)
		c.OneAny(labtest.Cmd(2), 5)
		if l := c.WaitLeader(); l != target {
			t.Fatalf("after the transfer %d leads, not %d", l, target)
		}

		// A target that missed entries: the leader catches it up first.
		lead = target
		others = without(all, lead)
		target = others[rnd.IntN(len(others))]
		c.BlockLink(lead, target)
		for i := range 5 {
			c.OneAny(labtest.Cmd(10+i), 4)
		}
		c.Heal()
		if tst, _ := c.Status(target); tst.LastIndex >= c.LeaderStatus().LastIndex {
			t.Fatalf("test setup: %d should lag behind the leader's log", target)
		}
		took = transferTo(t, c, target)
		t.Logf("transfer to lagging %d took %v", target, took)
		c.OneAny(labtest.Cmd(20), 5)

		// A target that is cut off: the transfer gives up.
		lead = target
		others = without(all, lead)
		target = others[rnd.IntN(len(others))]
		c.Disconnect(target)
		st, _ := c.Status(lead)
		if err := c.TransferLeader(target); err != nil {
			t.Fatalf("transfer from %d to cut-off %d: %v", lead, target, err)
		}
		c.Run(c.ElectionTimeout() / 2)
		if _, _, err := c.Propose(lead, labtest.Cmd(30)); !errors.Is(err, raft.ErrTransferInProgress) {
			t.Fatalf("leader %d accepted a proposal half an election timeout into a transfer to %d: got %v, want raft.ErrTransferInProgress", lead, target, err)
		}
		c.Run(c.ElectionTimeout()/2 + 2*c.HeartbeatInterval())
		if _, _, err := c.Propose(lead, labtest.Cmd(31)); err != nil {
			t.Fatalf("leader %d still refuses proposals %v after starting a transfer to cut-off %d: %v (it must give up after an election timeout)", lead, c.ElectionTimeout()+2*c.HeartbeatInterval(), target, err)
		}
		if now, _ := c.Status(lead); now.Role != raft.Leader || now.Term != st.Term {
			t.Fatalf("leader %d (term %d) is %v in term %d after a failed transfer", lead, st.Term, now.Role, now.Term)
		}
		c.Connect(target)
		c.OneAny(labtest.Cmd(32), 5)
	})
}

// TestRemovedServerCannotDisrupt: a removed server keeps running and never
// hears from the leader again. It never learned of its removal (the leader
// stops replicating to it as soon as the change is in its log), so it times
// out and campaigns, over and over. PreVote and CheckQuorum keep that from
// raising the cluster's term. The same cluster without them shows what they
// protect against.
func TestRemovedServerCannotDisrupt(t *testing.T) {
	run := func(t *labtest.T, protected bool) (elections int, termBefore, termAfter uint64) {
		c := newCluster(t, 3, 0, labtest.WithOptions(func(o *sim.Options) {
			o.Raft.PreVote, o.Raft.CheckQuorum = protected, protected
		}))
		c.OneAny(labtest.Cmd(1), 3)
		lead := c.WaitLeader()
		gone := without([]uint64{1, 2, 3}, lead)[t.Rand().IntN(2)]
		c.ConfChange(fmt.Sprintf("remove %d", gone), func() error { return c.RemoveMember(gone) })
		c.OneAny(labtest.Cmd(2), 2)
		before := c.Stats().Elections
		termBefore = c.LeaderStatus().Term
		for i := range 10 {
			c.Run(2 * c.ElectionTimeout())
			c.OneAny(labtest.Cmd(3+i), 2)
		}
		return c.Stats().Elections - before, termBefore, c.LeaderStatus().Term
	}
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		if n, before, after := run(t, true); n > 0 || after != before {
			t.Fatalf("with PreVote and CheckQuorum, a removed server caused %d elections (term %d -> %d)", n, before, after)
		}
		if n, before, after := run(t, false); after == before {
			t.Fatalf("without PreVote and CheckQuorum, the removed server did not disturb the cluster (%d elections, term %d); this test no longer shows what they protect against", n, before)
		}
	})
}
