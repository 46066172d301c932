package sim

import (
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"
)

var sweepSeeds = flag.Int("sweep", 500, "seeds TestSeedSweep runs with every fault on")

// TestSeedSweep runs -sweep seeds (default 500) of the kv store on the
// memory engine with every fault on, half as many on the modelled durable
// engine, and a quarter as many of the labs' register, and checks each for
// invariant violations, lost acknowledged writes, liveness after healing, and
// linearizability. A failure prints the seed and the command replaying it.
func TestSeedSweep(t *testing.T) {
	n := *sweepSeeds
	if testing.Short() {
		n = 20
	}
	variants := []struct {
		name  string
		seeds int
		set   func(*Options)
	}{
		{"kv-memory", n, func(o *Options) {}},
		{"kv-durable", n / 2, func(o *Options) { o.Engine = EngineDurable }},
		{"register", n / 4, func(o *Options) { o.Workload, o.SnapshotChunkBytes = WorkloadRegister, 4 }},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			sweepSeedRange(t, v.seeds, func(seed uint64) Options {
				o := DefaultOptions(seed)
				o.Faults = FaultsAll
				v.set(&o)
				return o
			})
		})
	}
}

func sweepSeedRange(t *testing.T, n int, opts func(seed uint64) Options) {
	const workers = 2
	var (
		mu     sync.Mutex
		next   uint64 = 1
		failed []Result
		wg     sync.WaitGroup
	)
	start := time.Now()
	var simTime time.Duration
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				seed := next
				next++
				mu.Unlock()
				if seed > uint64(n) {
					return
				}
				res := Run(opts(seed), time.Minute)
				mu.Lock()
				simTime += res.SimTime
				if res.Violation != nil {
					failed = append(failed, res)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, res := range failed {
		t.Errorf("%v\nreplay: %s", res.Violation, opts(res.Seed).ReplayCommand())
	}
	t.Logf("%d seeds, %.0f simulated seconds in %v", n, simTime.Seconds(), time.Since(start).Round(time.Millisecond))
}

// TestSameSeedSameRun: a seed replays bit for bit; another seed does not.
func TestSameSeedSameRun(t *testing.T) {
	run := func(seed uint64) Result {
		o := DefaultOptions(seed)
		o.Faults = FaultsAll
		o.Duration = 3 * time.Second
		return Run(o, time.Minute)
	}
	a, b, c := run(42), run(42), run(43)
	if a.Digest != b.Digest {
		t.Fatalf("seed 42 ran twice with different digests: %s vs %s", a.Digest, b.Digest)
	}
	if a.Stats != b.Stats {
		t.Fatalf("seed 42 ran twice with different stats: %+v vs %+v", a.Stats, b.Stats)
	}
	if a.Digest == c.Digest {
		t.Fatalf("seeds 42 and 43 produced the same digest %s", a.Digest)
	}
}

// TestTracingDoesNotChangeTheRun: turning the trace on is observation only.
func TestTracingDoesNotChangeTheRun(t *testing.T) {
	o := DefaultOptions(7)
	o.Faults = FaultsAll
	o.Duration = 2 * time.Second
	plain := Run(o, time.Minute)
	o.Trace = true
	traced := Run(o, time.Minute)
	if plain.Digest != traced.Digest {
		t.Fatalf("tracing changed the run: %s vs %s", plain.Digest, traced.Digest)
	}
	if traced.Trace == nil || len(traced.Trace.Events) == 0 {
		t.Fatalf("traced run recorded no events")
	}
}

func ExampleParseFaults() {
	fs, err := ParseFaults("partition,crash")
	fmt.Println(fs, err)
	_, err = ParseFaults("meteor")
	fmt.Println(err)
	// Output:
	// partition,crash <nil>
	// unknown fault "meteor" (known: all, none, partition, asymmetric, crash, loss, dup, reorder, skew, membership)
}
