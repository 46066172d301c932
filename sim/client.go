package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/raft"
)

// A simulated client issues one operation at a time: it sends it to the node
// it believes leads, follows "not leader" hints, and waits for the entry to
// be applied on that node. What it saw is recorded as a porcupine history.
// The workload (register or kv) decides what the operations are.
//
// An operation that was proposed but whose outcome the client never learned
// (the node crashed, the client timed out) is recorded with an unknown
// outcome: it may or may not have taken effect, and the checker must accept
// both. An operation that provably did not take effect (refused, or its log
// slot committed with another entry) is retried; it is still one operation.
//
// Clients of a workload with sessions (kv) may also retry an operation whose
// attempt is still in doubt, after an attempt timeout: the session makes the
// state machine apply it at most once, and answer a retry with the first
// outcome.
type client struct {
	id     int
	leader uint64 // best guess
	cur    *pendingOp

	// kv sessions: the client's session id (0 until one is open), the
	// sequence number of its last command, and the versions it last saw.
	session  uint64
	seq      uint64
	versions map[string]uint64
	// lastCommand re-encodes the last command sent on the session (for
	// Clerk.Resend).
	lastCommand func() []byte
	// manual clients (Clerks) issue operations only when a test calls them.
	manual bool
}

// pendingOp is one client operation, with the attempts made for it.
type pendingOp struct {
	c *client
	// input is what porcupine sees; nil keeps the operation out of the
	// history (a kv client opening its session).
	input any
	call  time.Duration

	// A write goes through the log: command encodes the current attempt's
	// proposal, outcome turns the state machine's result into the output
	// (or asks for another attempt). id names the command in the log.
	command func() []byte
	outcome func(res any) (out any, retry bool)
	id      opID
	hasID   bool
	// appliedAt is where the command first applied, when the state machine
	// says so (a session's retry is answered with the first outcome).
	appliedAt uint64
	// A read is served through ReadIndex: read computes the output from the
	// serving node's state machine.
	read func(sm stateMachine) any
	// unknown is the output recorded when a write's outcome was never
	// learned.
	unknown any
	// retryInDoubt: a retry cannot apply the operation twice (sessions), so
	// an attempt that hangs may be abandoned for a new one.
	retryInDoubt bool

	attempt  int // number of the current attempt
	doubtful int // attempts proposed and not proven void: they may take effect
	done     bool
	// target, if set, is the node the first attempt goes to.
	target uint64
	// onRead, if set, receives a read's result instead of a client (Read).
	onRead func(any)
	// onDone, if set, receives the output when the operation finishes
	// (known is false if it timed out).
	onDone func(out any, known bool)
}

// waiter is one attempt of an operation, proposed at some log index.
type waiter struct {
	op      *pendingOp
	attempt int
	term    uint64
}

type clientPool struct {
	clients []*client
	history []porcupine.Operation
	// ids[i] names the command of history[i], if it is a write.
	ids     []opRef
	running bool
	nextVal uint64
	okOps   int // completed with a known outcome
	lastOK  time.Duration
	// acked records, for every write a client saw succeed, where its
	// command was applied: the checker verifies it stayed there.
	acked []ackedWrite
}

type opRef struct {
	id  opID
	has bool
}

type ackedWrite struct {
	id    opID
	index uint64
	desc  string
}

// StartClients starts n clients issuing operations until StopClients.
func (s *Sim) StartClients(n int) {
	if s.clients == nil {
		s.clients = &clientPool{}
	}
	s.clients.running = true
	for range n {
		c := &client{id: len(s.clients.clients), versions: map[string]uint64{}}
		s.clients.clients = append(s.clients.clients, c)
		s.schedule(s.thinkTime(), evClient, 0, func() { s.nextOp(c) })
	}
}

// StopClients lets running operations finish (or time out) and issues no
// new ones.
func (s *Sim) StopClients() {
	if s.clients != nil {
		s.clients.running = false
	}
}

func (s *Sim) thinkTime() time.Duration {
	return time.Duration(s.rng.Int64N(int64(20 * time.Millisecond)))
}

