package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/sim"
)

// simFlags are the settings of `minikv sim`.
type simFlags struct {
	seed      uint64
	seeds     string
	nodes     int
	clients   int
	duration  time.Duration
	faults    string
	trace     string
	workers   int
	checkTime time.Duration
	failDir   string
	bug       string
	lease     bool
	workload  string
	engine    string
}

func simCommand(args []string, stdout, stderr io.Writer) int {
	var f simFlags
	fs := flag.NewFlagSet("minikv sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&f.seed, "seed", 0, "run this one seed")
	fs.StringVar(&f.seeds, "seeds", "", "sweep seeds A-B (inclusive), e.g. 1-2000")
	fs.IntVar(&f.nodes, "nodes", 5, "number of Raft nodes in the first configuration (two spares more join and leave with --faults membership)")
	fs.IntVar(&f.clients, "clients", 3, "number of simulated clients")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "virtual time the nemesis and clients run (a quiet period to heal follows)")
	fs.StringVar(&f.faults, "faults", "all", "faults to inject: all, none, or a list of "+strings.Join(sim.FaultNames(), ","))
	fs.StringVar(&f.trace, "trace", "", "write an HTML view of the run to this file (single seed only)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "seeds simulated in parallel during a sweep")
	fs.DurationVar(&f.checkTime, "check-timeout", 30*time.Second, "wall-time bound for each linearizability check")
	fs.StringVar(&f.failDir, "fail-dir", "sim-failures", "where a failing run writes porcupine's history visualisation")
	fs.StringVar(&f.bug, "bug", "", "inject a known bug to watch the simulator catch it: send-before-sync")
	fs.StringVar(&f.workload, "workload", "kv", "state machine and clients: kv (the real kv store) or register (the append-only register of labs 1–5)")
	fs.StringVar(&f.engine, "engine", "memory", "the kv store's engine: memory (rebuilt from snapshot and log on restart) or durable (a modelled disk engine that keeps what it synced through a crash)")
	fs.BoolVar(&f.lease, "lease-reads", false, "serve reads from the leader's CheckQuorum lease instead of ReadIndex (assumes clocks in step: try it with --faults skew)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "minikv sim: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	faults, err := sim.ParseFaults(f.faults)
	if err != nil {
		fmt.Fprintf(stderr, "minikv sim: --faults: %v\n", err)
		return exitUsage
	}
	workload, err := sim.ParseWorkload(f.workload)
	if err != nil {
		fmt.Fprintf(stderr, "minikv sim: --workload: %v\n", err)
		return exitUsage
	}
	engine, err := sim.ParseEngine(f.engine)
	if err != nil {
		fmt.Fprintf(stderr, "minikv sim: --engine: %v\n", err)
		return exitUsage
	}
	if workload == sim.WorkloadRegister && engine != sim.EngineMemory {
		fmt.Fprintln(stderr, "minikv sim: --engine applies to the kv workload only")
		return exitUsage
	}
	seedSet := false
	fs.Visit(func(fl *flag.Flag) { seedSet = seedSet || fl.Name == "seed" })
	switch {
	case f.nodes < 1 || f.nodes > 9:
		fmt.Fprintln(stderr, "minikv sim: --nodes must be between 1 and 9")
		return exitUsage
	case f.clients < 0:
		fmt.Fprintln(stderr, "minikv sim: --clients must not be negative")
		return exitUsage
	case f.duration <= 0:
		fmt.Fprintln(stderr, "minikv sim: --duration must be positive")
		return exitUsage
	case seedSet == (f.seeds != ""):
		fmt.Fprintln(stderr, "minikv sim: give exactly one of --seed N or --seeds A-B")
		return exitUsage
	case f.bug != "" && f.bug != "send-before-sync":
		fmt.Fprintf(stderr, "minikv sim: --bug: unknown bug %q (known: send-before-sync)\n", f.bug)
		return exitUsage
	case f.seeds != "" && f.trace != "":
		fmt.Fprintln(stderr, "minikv sim: --trace needs a single --seed")
		return exitUsage
	}
	opts := func(seed uint64) sim.Options {
		o := sim.DefaultOptions(seed)
		o.Nodes, o.Clients, o.Duration, o.Faults = f.nodes, f.clients, f.duration, faults
		o.Trace = f.trace != ""
		o.SendBeforeSync = f.bug == "send-before-sync"
		o.Raft.LeaseReads = f.lease
		o.Workload, o.Engine = workload, engine
		if workload == sim.WorkloadRegister {
			o.SnapshotChunkBytes = 4 // as in the labs
		}
		return o
	}
	if seedSet {
		return runOne(opts(f.seed), f, stdout, stderr)
	}
	lo, hi, err := parseRange(f.seeds)
	if err != nil {
		fmt.Fprintf(stderr, "minikv sim: --seeds: %v\n", err)
		return exitUsage
	}
	return sweep(lo, hi, opts, f, stdout, stderr)
}

func parseRange(s string) (lo, hi uint64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = strconv.ParseUint(a, 10, 64); err == nil {
		hi, err = strconv.ParseUint(b, 10, 64)
	}
	if err != nil || hi < lo {
		return 0, 0, fmt.Errorf("want A-B with A <= B, got %q", s)
	}
	return lo, hi, nil
}

// replayCommand is the exact command line that reruns one seed.
func replayCommand(o sim.Options) string { return o.ReplayCommand() }

func runOne(o sim.Options, f simFlags, stdout, stderr io.Writer) int {
	start := time.Now()
	res := sim.Run(o, f.checkTime)
	wall := time.Since(start)
	fmt.Fprintf(stdout, "seed %d: %d nodes, %d clients, faults %s, %v of faults then a quiet period\n", o.Seed, o.Nodes, o.Clients, o.Faults, o.Duration)
	fmt.Fprintf(stdout, "trace-digest: %s\n", res.Digest)
	fmt.Fprintf(stdout, "events: %d  simulated: %.1fs  wall: %v  elections: %d  commits: %d  messages: %d  crashes: %d  snapshots: %d taken, %d installed  membership changes: %d  transfers: %d  client ops: %d (%s)\n",
		res.Stats.Events, res.SimTime.Seconds(), wall.Round(time.Millisecond), res.Stats.Elections,
		res.Stats.Commits, res.Messages, res.Stats.Crashes, res.Stats.Snapshots, res.Stats.Installs,
		res.Stats.ConfChanges, res.Stats.Transfers, res.ClientOps, linearizability(res))
	if f.trace != "" {
		if err := writeTrace(f.trace, res.Trace); err != nil {
			fmt.Fprintf(stderr, "minikv sim: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "trace: %s\n", f.trace)
	}
	if res.Violation != nil {
		reportViolation(res, o, f, stdout, stderr)
		return 1
	}
	return 0
}

func linearizability(res sim.Result) string {
	switch res.Linearizable {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "NOT linearizable"
	case porcupine.Unknown:
		return "linearizability unknown"
	}
	return "not checked"
}

func reportViolation(res sim.Result, o sim.Options, f simFlags, stdout, stderr io.Writer) {
	fmt.Fprintf(stderr, "VIOLATION (seed %d): %v\n", o.Seed, res.Violation)
	fmt.Fprintf(stderr, "replay: %s\n", replayCommand(o))
	if f.trace == "" {
		fmt.Fprintf(stderr, "see it: %s --trace seed-%d.html\n", replayCommand(o), o.Seed)
	}
	if res.Linearizable == porcupine.Illegal {
		path := filepath.Join(f.failDir, fmt.Sprintf("seed-%d-history.html", o.Seed))
		if err := writeHistory(path, res); err != nil {
			fmt.Fprintf(stderr, "minikv sim: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "history: %s (porcupine's timeline of the clients' operations)\n", path)
		}
	}
}

func writeHistory(path string, res sim.Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := porcupine.Visualize(res.Model, res.Info, file); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return file.Close()
}

func writeTrace(path string, t *sim.Trace) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.WriteTraceHTML(file, t); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return file.Close()
}

// sweep runs seeds lo..hi on f.workers goroutines (each simulation itself is
// single-threaded and deterministic). It stops at the first violating seed —
// the lowest one, whatever order the workers finish in.
func sweep(lo, hi uint64, opts func(uint64) sim.Options, f simFlags, stdout, stderr io.Writer) int {
	total := hi - lo + 1
	start := time.Now()
	bar := newProgress(stderr, total)

	var (
		mu       sync.Mutex
		next     = lo
		done     uint64
		simTime  time.Duration
		failed   *sim.Result
		failSeed uint64
	)
	var wg sync.WaitGroup
	for range max(1, f.workers) {
		wg.Go(func() {
			for {
				mu.Lock()
				if next > hi || (failed != nil && next > failSeed) {
					mu.Unlock()
					return
				}
				seed := next
				next++
				mu.Unlock()

				res := sim.Run(opts(seed), f.checkTime)

				mu.Lock()
				done++
				simTime += res.SimTime
				if res.Violation != nil && (failed == nil || seed < failSeed) {
					failed, failSeed = &res, seed
				}
				bar.update(done, failed != nil)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	bar.finish()
	wall := time.Since(start)
	if failed != nil {
		fmt.Fprintf(stdout, "seed %d: trace-digest: %s\n", failSeed, failed.Digest)
		reportViolation(*failed, opts(failSeed), f, stdout, stderr)
		return 1
	}
	fmt.Fprintf(stdout, "seeds %d-%d: %d runs, no violation\n", lo, hi, done)
	fmt.Fprintf(stdout, "simulated %.0fs in %v wall: %.0f simulated-seconds per wall-second (%d workers)\n",
		simTime.Seconds(), wall.Round(time.Millisecond), simTime.Seconds()/wall.Seconds(), f.workers)
	return 0
}

// progress draws a one-line progress bar when w is a terminal, and nothing
// otherwise (logs in CI stay clean).
type progress struct {
	w     io.Writer
	on    bool
	total uint64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total uint64) *progress {
	on := false
	if file, ok := w.(*os.File); ok {
		if fi, err := file.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on, total: total, start: time.Now()}
}

func (p *progress) update(done uint64, failing bool) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && done != p.total) {
		return
	}
	p.last = time.Now()
	const width = 40
	filled := int(done * width / p.total)
	status := ""
	if failing {
		status = "  violation found, finishing lower seeds"
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d seeds  %v%s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		done, p.total, time.Since(p.start).Round(time.Second), status)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
