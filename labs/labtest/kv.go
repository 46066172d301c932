package labtest

// Helpers for lab 6 (linearizable kv, in the style of MIT 6.5840's kvraft).
//
// The lab runs minikv's real kv state machine (package kv) on every node
// instead of the register of labs 1–5, with two kinds of client:
//
//   - clerks (sim.Clerk, wrapped here in Clerk): synchronous, one call at a
//     time, driven by the test body like MIT's Clerk. A clerk call runs the
//     simulation until the operation completes, retrying through leader
//     changes, partitions and crashes on its session, so no retry applies
//     twice. Each clerk writes keys of its own ("clerk/<name>/...") and
//     checks what it reads back: the value and the version it wrote last;
//   - autonomous clients ((*sim.Sim).StartClients): they run in the
//     background while clerk calls and RunFor advance time, and their
//     history goes through porcupine (CheckKVHistory). Clerk keys are outside
//     their key groups, so clerks never disturb that history.
//
// A test's own faults run as simulation events (sim.(*Sim).After), so that
// they strike while a clerk call is running, as MIT's partitioner goroutine
// does.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/sim"
)

// KVCluster is a Cluster replicating the kv store.
type KVCluster struct {
	*Cluster
	clerks int
}

// WithEngine runs the kv state machine on the given engine: sim.EngineMemory
// (the default: a restarted node rebuilds its state from its snapshot and
// log) or sim.EngineDurable (a modelled disk engine that keeps what it
// synced through a crash).
func WithEngine(engine string) Option {
	return func(o *sim.Options) { o.Engine = engine }
}

// NewKVCluster starts n nodes of the kv store. Leaders append their no-op
// (reads through ReadIndex wait for an entry of the leader's term, and a
// real server appends one), snapshots are off unless WithSnapshotBytes turns
// them on, and the engine is memory unless WithEngine says otherwise.
func NewKVCluster(t *T, n int, opts ...Option) *KVCluster {
	def := sim.DefaultOptions(t.Seed)
	base := func(o *sim.Options) {
		o.Workload, o.Engine = sim.WorkloadKV, sim.EngineMemory
		o.SnapshotBytes, o.SnapshotChunkBytes = 0, def.SnapshotChunkBytes
		o.Raft.DisableLeaderNoop = false
	}
	return &KVCluster{Cluster: NewCluster(t, n, append([]Option{base}, opts...)...)}
}

// Servers returns the number of servers.
func (c *KVCluster) Servers() int { return c.n }

// CrashAll crashes every server at once; each loses what its disk (and a
// durable engine) had not synced.
func (c *KVCluster) CrashAll() {
	for i := range c.n {
		c.CrashServer(i)
	}
}

// RestartAll restarts every server that is down.
func (c *KVCluster) RestartAll() {
	c.t.Helper()
	for i := range c.n {
		if !c.IsUp(c.ID(i)) {
			c.RestartServer(i)
		}
	}
}

// RandomPartition splits the servers into two random groups that cannot
// talk to each other, as MIT's make_partition does, and returns them. With
// five servers one group always holds a majority.
func (c *KVCluster) RandomPartition(rnd *Rand) (p1, p2 []int) {
	for i := range c.n {
		if rnd.IntN(2) == 0 {
			p1 = append(p1, i)
		} else {
			p2 = append(p2, i)
		}
	}
	c.Partition(c.ids(p1), c.ids(p2))
	return p1, p2
}

// PartitionServers splits the servers into the given groups (by server
// index): each group talks only within itself.
func (c *KVCluster) PartitionServers(groups ...[]int) {
	var ids [][]uint64
	for _, g := range groups {
		ids = append(ids, c.ids(g))
	}
	c.Partition(ids...)
}

func (c *KVCluster) ids(servers []int) []uint64 {
	ids := make([]uint64, len(servers))
	for i, s := range servers {
		ids[i] = c.ID(s)
	}
	return ids
}

// Partitioner re-partitions the cluster at random, in the background, as
// MIT's partitioner goroutine does (see StartPartitioner).
type Partitioner struct {
	c       *KVCluster
	rnd     *Rand
	stopped bool
	// Partitions counts the partitions made so far.
	Partitions int
}

// StartPartitioner splits the servers into two random groups now, and again
// every PartitionInterval or so, until Stop. The partitions happen as
// simulation events: they strike in the middle of clerk calls.
func (c *KVCluster) StartPartitioner(rnd *Rand) *Partitioner {
	p := &Partitioner{c: c, rnd: rnd}
	p.next()
	return p
}

// PartitionInterval is the shortest time a random partition lasts (the
// longest is 1.5 times as long): long enough for the majority side to elect
// a leader and get some work done (an election takes one to two election
// timeouts), short enough that a test sees many.
func (c *KVCluster) PartitionInterval() time.Duration { return 4 * c.ElectionTimeout() }