func (s *Sim) nextOp(c *client) {
	if !s.clients.running {
		return
	}
	op := s.work.nextOp(c)
	op.c, op.call = c, s.now
	c.cur = op
	s.schedule(s.opts.ClientTimeout, evClient, 0, func() { s.timeout(op) })
	s.attempt(op)
}

// attemptTimeout is how long a client of a session workload waits on one
// attempt before it tries another node.
func (s *Sim) attemptTimeout() time.Duration { return s.opts.ClientTimeout / 4 }

// attempt sends op to the node the client believes leads.
func (s *Sim) attempt(op *pendingOp) {
	c := op.c
	op.attempt++
	attempt := op.attempt
	target := c.leader
	switch {
	case attempt == 1 && op.target != raft.None:
		target = op.target
	case target == raft.None || s.rng.IntN(10) == 0:
		target = s.ids[s.rng.IntN(len(s.ids))]
	}
	if op.retryInDoubt || op.read != nil {
		// A read can always be retried; so can a write under a session.
		s.schedule(s.attemptTimeout(), evClient, 0, func() {
			if !op.done && op.attempt == attempt {
				c.leader = raft.None
				s.attempt(op)
			}
		})
	}
	s.schedule(s.opts.ClientDelay, evCall, target, func() {
		if op.done || op.attempt != attempt {
			return
		}
		n := s.nodes[target]
		if !n.up {
			// Connection refused: nothing happened; try elsewhere.
			s.schedule(s.opts.ClientDelay, evClient, 0, func() { c.leader = raft.None; s.retry(op, attempt) })
			return
		}
		if op.read != nil {
			s.startRead(n, op, attempt)
			return
		}
		index, term, err := n.raft.Propose(op.command())
		if err != nil {
			// Not the leader (follow the hint), or a transfer in progress:
			// nothing was appended; try again.
			hint := raft.None
			if nl := (*raft.NotLeaderError)(nil); errors.As(err, &nl) {
				hint = nl.Leader
			}
			s.schedule(s.opts.ClientDelay, evClient, 0, func() { c.leader = hint; s.retry(op, attempt) })
			return
		}
		op.doubtful++
		c.leader = target
		n.waiters[index] = append(n.waiters[index], waiter{op: op, attempt: attempt, term: term})
		n.process()
	})
}

// startRead asks node n for a linearizable read through ReadIndex. Any node
// will do: a follower forwards the request to its leader and serves the read
// from its own state machine once it has applied up to the read index.
func (s *Sim) startRead(n *node, op *pendingOp, attempt int) {
	s.readSeq++
	ctx := fmt.Sprintf("read-%d", s.readSeq)
	if err := n.raft.ReadIndex([]byte(ctx)); err != nil {
		s.schedule(s.opts.ClientDelay, evClient, 0, func() { op.c.leader = raft.None; s.retry(op, attempt) })
		return
	}
	n.reads[ctx] = waiter{op: op, attempt: attempt}
	n.process()
}

// serveRead answers a read once its node has applied up to the read index.
func (s *Sim) serveRead(w waiter, sm stateMachine) {
	op := w.op
	out := op.read(sm)
	if op.onRead != nil {
		op.onRead(out)
		return
	}
	s.schedule(s.opts.ClientDelay, evClient, 0, func() {
		if !op.done {
			s.finish(op, out, s.now)
		}
	})
}

// retry makes a new attempt at op, unless a newer attempt already started.
func (s *Sim) retry(op *pendingOp, attempt int) {
	if op.done || op.attempt != attempt {
		return
	}
	// Back off a little so a leaderless cluster is not hammered.
	s.schedule(5*time.Millisecond, evClient, 0, func() {
		if !op.done && op.attempt == attempt {
			s.attempt(op)
		}
	})
}

