package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/raft"
)

// A simulated client issues one operation at a time against the register:
// it sends it to the node it believes leads, follows "not leader" hints,
// and waits for the entry to be applied on that node. What it saw is
// recorded as a porcupine history.
//
// An operation that was proposed but whose outcome the client never learned
// (the node crashed, the client timed out) is recorded with an unknown
// outcome: it may or may not have taken effect, and the checker must accept
// both. An operation that provably did not take effect (refused, or its log
// slot committed with another entry) is retried; it is still one operation.
type client struct {
	id     int
	leader uint64 // best guess
	cur    *pendingOp
}

type pendingOp struct {
	c     *client
	input registerInput
	call  time.Duration
	// The current attempt: proposed at node, got (index, term).
	node        uint64
	index, term uint64
	inDoubt     bool // proposed and not yet resolved: may take effect
	done        bool
	// onRead, if set, receives a read's result instead of a client (Read).
	onRead func(registerState)
}

type clientPool struct {
	clients []*client
	history []porcupine.Operation
	running bool
	nextVal uint64
	okOps   int // completed with a known outcome
	lastOK  time.Duration
}

// StartClients starts n clients issuing operations until StopClients.
func (s *Sim) StartClients(n int) {
	if s.clients == nil {
		s.clients = &clientPool{}
	}
	s.clients.running = true
	for range n {
		c := &client{id: len(s.clients.clients)}
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
	p := s.clients
	if !p.running {
		return
	}
	p.nextVal++
	op := &pendingOp{c: c, call: s.now, input: registerInput{Append: s.rng.IntN(10) < 7, Value: p.nextVal}}
	c.cur = op
	s.schedule(s.opts.ClientTimeout, evClient, 0, func() { s.timeout(op) })
	s.attempt(op)
}

// attempt sends op to the node the client believes leads.
func (s *Sim) attempt(op *pendingOp) {
	c := op.c
	target := c.leader
	if target == raft.None || s.rng.IntN(10) == 0 {
		target = s.ids[s.rng.IntN(len(s.ids))]
	}
	s.schedule(s.opts.ClientDelay, evCall, target, func() {
		if op.done {
			return
		}
		n := s.nodes[target]
		if !n.up {
			// Connection refused: nothing happened; try elsewhere.
			s.schedule(s.opts.ClientDelay, evClient, 0, func() { c.leader = raft.None; s.retry(op) })
			return
		}
		if !op.input.Append {
			s.startRead(n, op)
			return
		}
		index, term, err := n.raft.Propose(encodeAppend(op.input.Value))
		if err != nil {
			// Not the leader (follow the hint), or a transfer in progress:
			// nothing was appended; try again.
			hint := raft.None
			if nl := (*raft.NotLeaderError)(nil); errors.As(err, &nl) {
				hint = nl.Leader
			}
			s.schedule(s.opts.ClientDelay, evClient, 0, func() { c.leader = hint; s.retry(op) })
			return
		}
		op.node, op.index, op.term, op.inDoubt = target, index, term, true
		c.leader = target
		n.waiters[index] = append(n.waiters[index], op)
		n.process()
	})
}

// startRead asks node n for a linearizable read through ReadIndex. Any node
// will do: a follower forwards the request to its leader and serves the read
// from its own state machine once it has applied up to the read index.
func (s *Sim) startRead(n *node, op *pendingOp) {
	s.readSeq++
	ctx := fmt.Sprintf("read-%d", s.readSeq)
	if err := n.raft.ReadIndex([]byte(ctx)); err != nil {
		s.schedule(s.opts.ClientDelay, evClient, 0, func() { op.c.leader = raft.None; s.retry(op) })
		return
	}
	op.node = n.id
	n.reads[ctx] = op
	n.process()
}

// serveRead answers a read once its node has applied up to the read index.
func (s *Sim) serveRead(op *pendingOp, state registerState) {
	if op.onRead != nil {
		op.onRead(state)
		return
	}
	s.schedule(s.opts.ClientDelay, evClient, 0, func() {
		if !op.done {
			s.finish(op, registerOutput{State: state}, s.now)
		}
	})
}

func (s *Sim) retry(op *pendingOp) {
	if op.done {
		return
	}
	// Back off a little so a leaderless cluster is not hammered.
	s.schedule(5*time.Millisecond, evClient, 0, func() {
		if !op.done {
			s.attempt(op)
		}
	})
}

// resolve is called when the entry at op's index is applied on op's node.
func (s *Sim) resolve(op *pendingOp, e raft.Entry, res registerResult) {
	if op.done || e.Index != op.index {
		return
	}
	if e.Term != op.term {
		// Another entry was committed in our slot: ours never will be.
		op.inDoubt = false
		s.retry(op)
		return
	}
	s.schedule(s.opts.ClientDelay, evClient, 0, func() {
		if op.done {
			return
		}
		s.finish(op, registerOutput{State: res.state}, s.now)
	})
}

// timeout gives up on op.
func (s *Sim) timeout(op *pendingOp) {
	if op.done {
		return
	}
	switch {
	case op.inDoubt && op.input.Append:
		s.finish(op, registerOutput{Unknown: true}, math.MaxInt64)
	default:
		// A read without an answer constrains nothing; an append that was
		// never in doubt did not happen. Neither goes in the history.
		op.done = true
		s.scheduleNext(op.c)
	}
}

func (s *Sim) finish(op *pendingOp, out registerOutput, ret time.Duration) {
	op.done = true
	p := s.clients
	p.history = append(p.history, porcupine.Operation{
		ClientId: op.c.id, Input: op.input, Call: int64(op.call), Output: out, Return: int64(ret),
	})
	if !out.Unknown {
		p.okOps++
		p.lastOK = s.now
	}
	s.scheduleNext(op.c)
}

func (s *Sim) scheduleNext(c *client) {
	s.schedule(s.thinkTime(), evClient, 0, func() { s.nextOp(c) })
}

// History returns the operations clients completed (or gave up on) so far.
func (s *Sim) History() []porcupine.Operation {
	if s.clients == nil {
		return nil
	}
	return s.clients.history
}

// ClientOps returns how many operations completed with a known outcome, and
// the virtual time of the last one.
func (s *Sim) ClientOps() (int, time.Duration) {
	if s.clients == nil {
		return 0, 0
	}
	return s.clients.okOps, s.clients.lastOK
}

// CheckLinearizable checks the clients' history with porcupine. Call it once
// clients have stopped and the cluster has settled: appends whose outcome is
// unknown but that provably never took effect are dropped first.
func (s *Sim) CheckLinearizable(timeout time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	if s.clients != nil {
		s.dropVoidUnknowns()
	}
	return porcupine.CheckOperationsVerbose(RegisterModel, s.History(), timeout)
}

// dropVoidUnknowns removes from the history the appends with an unknown
// outcome that provably never took effect. Porcupine must otherwise try every
// place such an operation could have been linearized, which grows
// exponentially with their number.
//
// The proof: every node is up, and every member is in the term of a leader
// that has committed an entry of that term. Then no message of an older leader can be accepted
// any more, and the only log entries that can still commit are in the
// leader's log — so a value found in no node's log never will be. It reports
// false (and changes nothing) when the cluster is not in that settled state.
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
	// Committed values (including those compacted into snapshots), and
	// every value still in some node's log, committed or not.
	present := map[uint64]bool{}
	for _, v := range s.check.values {
		present[v] = true
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
		// its log only adds values (a conservative choice).
		st := n.raft.Status()
		if members[id] && st.Term != lst.Term {
			return false
		}
		for _, e := range n.raft.Entries(st.FirstIndex, st.LastIndex+1) {
			if v, ok := appendedValue(e); ok {
				present[v] = true
			}
		}
	}
	h := s.clients.history[:0]
	for _, op := range s.clients.history {
		out := op.Output.(registerOutput)
		if out.Unknown && !present[op.Input.(registerInput).Value] {
			continue
		}
		h = append(h, op)
	}
	s.clients.history = h
	return true
}