func (p *Partitioner) next() {
	if p.stopped {
		return
	}
	p.c.RandomPartition(p.rnd)
	p.Partitions++
	iv := p.c.PartitionInterval()
	p.c.After(iv+time.Duration(p.rnd.Int64N(int64(iv/2)+1)), p.next)
}

// Stop stops re-partitioning and heals the network.
func (p *Partitioner) Stop() {
	p.stopped = true
	p.c.Heal()
}

// Clerk is a sim.Clerk whose Must calls fail the test, with the seed, when
// the call does not succeed. Its Key method names keys that only it writes.
type Clerk struct {
	*sim.Clerk
	Name string
	t    *T
	// last[key] is what this clerk last wrote there, and its version.
	last map[string]written
}

type written struct {
	value   string
	version uint64
	deleted bool
}

// MakeClerk returns a new clerk with a session of its own (opened on its
// first call), as MIT's makeClient does.
func (c *KVCluster) MakeClerk() *Clerk {
	c.clerks++
	return &Clerk{Clerk: c.NewClerk(), Name: fmt.Sprintf("ck%d", c.clerks), t: c.t, last: map[string]written{}}
}

// Key returns the name of key k of this clerk: no other clerk, and no
// autonomous client, writes it.
func (ck *Clerk) Key(k string) string { return fmt.Sprintf("clerk/%s/%s", ck.Name, k) }

// MustPut writes value under key and returns the key's new version. It
// fails the test if the put does not succeed.
func (ck *Clerk) MustPut(key, value string) uint64 {
	ck.t.Helper()
	v, err := ck.Put(key, value)
	if err != nil {
		ck.fatal(err, "put(%q, %q)", key, value)
	}
	ck.last[key] = written{value: value, version: v}
	return v
}

// MustPutIf writes value under key if the key's version is ifVersion, and
// returns the new version; it fails the test on any error, a version
// mismatch included.
func (ck *Clerk) MustPutIf(key, value string, ifVersion uint64) uint64 {
	ck.t.Helper()
	v, err := ck.PutIf(key, value, ifVersion)
	if err != nil {
		ck.fatal(err, "put(%q, %q) if version %d", key, value, ifVersion)
	}
	ck.last[key] = written{value: value, version: v}
	return v
}

// MustDelete deletes key and reports whether it existed.
func (ck *Clerk) MustDelete(key string) bool {
	ck.t.Helper()
	found, err := ck.Delete(key)
	if err != nil {
		ck.fatal(err, "delete(%q)", key)
	}
	ck.last[key] = written{deleted: true}
	return found
}

// MustGet reads key linearizably and reports whether it exists. It fails
// the test on any error but kv.ErrNotFound.
func (ck *Clerk) MustGet(key string) (kv.Item, bool) {
	ck.t.Helper()
	it, err := ck.Get(key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return kv.Item{}, false
	case err != nil:
		ck.fatal(err, "get(%q)", key)
	}
	return it, true
}

// fatal fails the test for a call that returned err. An invariant the
// simulator saw break during the call is reported as such.
func (ck *Clerk) fatal(err error, format string, args ...any) {
	ck.t.Helper()
	what := fmt.Sprintf(format, args...)
	if v := (*sim.Violation)(nil); errors.As(err, &v) {
		ck.t.Fatalf("invariant violated: %v\n(during %s's %s)", v.Err, ck.Name, what)
	}
	ck.t.Fatalf("%s: %s: %v", ck.Name, what, err)
}

// Written returns what this clerk last wrote under key through a Must call
// (value and version), and whether it wrote there at all; a key it deleted
// last has ok true and version 0.
func (ck *Clerk) Written(key string) (value string, version uint64, ok bool) {
	w, ok := ck.last[key]
	return w.value, w.version, ok
}

// CheckWritten reads every key this clerk wrote with Must calls and checks
// that it holds what the clerk wrote there last, at the version the write
// returned: nothing acknowledged was lost, and nothing was applied twice (a
// second application of a put would have given the key a later version).
func (ck *Clerk) CheckWritten() {
	ck.t.Helper()
	for _, key := range sortedKeys(ck.last) {
		w := ck.last[key]
		it, ok := ck.MustGet(key)
		switch {
		case w.deleted && ok:
			ck.t.Fatalf("%s: get(%q) = %q (version %d), but the clerk deleted the key last", ck.Name, key, it.Value, it.Version)
		case w.deleted:
		case !ok:
			ck.t.Fatalf("%s: get(%q): not found, but the clerk wrote %q there last (version %d): an acknowledged write was lost", ck.Name, key, w.value, w.version)
		case string(it.Value) != w.value:
			ck.t.Fatalf("%s: get(%q) = %q (version %d), but the clerk wrote %q there last (version %d)", ck.Name, key, it.Value, it.Version, w.value, w.version)
		case it.Version != w.version:
			ck.t.Fatalf("%s: get(%q) = %q at version %d, but the put that wrote it returned version %d: was it applied twice?", ck.Name, key, it.Value, it.Version, w.version)
		}
	}
}

