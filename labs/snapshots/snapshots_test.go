package snapshots_test

import (
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// The snapshot thresholds of these tests (sim.Options.SnapshotBytes). A
// command costs a node about 31 bytes on disk, so at 4 KiB a node compacts
// about every 130 commands, at 2 KiB about every 65.
const (
	snapBytes    = 4 << 10
	installBytes = 2 << 10
)

// diskBound is the most persisted Raft state (its snapshot and its log, in
// bytes) a node may hold in these tests with a threshold of snap bytes.
//
// A node compacts as soon as its state passes the threshold and it has
// applied something new. Past the threshold it can only collect what it
// cannot compact yet: entries it holds but has not applied (a follower
// learns that they are committed one message later, a leader cut off from
// its quorum keeps appending its clients' commands until it steps down), a
// few hard-state records, and the snapshot record itself (tens of bytes for
// the simulator's register). In these tests that is never more than a few
// KiB, so twice the threshold plus 8 KiB leaves room and still catches a
// node that stops compacting. (The simulator's own limit, diskBound in
// sim/invariants.go, is a much looser 4 × threshold + 64 KiB.)
func diskBound(snap int) int { return 2*snap + 8<<10 }

// checkDisk fails the test if some node's persisted state ever passed
// diskBound.
func checkDisk(t *labtest.T, c *labtest.SnapCluster, snap int) {
	t.Helper()
	if got := c.MaxDiskBytes(); got > diskBound(snap) {
		t.Fatalf("a node held %d bytes of Raft state, over the bound of %d (2 × %d + 8 KiB): its log is not being compacted", got, diskBound(snap), snap)
	}
}

// counter hands out commands with distinct values.
type counter struct{ v int }

func (k *counter) next() []byte {
	k.v++
	return labtest.AppendCmd(k.v)
}

// TestSnapshotBasic: with nothing failing, every server compacts its own log
// every hundred or so commands, the servers still agree on every index they
// hold, and the cluster keeps committing.
func TestSnapshotBasic(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(snapBytes))
		rnd := t.Rand()
		var cmds counter
		c.One(cmds.next(), servers, true)
		for range 20 {
			// A batch on the leader, then one command every server must
			// commit, as MIT's snapcommon does.
			leader := c.CheckOneLeader()
			for range 20 + rnd.IntN(20) {
				c.Start(leader, cmds.next())
			}
			c.One(cmds.next(), servers, true)
		}
		for i := range servers {
			if first := c.FirstIndex(i); first <= 1 {
				t.Fatalf("server %d never compacted its log: after %d commands it still starts at index 1 (threshold %d bytes)", i, cmds.v, snapBytes)
			}
		}
		if st := c.Stats(); st.Snapshots < servers {
			t.Fatalf("in %d commands the servers took %d snapshots of their own (and installed %d from a leader): each of the %d should have compacted its own log at least once", cmds.v, st.Snapshots, st.Installs, servers)
		}
		last := c.One(cmds.next(), servers, true)
		for index := last - 30; index <= last; index++ {
			if n, _ := c.NCommitted(index); n != servers {
				t.Fatalf("index %d is committed on %d servers, want all %d", index, n, servers)
			}
		}
		c.CheckCommands()
		c.CheckStateMachines()
		checkDisk(t, c, snapBytes)
	})
}

// compactPast sends commands through the servers other than victim until
// every one of them has compacted its log past index last+1, the first entry
// the victim lacks. Whoever leads when the victim returns must then send it
// a snapshot: the entries it needs are gone.
func compactPast(t *labtest.T, c *labtest.SnapCluster, cmds *counter, servers, victim int, last uint64) {
	t.Helper()
	for sent := 0; ; sent += 11 {
		done := true
		for i := range servers {
			if i != victim && c.FirstIndex(i) <= last+1 {
				done = false
			}
		}
		if done {
			return
		}
		if sent > 3000 {
			t.Fatalf("after %d more commands, the servers other than %d have still not compacted their logs past index %d (first indices %v)", sent, victim, last+1, firstIndices(c, servers))
		}
		// Ten at once on whoever leads, then one that all of them commit.
		for i := range servers {
			if i != victim && c.Connected(i) {
				if _, _, ok := c.Start(i, cmds.next()); ok {
					for range 9 {
						c.Start(i, cmds.next())
					}
					break
				}
			}
		}
		c.One(cmds.next(), servers-1, true)
	}
}

// snapsSent returns how many MsgSnap messages were sent so far.
func snapsSent(c *labtest.SnapCluster) int {
	_, _, byType := c.MessageStats()
	return byType[raft.MsgSnap]
}

func firstIndices(c *labtest.SnapCluster, servers int) []uint64 {
	var fs []uint64
	for i := range servers {
		fs = append(fs, c.FirstIndex(i))
	}
	return fs
}

