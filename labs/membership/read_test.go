package membership_test

import (
	"errors"
	"testing"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// write appends v to the register through the leader and waits until it is
// committed on expected nodes: a write a client saw acknowledged.
func write(c *labtest.Cluster, v uint64, expected int) uint64 {
	return c.OneAny(sim.AppendCommand(v), expected)
}

// deposeSlowLeader, on five nodes, commits value 1, then cuts the leader
// off with one follower and its clock running ten times slow, so that for a
// while it still believes it leads; the other three elect a new leader and
// commit value 2. It returns the old leader, the follower that stayed with
// it, and the new leader.
func deposeSlowLeader(t *labtest.T, c *labtest.Cluster) (old, stayed, next uint64) {
	t.Helper()
	all := []uint64{1, 2, 3, 4, 5}
	write(c, 1, 5)
	old = c.WaitLeader()
	rest := without(all, old)
	stayed = rest[t.Rand().IntN(len(rest))]
	c.SetTickSkew(old, 10)
	c.Partition([]uint64{old, stayed}, without(rest, stayed))
	next = c.WaitLeader(without(rest, stayed)...)
	write(c, 2, 3)
	if st, _ := c.Status(old); st.Role != raft.Leader {
		t.Fatalf("test setup: the cut-off leader %d should still believe it leads (its clock is slow), but it is %v", old, st.Role)
	}
	return old, stayed, next
}

// TestStaleLeaderCannotServeReads: a leader cut off from the majority (here
// with one follower, 2 of 5) may not know yet that it was deposed. A read on
// it must not be served: it cannot confirm its leadership with a quorum. A
// follower of the new leader serves the new value, and so does the old
// leader once it is back.
func TestStaleLeaderCannotServeReads(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 5, 0)
		old, stayed, next := deposeSlowLeader(t, c)
		got, err := c.Read(old, 2*c.ElectionTimeout())
		if err == nil {
			t.Fatalf("the deposed leader %d, cut off with only %d, served a read: %d values, last %d, while leader %d had committed value 2: a stale read", old, stayed, got.Len, got.Last, next)
		}
		if !errors.Is(err, sim.ErrReadTimeout) {
			t.Fatalf("read on the deposed leader %d: %v, want sim.ErrReadTimeout", old, err)
		}
		follower := without([]uint64{1, 2, 3, 4, 5}, old, stayed, next)[0]
		if got, err := c.Read(follower, c.ElectionTimeout()); err != nil || got.Len != 2 || got.Last != 2 {
			t.Fatalf("read on %d, a follower of the new leader %d: %+v, %v; want 2 values, last 2", follower, next, got, err)
		}
		c.SetTickSkew(old, 1)
		c.Heal()
		c.Run(c.ElectionTimeout())
		if got, err := c.Read(old, c.ElectionTimeout()); err != nil || got.Len != 2 || got.Last != 2 {
			t.Fatalf("read on %d after it rejoined: %+v, %v; want 2 values, last 2", old, got, err)
		}
	})
}

// TestReadAfterElectionWaitsForTermCommit: a new leader may not know yet
// that its predecessor's last entry was committed. Value 2 is committed by
// the old leader, which is cut off before it tells anyone; a read on the new
// leader, asked the moment it is elected, must still see value 2: the
// leader waits for its first commit in its term before it takes a read
// index.
func TestReadAfterElectionWaitsForTermCommit(t *testing.T) {
	labtest.ForSeeds(t, 20, func(t *labtest.T) {
		c := newCluster(t, 3, 0)
		write(c, 1, 3)
		old := c.WaitLeader()
		index, _, err := c.Propose(old, sim.AppendCommand(2))
		if err != nil {
			t.Fatalf("propose on leader %d: %v", old, err)
		}
		// Cut the old leader off the moment it has committed value 2.
		ok := c.Until(c.ElectionTimeout(), func() bool {
			st, _ := c.Status(old)
			return st.Commit >= index
		})
		if !ok {
			t.Fatalf("leader %d did not commit value 2 (index %d) within an election timeout", old, index)
		}
		c.Disconnect(old)
		rest := without([]uint64{1, 2, 3}, old)
		for _, id := range rest {
			if st, _ := c.Status(id); st.Commit >= index {
				t.Fatalf("test setup: follower %d already knows index %d is committed", id, index)
			}
		}
		next := c.WaitLeader(rest...)
		got, err := c.Read(next, c.ElectionTimeout())
		if err != nil {
			t.Fatalf("read on the new leader %d: %v", next, err)
		}
		if got.Len != 2 || got.Last != 2 {
			t.Fatalf("read on new leader %d, asked as soon as it was elected, returned %d values (last %d), but value 2 (index %d) was committed before: a leader must commit an entry of its term before it answers a read", next, got.Len, got.Last, index)
		}
	})
}

// TestFollowerReadsAreLinearizable: a follower that fell behind serves a
// read only after catching up to the leader's commit index, so it returns
// the latest acknowledged write, never an older one.
func TestFollowerReadsAreLinearizable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := newCluster(t, 5, 0)
		all := []uint64{1, 2, 3, 4, 5}
		rnd := t.Rand()
		write(c, 1, 5)
		for v := uint64(2); v <= 11; v++ {
			lead := c.WaitLeader()
			others := without(all, lead)
			f := others[rnd.IntN(len(others))]
			// f misses value v: the others acknowledge and commit it.
			c.BlockLink(lead, f)
			write(c, v, 4)
			c.Heal()
			got, err := c.Read(f, c.ElectionTimeout())
			if err != nil {
				t.Fatalf("read on follower %d after value %d was acknowledged: %v", f, v, err)
			}
			if got.Len != int(v) || got.Last != v {
				t.Fatalf("follower %d read %d values (last %d) after value %d was acknowledged: a stale read", f, got.Len, got.Last, v)
			}
		}
	})
}

// TestLeaseReadsTrustTheClock shows the assumption lease reads rest on. With
// Config.LeaseReads a leader answers reads without asking a quorum, trusting
// that nobody else can have been elected since it last heard from one. A
// leader whose clock runs slow (here ten times) believes that for too long,
// and serves a stale value. (TestStaleLeaderCannotServeReads is the same
// scenario with ReadIndex, which does not depend on clocks.)
func TestLeaseReadsTrustTheClock(t *testing.T) {
	labtest.ForSeeds(t, 5, func(t *labtest.T) {
		c := newCluster(t, 5, 0, labtest.WithOptions(func(o *sim.Options) { o.Raft.LeaseReads = true }))
		old, _, next := deposeSlowLeader(t, c)
		got, err := c.Read(old, 2*c.ElectionTimeout())
		if err != nil || got.Last != 1 {
			t.Fatalf("the deposed leader %d with a slow clock and lease reads answered %+v, %v; this test expects the stale value 1, to show that lease reads trust the clock", old, got, err)
		}
		t.Logf("lease read on deposed leader %d: %d values, last %d; leader %d had committed value 2", old, got.Len, got.Last, next)
	})
}
