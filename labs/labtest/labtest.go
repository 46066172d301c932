// Package labtest is the harness the lab test suites share: it runs a test
// body once per seed on a simulated cluster and offers the checks people
// know from MIT 6.5840's Raft labs (checkOneLeader, one, nCommitted, ...),
// but in virtual time, so every failure is replayable.
//
// A failing test prints its seed and the exact command that replays it:
//
//	go test ./labs/election -run 'TestReElection/seed=17$' -v
//
// Flags (after -args, or directly with go test in the package):
//
//	-seed N     run only seed N
//	-seeds K    run K seeds per test instead of each test's default
//	-trace DIR  write an HTML trace of every failing seed into DIR
package labtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

var (
	flagSeed  = flag.Uint64("seed", 0, "run only this seed")
	flagSeeds = flag.Int("seeds", 0, "seeds per test (0: each test's default)")
	flagTrace = flag.String("trace", "", "directory to write an HTML trace of each failing seed into")
)

// ForSeeds runs body as one subtest per seed ("seed=1", "seed=2", ...).
func ForSeeds(t *testing.T, defaultSeeds int, body func(t *T)) {
	t.Helper()
	pkg := callerPackage()
	seeds := make([]uint64, 0, defaultSeeds)
	switch {
	case *flagSeed != 0:
		seeds = append(seeds, *flagSeed)
	default:
		n := defaultSeeds
		if *flagSeeds > 0 {
			n = *flagSeeds
		}
		for i := 1; i <= n; i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(tt *testing.T) {
			lt := &T{T: tt, Seed: seed, pkg: pkg}
			defer lt.finish()
			body(lt)
		})
	}
}

// callerPackage finds the ./labs/... path of the test that called ForSeeds,
// for the replay command.
func callerPackage() string {
	for skip := 2; skip < 6; skip++ {
		_, file, _, ok := runtime.Caller(skip)
		if ok && strings.HasSuffix(file, "_test.go") {
			dir := filepath.Dir(file)
			if i := strings.LastIndex(dir, "/labs/"); i >= 0 {
				return "." + dir[i:]
			}
			return dir
		}
	}
	return "./labs/..."
}

// T is a test running one seed.
type T struct {
	*testing.T
	Seed    uint64
	pkg     string
	cluster *Cluster
}

// Replay is the command that runs just this seed of this test again.
func (t *T) Replay() string {
	return fmt.Sprintf("go test %s -run '%s$' -v -args -seed %d", t.pkg, t.Name(), t.Seed)
}

// Fatalf fails the test, printing the seed, the virtual time and the replay
// command.
func (t *T) Fatalf(format string, args ...any) {
	t.Helper()
	at := ""
	if t.cluster != nil {
		at = fmt.Sprintf(" at %v", t.cluster.Now())
	}
	t.T.Fatalf("seed %d%s: %s\nreplay: %s\n  (add -args -trace DIR to get an HTML trace of the run)", t.Seed, at, fmt.Sprintf(format, args...), t.Replay())
}

func (t *T) finish() {
	c := t.cluster
	if c == nil {
		return
	}
	if !t.Failed() {
		if err := c.Err(); err != nil {
			t.Fatalf("invariant violated: %v", violation(err))
		}
	}
	if t.Failed() && *flagTrace != "" && c.Trace() != nil {
		path := filepath.Join(*flagTrace, strings.NewReplacer("/", "_", "=", "-").Replace(t.Name())+".html")
		if err := writeTrace(path, c.Trace()); err != nil {
			t.Logf("trace: %v", err)
		} else {
			t.Logf("trace written to %s", path)
		}
	}
}

func writeTrace(path string, tr *sim.Trace) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.WriteTraceHTML(f, tr); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// violation strips the seed and time from a *sim.Violation: Fatalf prints
// them already.
func violation(err error) error {
	if v, ok := err.(*sim.Violation); ok {
		return v.Err
	}
	return err
}