// resolve is called when the entry at w's index is applied on the node w
// waits on, with the state machine's result for it.
func (s *Sim) resolve(w waiter, e raft.Entry, res any) {
	op := w.op
	if op.done {
		return
	}
	if e.Term != w.term {
		// Another entry was committed in our slot: this attempt never will be.
		op.doubtful--
		s.retry(op, w.attempt)
		return
	}
	out, again := op.outcome(res)
	if again {
		// The state machine refused the command without applying it.
		op.doubtful--
		s.retry(op, w.attempt)
		return
	}
	s.schedule(s.opts.ClientDelay, evClient, 0, func() {
		if op.done {
			return
		}
		if op.hasID {
			at := e.Index
			if op.appliedAt != 0 {
				at = op.appliedAt
			}
			s.clients.acked = append(s.clients.acked, ackedWrite{id: op.id, index: at, desc: describeOp(s.work.model(), op.input, out)})
		}
		s.finish(op, out, s.now)
	})
}

func describeOp(m porcupine.Model, in, out any) string {
	if in == nil || m.DescribeOperation == nil {
		return fmt.Sprint(in)
	}
	return m.DescribeOperation(in, out)
}

// timeout gives up on op.
func (s *Sim) timeout(op *pendingOp) {
	if op.done {
		return
	}
	switch {
	case op.doubtful > 0 && op.read == nil:
		s.finish(op, op.unknown, math.MaxInt64)
	default:
		// A read without an answer constrains nothing; a write that was
		// never in doubt did not happen. Neither goes in the history.
		op.done = true
		if op.onDone != nil {
			op.onDone(nil, false)
		}
		s.scheduleNext(op.c)
	}
}

// finish records op in the history (unless it is internal) and moves its
// client on.
func (s *Sim) finish(op *pendingOp, out any, ret time.Duration) {
	op.done = true
	p := s.clients
	if op.input != nil {
		p.history = append(p.history, porcupine.Operation{
			ClientId: op.c.id, Input: op.input, Call: int64(op.call), Output: out, Return: int64(ret),
		})
		p.ids = append(p.ids, opRef{id: op.id, has: op.hasID})
		if ret != math.MaxInt64 {
			p.okOps++
			p.lastOK = s.now
		}
	}
	if op.onDone != nil {
		op.onDone(out, ret != math.MaxInt64)
	}
	s.scheduleNext(op.c)
}

func (s *Sim) scheduleNext(c *client) {
	if c.manual {
		return
	}
	s.schedule(s.thinkTime(), evClient, 0, func() { s.nextOp(c) })
}

// History returns the operations clients completed (or gave up on) so far.
func (s *Sim) History() []porcupine.Operation {
	if s.clients == nil {
		return nil
	}
	return s.clients.history
}

// Model returns the porcupine model the clients' history is checked against.
func (s *Sim) Model() porcupine.Model { return s.work.model() }

// ClientOps returns how many operations completed with a known outcome, and
// the virtual time of the last one.
func (s *Sim) ClientOps() (int, time.Duration) {
	if s.clients == nil {
		return 0, 0
	}
	return s.clients.okOps, s.clients.lastOK
}

// CheckLinearizable checks the clients' history with porcupine. Call it once
// clients have stopped and the cluster has settled: writes whose outcome is
// unknown but that provably never took effect are dropped first.
func (s *Sim) CheckLinearizable(timeout time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	if s.clients != nil {
		s.dropVoidUnknowns()
	}
	return porcupine.CheckOperationsVerbose(s.work.model(), s.History(), timeout)
}