// snapcommon is MIT's snapcommon: over 30 iterations, a victim (a follower,
// or every third iteration the leader) is disconnected or crashed, the
// others go on until they have compacted their logs past the victim's, and
// the victim returns. The only way back for it is the leader's snapshot,
// and the test checks that it was installed every time.
func snapcommon(t *labtest.T, disconnect, reliable, crash bool) {
	const servers = 3
	opts := []labtest.Option{labtest.WithSnapshotBytes(installBytes)}
	if !reliable {
		opts = append(opts, labtest.Unreliable())
	}
	c := labtest.NewSnapCluster(t, servers, opts...)
	var cmds counter
	c.One(cmds.next(), servers, true)
	leader1 := c.CheckOneLeader()
	for iter := range 30 {
		victim := (leader1 + 1) % servers
		if iter%3 == 1 {
			victim = leader1
		}
		last := c.LastIndex(victim)
		if disconnect {
			c.DisconnectServer(victim)
			c.One(cmds.next(), servers-1, true)
		}
		if crash {
			c.CrashServer(victim)
			c.One(cmds.next(), servers-1, true)
		}
		compactPast(t, c, &cmds, servers, victim, last)
		installs, sent := c.Installs(), snapsSent(c)
		if disconnect {
			c.ConnectServer(victim)
		}
		if crash {
			c.RestartServer(victim)
		}
		c.One(cmds.next(), servers, true)
		if c.Installs() == installs {
			t.Fatalf("iteration %d: server %d came back with its log ending at index %d, while the others' logs start at %v; it caught up, but no snapshot was installed", iter, victim, last, firstIndices(c, servers))
		}
		// On a reliable network, one snapshot brings the victim back. In
		// a real system a snapshot is the whole state machine, possibly
		// gigabytes: sending it twice is a bug, not a detail.
		if n := snapsSent(c) - sent; reliable && n > 1 {
			t.Fatalf("iteration %d: %d snapshots (MsgSnap) were sent to bring server %d back on a reliable network; one should do", iter, n, victim)
		}
		leader1 = c.CheckOneLeader()
	}
	c.CheckCommands()
	c.CheckStateMachines()
	checkDisk(t, c, installBytes)
}

// TestSnapshotInstall: a disconnected server falls behind the compacted log
// and catches up by installing the leader's snapshot.
func TestSnapshotInstall(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { snapcommon(t, true, true, false) })
}

// TestSnapshotInstallUnreliable: the same on a network that loses,
// duplicates and delays messages (snapshots included).
func TestSnapshotInstallUnreliable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { snapcommon(t, true, false, false) })
}

// TestSnapshotInstallCrash: the victim crashes instead, and restarts from
// its own (older) snapshot and log before it gets the leader's.
func TestSnapshotInstallCrash(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { snapcommon(t, false, true, true) })
}

// TestSnapshotInstallUnCrash: crashes on the unreliable network.
func TestSnapshotInstallUnCrash(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) { snapcommon(t, false, false, true) })
}

// TestSnapshotAllCrash: all servers crash at once, repeatedly, some of them
// with commands still in flight. Each time they come back from their
// snapshots and logs, nothing committed is lost, no server's applied index
// ends up behind where it was, and new commands get later indices.
func TestSnapshotAllCrash(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(snapBytes))
		rnd := t.Rand()
		var cmds counter
		c.One(cmds.next(), servers, true)
		for iter := range 8 {
			// Perhaps enough to get a snapshot.
			for range 60 + rnd.IntN(130) {
				c.One(cmds.next(), servers, true)
			}
			index1 := c.One(cmds.next(), servers, true)
			// Some commands that may or may not be on disk when the
			// crash comes.
			leader := c.CheckOneLeader()
			for range rnd.IntN(20) {
				c.Start(leader, cmds.next())
			}
			c.Run(time.Duration(rnd.Int64N(int64(5 * time.Millisecond))))
			var applied uint64
			for i := range servers {
				applied = max(applied, c.StatusOf(i).Applied)
			}
			for i := range servers {
				c.CrashServer(i)
			}
			for i := range servers {
				c.RestartServer(i)
			}
			index2 := c.One(cmds.next(), servers, true)
			if index2 <= index1 {
				t.Fatalf("iteration %d: before the crash index %d was committed; after it a new command got index %d", iter, index1, index2)
			}
			c.Run(c.HeartbeatInterval() * 2)
			for i := range servers {
				if got := c.StatusOf(i).Applied; got < applied {
					t.Fatalf("iteration %d: before the crash a server had applied up to index %d; after the restart, with index %d committed, server %d has applied only up to %d", iter, applied, index2, i, got)
				}
			}
			c.CheckCommands()
			c.CheckStateMachines()
		}
		if c.FirstIndex(0) <= 1 {
			t.Fatalf("after %d commands, server 0 never compacted its log", cmds.v)
		}
	})
}