// Option adjusts the simulation a test runs on.
type Option func(*sim.Options)

// Unreliable makes the network drop 10% of messages, duplicate 5% and delay
// them by up to 27ms, as MIT's unreliable network does.
func Unreliable() Option {
	return func(o *sim.Options) { o.Net = unreliableNet(o.Net) }
}

func unreliableNet(n sim.NetOptions) sim.NetOptions {
	n.Loss, n.Dup, n.MaxDelay = 0.1, 0.05, 27*time.Millisecond
	return n
}

// WithLeaderNoop turns on the empty entry a new leader appends (the labs run
// without it by default, so indices match the MIT tests' expectations).
func WithLeaderNoop() Option {
	return func(o *sim.Options) { o.Raft.DisableLeaderNoop = false }
}

// WithOptions gives a test full control over the simulation's options.
func WithOptions(f func(*sim.Options)) Option { return Option(f) }

// Cluster is a simulated cluster with MIT-style checks.
type Cluster struct {
	*sim.Sim
	t *T
	n int
}

// NewCluster starts n nodes on a fresh simulation for t's seed.
func NewCluster(t *T, n int, opts ...Option) *Cluster {
	o := sim.DefaultOptions(t.Seed)
	o.Nodes, o.Spares = n, 0
	// Labs 1–5 replicate the append-only register, whose snapshots are a
	// few bytes: 4-byte chunks make every transfer a multi-chunk stream.
	o.Workload, o.SnapshotChunkBytes = sim.WorkloadRegister, 4
	o.Raft.DisableLeaderNoop = true
	o.Trace = *flagTrace != ""
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cluster{Sim: sim.New(o), t: t, n: n}
	t.cluster = c
	return c
}

// ElectionTimeout is the nominal election timeout in virtual time.
func (c *Cluster) ElectionTimeout() time.Duration {
	o := c.Options()
	return time.Duration(o.Raft.ElectionTick) * o.TickInterval
}

// HeartbeatInterval is the virtual time between heartbeats.
func (c *Cluster) HeartbeatInterval() time.Duration {
	o := c.Options()
	return time.Duration(o.Raft.HeartbeatTick) * o.TickInterval
}

// Run advances virtual time by d, failing the test on any invariant violation.
func (c *Cluster) Run(d time.Duration) {
	c.t.Helper()
	if err := c.RunFor(d); err != nil {
		c.t.Fatalf("invariant violated: %v", violation(err))
	}
}

// ID returns the node ID of server i (0-based, as in the MIT tests).
func (c *Cluster) ID(i int) uint64 { return uint64(i + 1) }

// Connected reports whether server i is up and not cut off.
func (c *Cluster) Connected(i int) bool {
	return c.IsUp(c.ID(i)) && c.IsConnected(c.ID(i))
}

// DisconnectServer cuts server i off from all others.
func (c *Cluster) DisconnectServer(i int) { c.Disconnect(c.ID(i)) }

// ConnectServer reconnects server i to all connected others.
func (c *Cluster) ConnectServer(i int) { c.Connect(c.ID(i)) }

// CrashServer crashes server i (it loses what it had not synced).
func (c *Cluster) CrashServer(i int) { c.Crash(c.ID(i)) }

// RestartServer restarts server i from its disk.
func (c *Cluster) RestartServer(i int) {
	c.t.Helper()
	if err := c.Restart(c.ID(i)); err != nil {
		c.t.Fatalf("restart server %d: %v", i, err)
	}
}

// Status returns server i's raft status (zero if down).
func (c *Cluster) StatusOf(i int) raft.Status {
	st, _ := c.Status(c.ID(i))
	return st
}

