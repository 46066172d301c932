package kvlab

import (
	"fmt"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
)

// config is one variant of MIT's GenericTest.
type config struct {
	servers    int
	clients    int // autonomous clients, whose history porcupine checks
	clerks     int // clerks the test drives, each checking its own keys
	rounds     int
	roundTime  time.Duration // virtual time per round
	unreliable bool          // lose, duplicate and delay messages
	crash      bool          // crash and restart every server after each round
	partitions bool          // re-partition at random during each round
	snapBytes  int           // snapshot threshold (0: no snapshots)
	engine     string        // "" for memory
	minOps     int           // the clients must complete at least this many operations
}

// clerkKeys is how many keys each clerk writes.
const clerkKeys = 3

// genericTest is MIT's GenericTest: rounds in which the clerks write and
// read their own keys, one call after another, while the autonomous clients
// run and, if asked, the network is unreliable and partitions come and go.
// After each round the partitions heal and, if asked, every server crashes
// and restarts; then each clerk reads its keys back (CheckWritten). At the
// end the clients' whole history must be linearizable, with no acknowledged
// write lost.
func genericTest(t *labtest.T, cfg config) *labtest.KVCluster {
	t.Helper()
	var opts []labtest.Option
	if cfg.unreliable {
		opts = append(opts, labtest.Unreliable())
	}
	if cfg.snapBytes > 0 {
		opts = append(opts, labtest.WithSnapshotBytes(cfg.snapBytes))
	}
	if cfg.engine != "" {
		opts = append(opts, labtest.WithEngine(cfg.engine))
	}
	c := labtest.NewKVCluster(t, cfg.servers, opts...)
	rnd := t.Rand()
	clerks := make([]*labtest.Clerk, cfg.clerks)
	for i := range clerks {
		clerks[i] = c.MakeClerk()
	}
	c.StartClients(cfg.clients)
	for round := range cfg.rounds {
		var p *labtest.Partitioner
		if cfg.partitions {
			p = c.StartPartitioner(rnd)
		}
		end := c.Now() + cfg.roundTime
		for n := 0; c.Now() < end; n++ {
			clerkStep(t, clerks[n%len(clerks)], rnd, fmt.Sprintf("%d.%d", round, n))
		}
		if p != nil {
			p.Stop()
			c.Run(c.ElectionTimeout())
		}
		if cfg.crash {
			c.CrashAll()
			c.Run(time.Duration(rnd.Int64N(int64(c.ElectionTimeout()))))
			c.RestartAll()
		}
		for _, ck := range clerks {
			ck.CheckWritten()
		}
	}
	c.CheckKVHistory(cfg.minOps)
	return c
}

// clerkStep is one call of a clerk on one of its own keys: mostly puts, and
// compare-and-sets at the version it wrote last, which must succeed (nobody
// else writes the key); some reads, checked against what it wrote; a few
// deletes.
func clerkStep(t *labtest.T, ck *labtest.Clerk, rnd *labtest.Rand, value string) {
	t.Helper()
	key := ck.Key(fmt.Sprintf("k%d", rnd.IntN(clerkKeys)))
	wrote, ver, ok := ck.Written(key)
	switch r := rnd.IntN(10); {
	case r < 4:
		ck.MustPut(key, value)
	case r < 7 && ok:
		// ver is 0 if the clerk deleted the key last: create-only.
		ck.MustPutIf(key, value, ver)
	case r < 9 && ok:
		it, found := ck.MustGet(key)
		switch {
		case ver == 0 && found:
			t.Fatalf("%s: get(%q) = %q (version %d), but the clerk deleted it last", ck.Name, key, it.Value, it.Version)
		case ver != 0 && (!found || string(it.Value) != wrote || it.Version != ver):
			t.Fatalf("%s: get(%q) = %q at version %d (found %v); the clerk wrote %q there last, at version %d", ck.Name, key, it.Value, it.Version, found, wrote, ver)
		}
	case ok:
		ck.MustDelete(key)
	default:
		ck.MustPut(key, value)
	}
}
