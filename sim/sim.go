package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// Sim is one simulated cluster. Tests drive it by hand (partition, crash,
// propose, RunFor); Run drives it with a nemesis and clients.
type Sim struct {
	opts Options
	seed uint64
	rng  *rand.Rand

	now   time.Duration
	seq   uint64
	queue eventQueue

	ids     []uint64         // every node ID, 1..Nodes+Spares, in order
	initial []uint64         // the first configuration's voters, 1..Nodes
	nodes   map[uint64]*node // only ever looked up by ID; iterate over ids

	net     *network
	check   *checker
	digest  hash.Hash
	trace   *tracer
	clients *clientPool
	work    workload

	violation error
	stats     Stats
	msgBuf    []byte
	readSeq   uint64 // makes read request contexts unique
}

// Stats summarises a run.
type Stats struct {
	Events      int
	Elections   int // times a node became leader
	Commits     int // log indices committed
	Crashes     int
	Snapshots   int // snapshots taken by nodes compacting their logs
	Installs    int // leader snapshots installed by lagging followers
	ConfChanges int // configuration changes proposed
	Transfers   int // leadership transfers started
}

// New builds a cluster of opts.Nodes nodes, all started.
func New(opts Options) *Sim {
	if opts.Nodes <= 0 {
		panic("sim: Nodes must be positive")
	}
	s := &Sim{
		opts:   opts,
		seed:   opts.Seed,
		rng:    rand.New(rand.NewPCG(opts.Seed, 0x5eed)),
		nodes:  map[uint64]*node{},
		net:    newNetwork(opts.Net),
		check:  newChecker(),
		digest: sha256.New(),
	}
	if opts.Trace {
		s.trace = newTracer(opts)
	}
	s.work = s.newWorkload()
	for i := 1; i <= opts.Nodes+opts.Spares; i++ {
		id := uint64(i)
		s.ids = append(s.ids, id)
		if i <= opts.Nodes {
			s.initial = append(s.initial, id)
		}
		s.nodes[id] = s.newNode(id)
	}
	// Spares stay down until the membership nemesis (or a test) adds them.
	for _, id := range s.initial {
		if err := s.nodes[id].start(); err != nil {
			s.fail(err)
		}
	}
	return s
}

// schedule queues fn to run after delay.
func (s *Sim) schedule(delay time.Duration, kind eventKind, nodeID uint64, fn func()) {
	s.seq++
	s.queue.push(&event{at: s.now + delay, seq: s.seq, kind: kind, node: nodeID, run: fn})
}

// scheduleNode queues fn for node n's current incarnation: if n crashes
// first, the event is skipped.
func (s *Sim) scheduleNode(delay time.Duration, kind eventKind, n *node, fn func()) {
	gen := n.gen
	s.schedule(delay, kind, n.id, func() {
		if n.up && n.gen == gen {
			fn()
		}
	})
}