// CheckOneLeader waits for exactly one leader among connected servers and
// returns its index. Two leaders in the same term fail the test.
func (c *Cluster) CheckOneLeader() int {
	c.t.Helper()
	for iter := 0; iter < 10; iter++ {
		c.Run(c.ElectionTimeout() * 3)
		leaders := map[uint64][]int{}
		var lastTerm uint64
		for i := 0; i < c.n; i++ {
			if !c.Connected(i) {
				continue
			}
			if st := c.StatusOf(i); st.Role == raft.Leader {
				leaders[st.Term] = append(leaders[st.Term], i)
				lastTerm = max(lastTerm, st.Term)
			}
		}
		for term, ls := range leaders {
			if len(ls) > 1 {
				c.t.Fatalf("term %d has %d (>1) leaders: %v", term, len(ls), ls)
			}
		}
		if len(leaders) != 0 {
			return leaders[lastTerm][0]
		}
	}
	c.t.Fatalf("expected one leader, got none")
	return -1
}

// CheckTerms checks that every connected server agrees on the term, and
// returns it.
func (c *Cluster) CheckTerms() uint64 {
	c.t.Helper()
	var term uint64
	for i := 0; i < c.n; i++ {
		if !c.Connected(i) {
			continue
		}
		t := c.StatusOf(i).Term
		if term == 0 {
			term = t
		} else if t != term {
			c.t.Fatalf("servers disagree on term: %d vs %d", term, t)
		}
	}
	return term
}

// CheckNoLeader checks that no connected server thinks it is the leader.
func (c *Cluster) CheckNoLeader() {
	c.t.Helper()
	for i := 0; i < c.n; i++ {
		if c.Connected(i) && c.StatusOf(i).Role == raft.Leader {
			c.t.Fatalf("expected no leader among connected servers, but %d claims to be leader", i)
		}
	}
}

// NCommitted returns how many servers have committed index, and the command
// they agree on.
func (c *Cluster) NCommitted(index uint64) (int, []byte) {
	c.t.Helper()
	n, e, err := c.Committed(index)
	if err != nil {
		c.t.Fatalf("%v", err)
	}
	return n, e.Data
}

// Start proposes cmd on server i, as MIT's Start does: it returns the index
// and term the command would have if committed, and whether i is leader.
func (c *Cluster) Start(i int, cmd []byte) (index, term uint64, isLeader bool) {
	index, term, err := c.Propose(c.ID(i), cmd)
	return index, term, err == nil
}

// Wait waits for at least n servers to commit index. It returns the command,
// or nil if some server moved past startTerm (then the command may never
// commit, and the caller should give up).
func (c *Cluster) Wait(index uint64, n int, startTerm uint64) []byte {
	c.t.Helper()
	to := 10 * time.Millisecond
	for iters := 0; iters < 30; iters++ {
		if nd, _ := c.NCommitted(index); nd >= n {
			break
		}
		c.Run(to)
		if to < time.Second {
			to *= 2
		}
		if startTerm != 0 {
			for i := 0; i < c.n; i++ {
				if t := c.StatusOf(i).Term; t > startTerm {
					return nil
				}
			}
		}
	}
	nd, cmd := c.NCommitted(index)
	if nd < n {
		c.t.Fatalf("only %d decided for index %d; wanted %d", nd, index, n)
	}
	return cmd
}

// One proposes cmd and waits until expectedServers have committed it, trying
// every server in turn as the leader; with retry it re-proposes if a leader
// fails. It returns the index cmd committed at. This is MIT's one().
func (c *Cluster) One(cmd []byte, expectedServers int, retry bool) uint64 {
	c.t.Helper()
	deadline := c.Now() + 10*time.Second
	starts := 0
	for c.Now() < deadline {
		index, ok := uint64(0), false
		for range c.n {
			starts = (starts + 1) % c.n
			if !c.Connected(starts) {
				continue
			}
			if idx, _, isLeader := c.Start(starts, cmd); isLeader {
				index, ok = idx, true
				break
			}
		}
		if ok {
			// Somebody claimed to be leader and to have submitted cmd; wait
			// a while for agreement.
			end := c.Now() + 2*time.Second
			for c.Now() < end {
				nd, got := c.NCommitted(index)
				if nd > 0 && nd >= expectedServers && string(got) == string(cmd) {
					return index
				}
				c.Run(20 * time.Millisecond)
			}
			if !retry {
				c.t.Fatalf("one(%q) failed to reach agreement", cmd)
			}
		} else {
			c.Run(50 * time.Millisecond)
		}
	}
	c.t.Fatalf("one(%q) failed to reach agreement within 10s of virtual time", cmd)
	return 0
}