// LostAcknowledged returns the values of appends that a client saw succeed
// but that are missing from the committed history (snapshot and log) of the
// most up-to-date live node. Raft promises this is always empty.
func (s *Sim) LostAcknowledged() []uint64 {
	var best *node
	for _, id := range s.ids {
		if n := s.nodes[id]; n.up && (best == nil || n.raft.Status().Commit > best.raft.Status().Commit) {
			best = n
		}
	}
	if best == nil || s.clients == nil {
		return nil
	}
	committed := s.committedValues(best)
	var lost []uint64
	for _, op := range s.clients.history {
		in, out := op.Input.(registerInput), op.Output.(registerOutput)
		if in.Append && !out.Unknown && !committed[in.Value] {
			lost = append(lost, in.Value)
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

// Read performs one linearizable read through ReadIndex on node id, running
// the simulation until the node serves it or timeout passes. A read whose
// forward, heartbeats or answer were lost is never served (ReadIndex does
// not retry): on ErrReadTimeout, callers retry, as real clients do.
func (s *Sim) Read(id uint64, timeout time.Duration) (RegisterValue, error) {
	n := s.nodes[id]
	if !n.up {
		return RegisterValue{}, ErrNodeDown
	}
	var got *registerState
	op := &pendingOp{onRead: func(st registerState) { got = &st }}
	s.readSeq++
	ctx := fmt.Sprintf("read-%d", s.readSeq)
	var err error
	s.guard(func() {
		if err = n.raft.ReadIndex([]byte(ctx)); err == nil {
			n.reads[ctx] = op
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
