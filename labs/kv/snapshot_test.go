package kvlab

import (
	"fmt"
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
)

// snapBytes is the snapshot threshold of the snapshot tests
// (sim.Options.SnapshotBytes): a node compacts its log once it holds this
// many bytes of entries, every 30 to 40 puts.
const snapBytes = 2 << 10

// TestSnapshotRecover: with a small snapshot threshold every server
// compacts its log again and again. Each round a server is cut off while
// the others compact past its log, so the leader must send it a snapshot;
// then every server crashes and restarts. A restarted server on the memory
// engine has lost its state machine: it rebuilds it from its snapshot and
// the log after it. Every server's own state machine must then hold what
// the clerk wrote, including a key written once at the start, which by then
// lives in snapshots only.
func TestSnapshotRecover(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewKVCluster(t, servers, labtest.WithSnapshotBytes(snapBytes))
		rnd := t.Rand()
		ck := c.MakeClerk()
		origin := ck.Key("origin")
		vOrigin := ck.MustPut(origin, "first")
		for round := range 10 {
			for n := range 20 + rnd.IntN(40) {
				clerkStep(t, ck, rnd, fmt.Sprintf("%d.-%d", round, n))
			}
			victim := rnd.IntN(servers)
			last := c.StatusOf(victim).LastIndex
			c.DisconnectServer(victim)
			for n := 0; !compactedPast(c, victim, last); n++ {
				if n > 1000 {
					t.Fatalf("round %d: after 1000 puts the servers other than %d have not all compacted their logs past index %d", round, victim, last+1)
				}
				clerkStep(t, ck, rnd, fmt.Sprintf("%d.%d", round, n))
			}
			installs := c.Stats().Installs
			c.ConnectServer(victim)
			ck.MustPut(ck.Key("after"), fmt.Sprint(round))
			caughtUp := func() bool {
				lead, ok := c.Leader()
				if !ok {
					return false
				}
				lst, _ := c.Status(lead)
				return c.StatusOf(victim).Applied >= lst.Commit
			}
			if !c.Until(20*c.ElectionTimeout(), caughtUp) {
				t.Fatalf("round %d: server %d did not catch up within %v of coming back", round, victim, 20*c.ElectionTimeout())
			}
			if c.Stats().Installs == installs {
				t.Fatalf("round %d: server %d came back with its log ending at %d, behind every other server's snapshot, and caught up without installing a snapshot", round, victim, last)
			}

			var first [servers]uint64
			for i := range servers {
				first[i] = c.StatusOf(i).FirstIndex
			}
			c.CrashAll()
			c.RestartAll()
			for i := range servers {
				if got := c.StatusOf(i).FirstIndex; got < first[i] || got <= vOrigin {
					t.Fatalf("round %d: server %d restarted with its log starting at %d; before the crash it started at %d, and %q was written at %d", round, i, got, first[i], origin, vOrigin)
				}
			}
			ck.CheckWritten()
			ck.CheckReplicas(c)
		}
		if st := c.Stats(); st.Snapshots < 2*servers {
			t.Fatalf("the servers took %d snapshots in the whole test; each of the %d should have taken several", st.Snapshots, servers)
		}
		checkDisk(t, c)
	})
}

// compactedPast reports whether every server but victim has compacted its
// log past index last+1, the first entry victim lacks.
func compactedPast(c *labtest.KVCluster, victim int, last uint64) bool {
	for i := range c.Servers() {
		if i != victim && c.StatusOf(i).FirstIndex <= last+1 {
			return false
		}
	}
	return true
}

// TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable: everything
// at once: snapshots every few dozen entries, an unreliable network,
// partitions during each round, every server crashing after each round,
// fifteen clients and five clerks; the history must be linearizable.
func TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		c := genericTest(t, config{servers: 5, clients: 15, clerks: 5, rounds: 3, roundTime: 3 * time.Second,
			unreliable: true, crash: true, partitions: true, snapBytes: snapBytes, minOps: 300})
		if st := c.Stats(); st.Snapshots < c.Servers() {
			t.Fatalf("the servers took %d snapshots in the whole test; each of the %d should have taken some", st.Snapshots, c.Servers())
		}
		checkDisk(t, c)
	})
}

// checkDisk fails the test if some server's persisted Raft state (its
// snapshot and its log) ever passed twice the threshold plus 8 KiB, the
// bound of lab 4: a server compacts as soon as its log passes the
// threshold, and the kv store's snapshots in these tests are a few KiB.
func checkDisk(t *labtest.T, c *labtest.KVCluster) {
	t.Helper()
	if got, bound := c.MaxDiskBytes(), 2*snapBytes+8<<10; got > bound {
		t.Fatalf("a server held %d bytes of Raft state, over the bound of %d (2 × %d + 8 KiB): its log is not being compacted", got, bound, snapBytes)
	}
}