// MessageCount returns how many raft messages were sent so far.
func (c *Cluster) MessageCount() int {
	n, _, _ := c.MessageStats()
	return n
}

// BytesTotal returns the encoded bytes of all raft messages sent so far.
func (c *Cluster) BytesTotal() int {
	_, b, _ := c.MessageStats()
	return b
}

// SetUnreliable switches the network between reliable and unreliable.
func (c *Cluster) SetUnreliable(on bool) {
	base := sim.DefaultOptions(c.Seed()).Net
	if on {
		base = unreliableNet(base)
	}
	base.LongDelay, base.LongDelayProb = c.Net().LongDelay, c.Net().LongDelayProb
	c.SetNet(base)
}

// SetLongReordering holds 10% of messages back by up to 2 seconds, like the
// long reordering of MIT's TestFigure8Unreliable.
func (c *Cluster) SetLongReordering(on bool) {
	n := c.Net()
	n.LongDelayProb, n.LongDelay = 0, 0
	if on {
		n.LongDelayProb, n.LongDelay = 0.1, 2*time.Second
	}
	c.SetNet(n)
}

// Rand returns a deterministic random number source for the test body,
// derived from the seed (never use the global one in a lab test).
func (t *T) Rand() *Rand { return newRand(t.Seed) }

// CheckHistory checks the simulated clients' history: linearizable, and no
// acknowledged write missing from the committed log.
func (c *Cluster) CheckHistory() {
	c.t.Helper()
	if lost := c.LostAcknowledged(); len(lost) > 0 {
		c.t.Fatalf("%d acknowledged writes are missing from the committed log: %v", len(lost), lost)
	}
	if res, _ := c.CheckLinearizable(30 * time.Second); res != porcupine.Ok {
		c.t.Fatalf("clients' history of %d operations: porcupine says %s", len(c.History()), res)
	}
}

// Churner is what ChurnRound needs of a cluster (Cluster and SnapCluster
// both have it, each with its own checks on restart).
type Churner interface {
	ID(i int) uint64
	IsUp(id uint64) bool
	DisconnectServer(i int)
	ConnectServer(i int)
	CrashServer(i int)
	RestartServer(i int)
	Run(d time.Duration)
	ElectionTimeout() time.Duration
}

// ChurnRound does to the servers what one round of MIT's churn tests does:
// perhaps cut one off, perhaps bring one back (restarting it if it is down),
// perhaps crash one; then it lets time pass — long enough for a leader to be
// elected sometimes, not always.
func ChurnRound(c Churner, rnd *Rand, servers int) {
	if rnd.IntN(1000) < 200 {
		c.DisconnectServer(rnd.IntN(servers))
	}
	if rnd.IntN(1000) < 500 {
		i := rnd.IntN(servers)
		if !c.IsUp(c.ID(i)) {
			c.RestartServer(i)
		}
		c.ConnectServer(i)
	}
	if rnd.IntN(1000) < 200 {
		c.CrashServer(rnd.IntN(servers))
	}
	c.Run(c.ElectionTimeout() * 7 / 10 * 5)
}

// HealAll ends churn: every server that is down restarts, and every server
// is reconnected.
func HealAll(c Churner, servers int) {
	for i := range servers {
		if !c.IsUp(c.ID(i)) {
			c.RestartServer(i)
		}
		c.ConnectServer(i)
	}
}