// dropVoidUnknowns removes from the history the writes with an unknown
// outcome that provably never took effect. Porcupine must otherwise try every
// place such an operation could have been linearized, which grows
// exponentially with their number.
//
// The proof: every node is up, and every member is in the term of a leader
// that has committed an entry of that term. Then no message of an older
// leader can be accepted any more, and the only log entries that can still
// commit are in the leader's log — so a command found in no node's log, and
// never applied, never will be. It reports false (and changes nothing) when
// the cluster is not in that settled state.
func (s *Sim) dropVoidUnknowns() bool {
	var leader *node
	for _, id := range s.ids {
		n := s.nodes[id]
		if !n.started {
			continue // a spare that never ran holds nothing
		}
		if !n.up {
			return false
		}
		if st := n.raft.Status(); st.Role == raft.Leader {
			leader = n
		}
	}
	if leader == nil {
		return false
	}
	lst := leader.raft.Status()
	if t, _ := leader.raft.Term(lst.Commit); t != lst.Term {
		return false
	}
	// Commands ever applied (including those compacted into snapshots),
	// and every command still in some node's log, committed or not.
	present := map[opID]bool{}
	for id := range s.check.applied {
		present[id] = true
	}
	members := map[uint64]bool{}
	for _, id := range append(append([]uint64(nil), lst.Conf.Voters...), lst.Conf.Learners...) {
		members[id] = true
	}
	for _, id := range s.ids {
		n := s.nodes[id]
		if !n.started {
			continue
		}
		// Members must have joined the leader's term. A removed server may
		// linger in an older one; it can never lead the cluster again, and
		// its log only adds commands (a conservative choice).
		st := n.raft.Status()
		if members[id] && st.Term != lst.Term {
			return false
		}
		for _, e := range n.raft.Entries(st.FirstIndex, st.LastIndex+1) {
			if id, ok := s.work.commandID(e); ok {
				present[id] = true
			}
		}
	}
	p := s.clients
	h, ids := p.history[:0], p.ids[:0]
	for i, op := range p.history {
		if ref := p.ids[i]; op.Return == math.MaxInt64 && ref.has && !present[ref.id] {
			continue
		}
		h, ids = append(h, op), append(ids, p.ids[i])
	}
	p.history, p.ids = h, ids
	return true
}

// LostAcknowledged describes the writes a client saw succeed whose command
// is not where it was applied in the committed history any more (the
// checker recorded which command every node applied at every index). Raft
// promises this is always empty.
func (s *Sim) LostAcknowledged() []string {
	if s.clients == nil {
		return nil
	}
	var lost []string
	for _, a := range s.clients.acked {
		if s.check.opAt(a.index) != a.id {
			lost = append(lost, fmt.Sprintf("%s (applied at index %d)", a.desc, a.index))
		}
	}
	return lost
}

// AppendCommand returns the command that appends v to the register, for
// tests that propose through (*Sim).Propose.
func AppendCommand(v uint64) []byte { return encodeAppend(v) }

// RegisterValue is what a read of the register returns: how many values it
// holds, and the last one.
type RegisterValue struct {
	Len  int
	Last uint64
}

// ErrReadTimeout is returned by Read when the read was not served in time.
var ErrReadTimeout = errors.New("sim: read not served in time")

// Read performs one linearizable read of the register through ReadIndex on
// node id, running the simulation until the node serves it or timeout
// passes. A read whose forward, heartbeats or answer were lost is never
// served (ReadIndex does not retry): on ErrReadTimeout, callers retry, as
// real clients do.
func (s *Sim) Read(id uint64, timeout time.Duration) (RegisterValue, error) {
	n := s.nodes[id]
	if !n.up {
		return RegisterValue{}, ErrNodeDown
	}
	if s.opts.Workload != WorkloadRegister {
		return RegisterValue{}, fmt.Errorf("sim: Read reads the register, but the workload is %q", s.opts.Workload)
	}
	var got *registerState
	op := &pendingOp{
		read:   func(sm stateMachine) any { return sm.(*register).state },
		onRead: func(v any) { st := v.(registerState); got = &st },
	}
	s.readSeq++
	ctx := fmt.Sprintf("read-%d", s.readSeq)
	var err error
	s.guard(func() {
		if err = n.raft.ReadIndex([]byte(ctx)); err == nil {
			n.reads[ctx] = waiter{op: op}
			n.process()
		}
	})
	if err != nil {
		return RegisterValue{}, err
	}
	if ok, err := s.RunUntil(timeout, func() bool { return got != nil }); err != nil {
		return RegisterValue{}, err
	} else if !ok {
		return RegisterValue{}, ErrReadTimeout
	}
	return RegisterValue{Len: got.Len, Last: got.Last}, nil
}