// step runs the next event.
func (s *Sim) step() {
	e := s.queue.pop()
	s.now = e.at
	s.stats.Events++
	var b [25]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(e.at))
	binary.LittleEndian.PutUint64(b[8:], e.seq)
	binary.LittleEndian.PutUint64(b[16:], e.node)
	b[24] = byte(e.kind)
	s.digest.Write(b[:])
	defer func() {
		// A panic inside a node (a broken invariant the core checks itself,
		// or a lab stub) is a violation like any other: report it with the
		// seed instead of killing the sweep.
		if r := recover(); r != nil {
			s.fail(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	e.run()
}

// RunFor advances virtual time by d, running every event due. It stops early
// and returns the violation if an invariant breaks.
func (s *Sim) RunFor(d time.Duration) error {
	end := s.now + d
	for s.violation == nil && len(s.queue) > 0 && s.queue[0].at <= end {
		s.step()
	}
	if s.violation == nil {
		s.now = end
	}
	return s.violation
}

// RunUntil runs until cond holds (checked after every event) or limit of
// virtual time passes. It reports whether cond held.
func (s *Sim) RunUntil(limit time.Duration, cond func() bool) (bool, error) {
	end := s.now + limit
	for s.violation == nil && len(s.queue) > 0 && s.queue[0].at <= end {
		if cond() {
			return true, nil
		}
		s.step()
	}
	if s.violation != nil {
		return false, s.violation
	}
	return cond(), nil
}

// fail records the first invariant violation; the run stops after the
// current event.
func (s *Sim) fail(err error) {
	if s.violation == nil {
		s.violation = &Violation{At: s.now, Seed: s.seed, Err: err}
		s.trace.violation(s.now, err)
	}
}

// Violation is an invariant that broke, with when and under which seed.
type Violation struct {
	At   time.Duration
	Seed uint64
	Err  error
}

func (v *Violation) Error() string {
	return fmt.Sprintf("seed %d: at %v: %v", v.Seed, v.At, v.Err)
}

func (v *Violation) Unwrap() error { return v.Err }

// observe looks at a node after it stepped: role changes, elections, new
// commitments — and checks the invariants that concern them.
func (s *Sim) observe(n *node) {
	st := n.raft.Status()
	if st.Role != n.lastRole || st.Term != n.lastTerm {
		if st.Role == raft.Leader && (n.lastRole != raft.Leader || n.lastTerm != st.Term) {
			s.stats.Elections++
			if err := s.checkLeader(n, st.Term); err != nil {
				s.fail(err)
			}
		}
		n.lastRole, n.lastTerm = st.Role, st.Term
		s.trace.state(s.now, n.id, st, "")
	}
	if err := s.checkCommit(n); err != nil {
		s.fail(err)
	}
}

// startedIDs returns the nodes that have run at least once (spares that
// were never added hold no state and are left out of the trace's network).
func (s *Sim) startedIDs() []uint64 {
	var ids []uint64
	for _, id := range s.ids {
		if s.nodes[id].started {
			ids = append(ids, id)
		}
	}
	return ids
}

// Now returns the current virtual time.
func (s *Sim) Now() time.Duration { return s.now }

// Seed returns the seed the simulation was built from.
func (s *Sim) Seed() uint64 { return s.seed }

// Options returns the options the simulation was built with.
func (s *Sim) Options() Options { return s.opts }

// Nodes returns the node IDs, 1..N.
func (s *Sim) Nodes() []uint64 { return s.ids }

// Stats returns counters for the run so far.
func (s *Sim) Stats() Stats { return s.stats }

// Err returns the first invariant violation, or nil.
func (s *Sim) Err() error { return s.violation }

// Digest returns a hash of every event run so far: two runs with the same
// options and the same calls produce the same digest.
func (s *Sim) Digest() string {
	return hex.EncodeToString(s.digest.Sum(nil))
}

// Status returns node id's raft status, and whether the node is up.
func (s *Sim) Status(id uint64) (raft.Status, bool) {
	n := s.nodes[id]
	if !n.up {
		return raft.Status{}, false
	}
	return n.raft.Status(), true
}

// Raft returns node id's raft core for inspection (nil while it is down).
// Tests must not drive it directly.
func (s *Sim) Raft(id uint64) *raft.Raft { return s.nodes[id].raft }

// IsUp reports whether node id is running.
func (s *Sim) IsUp(id uint64) bool { return s.nodes[id].up }

// ErrNodeDown is returned for operations on a crashed node.
var ErrNodeDown = errors.New("sim: node is down")

// Propose asks node id to propose data, as a client co-located with it would.
func (s *Sim) Propose(id uint64, data []byte) (index, term uint64, err error) {
	n := s.nodes[id]
	if !n.up {
		return 0, 0, ErrNodeDown
	}
	s.digest.Write([]byte{byte(evCall)})
	s.guard(func() {
		if index, term, err = n.raft.Propose(data); err == nil {
			n.process()
		}
	})
	return index, term, err
}

// guard runs f, a call into a node from outside the event loop (a test, an
// operator action), and turns a panic into a violation with the seed, as
// step does for events.
func (s *Sim) guard(f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	f()
}

// Crash stops node id, losing whatever its disk had not synced.
func (s *Sim) Crash(id uint64) {
	if n := s.nodes[id]; n.up {
		s.stats.Crashes++
		n.crash()
	}
}

// Restart boots a crashed node from its disk.
func (s *Sim) Restart(id uint64) error {
	n := s.nodes[id]
	if n.up {
		return nil
	}
	delete(s.check.checked, id)
	if err := n.start(); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// SetTickSkew makes node id's clock run at rate (1 = normal, 1.5 = ticks come
// 1.5 times as far apart).
func (s *Sim) SetTickSkew(id uint64, rate float64) {
	s.nodes[id].tickEvery = time.Duration(float64(s.opts.TickInterval) * rate)
}

// SetNet replaces the network's delay, loss and duplication settings.
func (s *Sim) SetNet(o NetOptions) { s.net.opts = o }

// Net returns the network's current settings.
func (s *Sim) Net() NetOptions { return s.net.opts }

// Disconnect cuts node id off from every other node, both ways, until
// Connect or Heal.
func (s *Sim) Disconnect(id uint64) {
	s.net.disconnected[id] = true
	s.trace.network(s.now, s.net, s.startedIDs())
}

// Connect undoes Disconnect (links blocked by Partition or BlockLink stay
// blocked).
func (s *Sim) Connect(id uint64) {
	delete(s.net.disconnected, id)
	s.trace.network(s.now, s.net, s.startedIDs())
}

// IsConnected reports whether node id is not disconnected.
func (s *Sim) IsConnected(id uint64) bool { return !s.net.disconnected[id] }

// Partition splits the cluster: nodes talk only within their group. Nodes in
// no group are cut off from everyone.
func (s *Sim) Partition(groups ...[]uint64) {
	group := map[uint64]int{}
	for gi, g := range groups {
		for _, id := range g {
			group[id] = gi + 1
		}
	}
	clear(s.net.blocked)
	clear(s.net.disconnected)
	for _, a := range s.ids {
		for _, b := range s.ids {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				s.net.blocked[[2]uint64{a, b}] = true
			}
		}
	}
	s.trace.network(s.now, s.net, s.startedIDs())
}

// BlockLink drops every message from one node to another (one direction).
func (s *Sim) BlockLink(from, to uint64) {
	s.net.blocked[[2]uint64{from, to}] = true
	s.trace.network(s.now, s.net, s.startedIDs())
}

// Heal reconnects every node and every link.
func (s *Sim) Heal() {
	clear(s.net.disconnected)
	clear(s.net.blocked)
	s.trace.network(s.now, s.net, s.startedIDs())
}

// MessageStats reports messages sent (including dropped ones), their encoded
// bytes, and the count per type.
func (s *Sim) MessageStats() (sent, bytes int, byType map[raft.MessageType]int) {
	return s.net.sent, s.net.bytes, s.net.byType
}

// Committed returns how many live nodes consider index committed, and the
// entry they agree on (zero if every one of them compacted it into a
// snapshot). Disagreement is reported as a violation.
func (s *Sim) Committed(index uint64) (int, raft.Entry, error) {
	count := 0
	var agreed raft.Entry
	for _, id := range s.ids {
		n := s.nodes[id]
		if !n.up || n.raft.Status().Commit < index {
			continue
		}
		if index < n.raft.Status().FirstIndex {
			// Compacted into a snapshot; the snapshot was checked against the
			// committed history when it was taken or installed.
			count++
			continue
		}
		e := n.raft.Entries(index, index+1)[0]
		if agreed.Index != 0 && (e.Term != agreed.Term || entryHash(e) != entryHash(agreed)) {
			err := fmt.Errorf("committed values differ at index %d: %v vs %v", index, e, agreed)
			s.fail(err)
			return count, agreed, err
		}
		agreed = e
		count++
	}
	return count, agreed, nil
}

// RejectedAppends counts the append responses that said "my log does not
// match there" (a measure of how fast leaders find where logs diverge).
func (s *Sim) RejectedAppends() int { return s.net.rejectedApps }