// TestSnapshotInit: a snapshot survives two whole-cluster restarts. After
// the first, the servers start from their snapshots and write a little;
// after the second, they must still find the snapshot under what they
// wrote.
func TestSnapshotInit(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(snapBytes))
		var cmds counter
		c.One(cmds.next(), servers, true)
		// Enough commands for every server to take a snapshot.
		for n := 0; ; n++ {
			if n > 2000 {
				t.Fatalf("after %d commands not every server has compacted its log (first indices %v)", n, firstIndices(c, servers))
			}
			compacted := true
			for i := range servers {
				compacted = compacted && c.FirstIndex(i) > 1
			}
			if compacted {
				break
			}
			c.One(cmds.next(), servers, true)
		}
		for round := 1; round <= 2; round++ {
			for i := range servers {
				c.CrashServer(i)
			}
			for i := range servers {
				c.RestartServer(i) // checks that the snapshot is still there
			}
			// A command, to get something written after the snapshot.
			c.One(cmds.next(), servers, true)
			c.CheckCommands()
			c.CheckStateMachines()
		}
	})
}

// TestSnapshotLogSizeBounded: a long run with clients while servers crash,
// restart and are cut off. No node's persisted state (snapshot and log)
// ever passes diskBound, snapshots are both taken and installed, and the
// clients' history is linearizable with no acknowledged write lost.
func TestSnapshotLogSizeBounded(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(snapBytes))
		rnd := t.Rand()
		c.StartClients(3)
		for range 40 {
			labtest.ChurnRound(c, rnd, servers)
		}
		labtest.HealAll(c, servers)
		c.Run(2 * time.Second)
		c.StopClients()
		c.Run(2 * time.Second)
		// labtest.Cmd, not AppendCmd: the register ignores it, so the
		// clients' history stays theirs alone.
		c.One(labtest.Cmd(1<<20), servers, true)
		st := c.Stats()
		if st.Snapshots == 0 || st.Installs == 0 {
			t.Fatalf("%d snapshots taken and %d installed in the whole run: the test did not exercise what it should", st.Snapshots, st.Installs)
		}
		checkDisk(t, c, snapBytes)
		c.CheckHistory()
	})
}

// TestSnapshotStaleIsIgnored: on a network that duplicates messages and
// holds some back for up to two seconds, a follower keeps falling behind and
// catching up by snapshot. Copies of old snapshots reach it after it has
// moved on; it must ignore them: its commit and applied indices never go
// back (SnapCluster checks that before every event).
func TestSnapshotStaleIsIgnored(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 3
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(installBytes),
			labtest.WithOptions(func(o *sim.Options) {
				o.Net.Dup = 0.2
				o.Net.LongDelayProb, o.Net.LongDelay = 0.2, 2*time.Second
			}))
		var cmds counter
		c.One(cmds.next(), servers, true)
		installs := c.Installs()
		for range 20 {
			leader := c.CheckOneLeader()
			victim := (leader + 1) % servers
			last := c.LastIndex(victim)
			c.DisconnectServer(victim)
			compactPast(t, c, &cmds, servers, victim, last)
			c.ConnectServer(victim)
			// Keep the cluster busy while old copies arrive, so the
			// victim moves well past the snapshot it installed.
			for range 120 {
				c.One(cmds.next(), servers-1, true)
			}
			c.Run(2 * time.Second)
		}
		c.One(cmds.next(), servers, true)
		if c.Installs() == installs {
			t.Fatalf("no snapshot was installed: the test did not exercise what it should")
		}
		c.CheckCommands()
		c.CheckStateMachines()
	})
}

// TestSnapshotWhileLeaderChanges: 5 servers. A follower falls behind; then
// the leader is cut off with a batch of commands nobody else has; the new
// leader brings the follower up by snapshot, and later the old leader too,
// whose log holds a suffix that must be thrown away.
func TestSnapshotWhileLeaderChanges(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewSnapCluster(t, servers, labtest.WithSnapshotBytes(installBytes))
		rnd := t.Rand()
		var cmds counter
		c.One(cmds.next(), servers, true)
		for iter := range 8 {
			installs := c.Installs()
			leader := c.CheckOneLeader()
			follower := (leader + 1 + rnd.IntN(servers-1)) % servers
			last := c.LastIndex(follower)
			c.DisconnectServer(follower)
			compactPast(t, c, &cmds, servers, follower, last)

			// The leader takes a batch nobody else will see, and is cut off.
			leader = c.CheckOneLeader()
			oldLast := c.LastIndex(leader)
			for range 50 + rnd.IntN(200) {
				c.Start(leader, cmds.next())
			}
			c.DisconnectServer(leader)
			c.ConnectServer(follower)
			compactPast(t, c, &cmds, servers, leader, oldLast)
			c.ConnectServer(leader)
			c.One(cmds.next(), servers, true)
			if got := c.Installs() - installs; got < 2 {
				t.Fatalf("iteration %d: %d snapshots installed; want at least 2 (by server %d, cut off while the others compacted, and by the old leader %d)", iter, got, follower, leader)
			}
		}
		c.CheckCommands()
		c.CheckStateMachines()
	})
}