// CheckReplicas reads every key this clerk wrote on every server that is up,
// linearizably through that server alone ((*sim.Sim).GetOn), and checks it
// as CheckWritten does: every replica's own state machine holds what the
// clerk wrote, however it got there (applying the log, restoring a snapshot,
// reopening a durable engine).
func (ck *Clerk) CheckReplicas(c *KVCluster) {
	ck.t.Helper()
	for i := range c.n {
		id := c.ID(i)
		if !c.IsUp(id) {
			continue
		}
		for _, key := range sortedKeys(ck.last) {
			w := ck.last[key]
			var it kv.Item
			var err error
			// A read whose messages were lost is never served: try again.
			for range 20 {
				if it, err = c.GetOn(id, key, time.Second); !errors.Is(err, sim.ErrReadTimeout) {
					break
				}
				c.Run(c.HeartbeatInterval())
			}
			switch {
			case w.deleted && errors.Is(err, kv.ErrNotFound):
			case w.deleted && err == nil:
				ck.t.Fatalf("server %d: get(%q) = %q (version %d), but %s deleted the key last", i, key, it.Value, it.Version, ck.Name)
			case err != nil:
				ck.fatal(err, "get(%q) on server %d (it wrote %q there last, version %d)", key, i, w.value, w.version)
			case string(it.Value) != w.value || it.Version != w.version:
				ck.t.Fatalf("server %d: get(%q) = %q at version %d, but %s wrote %q there last, at version %d", i, key, it.Value, it.Version, ck.Name, w.value, w.version)
			}
		}
	}
}

// sortedKeys returns m's keys in order, so that the reads (and so the run)
// never depend on map order.
func sortedKeys(m map[string]written) []string { return slices.Sorted(maps.Keys(m)) }

// CheckKVHistory stops the autonomous clients, lets their last operations
// finish or time out, heals everything and waits for the cluster to settle
// (a leader that has committed an entry of its term, every server in its
// term), then checks the history as CheckHistory does: no acknowledged write
// lost, and porcupine finds it linearizable. It also checks that the
// clients got at least minOps operations through, so that a cluster that
// served nothing cannot pass. With -trace DIR, a history that is not
// linearizable is also written to DIR as porcupine's timeline.
func (c *KVCluster) CheckKVHistory(minOps int) {
	c.t.Helper()
	c.StopClients()
	HealAll(c, c.n)
	c.Heal()
	c.Run(c.Options().ClientTimeout + 100*time.Millisecond)
	c.WaitSettled()
	if ops, _ := c.ClientOps(); ops < minOps {
		c.t.Fatalf("the clients completed only %d operations; want at least %d", ops, minOps)
	}
	if lost := c.LostAcknowledged(); len(lost) > 0 {
		c.t.Fatalf("%d acknowledged writes are missing from the committed log: %v", len(lost), lost)
	}
	res, info := c.CheckLinearizable(30 * time.Second)
	if res == porcupine.Ok {
		return
	}
	where := "(pass -args -trace DIR to get porcupine's timeline of it)"
	if *flagTrace != "" {
		path := filepath.Join(*flagTrace, strings.NewReplacer("/", "_", "=", "-").Replace(c.t.Name())+"-history.html")
		if err := writeHistory(path, c.Model(), info); err != nil {
			where = fmt.Sprintf("(writing porcupine's timeline: %v)", err)
		} else {
			where = "porcupine's timeline of it: " + path
		}
	}
	c.t.Fatalf("the clients' history of %d operations is not linearizable: porcupine says %s\n%s", len(c.History()), res, where)
}

// writeHistory writes porcupine's interactive timeline of a checked history.
func writeHistory(path string, m porcupine.Model, info porcupine.LinearizationInfo) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := porcupine.Visualize(m, info, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WaitSettled waits until a leader has committed an entry of its term and
// every server that is up is in that term: the state in which the checker
// can tell which unknown outcomes never took effect.
func (c *KVCluster) WaitSettled() {
	c.t.Helper()
	ok := c.Until(20*c.ElectionTimeout(), func() bool {
		lead, ok := c.Leader()
		if !ok {
			return false
		}
		lst, _ := c.Status(lead)
		if t, _ := c.Raft(lead).Term(lst.Commit); t != lst.Term {
			return false
		}
		for i := range c.n {
			if st, up := c.Status(c.ID(i)); up && st.Term != lst.Term {
				return false
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("the cluster did not settle (one leader, an entry of its term committed, every server in its term) within %v", 20*c.ElectionTimeout())
	}
}
