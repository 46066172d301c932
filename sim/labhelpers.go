package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// Helpers for lab 6 (linearizable kv, labs/kv): reads pinned to one node,
// and clerk commands that run while the test moves the cluster around.

// GetOn reads key linearizably through node id alone, as (*Sim).Read does
// for the register: node id asks for a read index (a follower forwards the
// request to the leader it knows), and answers from its own state machine
// once that has applied up to the read index. Nothing is retried, on this
// node or any other. It returns ErrReadTimeout if the read was not served
// within timeout (a node cut off from the leader never serves one),
// raft.ErrNoLeader if the node knows no leader to ask, ErrNodeDown, or the
// read's own answer (kv.ErrNotFound for an absent key).
func (s *Sim) GetOn(id uint64, key string, timeout time.Duration) (kv.Item, error) {
	n := s.nodes[id]
	if !n.up {
		return kv.Item{}, ErrNodeDown
	}
	if s.opts.Workload != WorkloadKV {
		return kv.Item{}, fmt.Errorf("sim: GetOn reads the kv store, but the workload is %q", s.opts.Workload)
	}
	var item kv.Item
	var rerr error
	served := false
	op := &pendingOp{
		read: func(sm stateMachine) any {
			item, rerr = sm.(*kvMachine).sm.Get([]byte(key))
			return nil
		},
		onRead: func(any) { served = true },
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
		return kv.Item{}, err
	}
	if ok, err := s.RunUntil(timeout, func() bool { return served }); err != nil {
		return kv.Item{}, err
	} else if !ok {
		return kv.Item{}, ErrReadTimeout
	}
	return item, rerr
}

// StaleGet reads key from node id's state machine as it stands, without
// asking anyone: no read index, no waiting. It is fast and may be stale,
// arbitrarily so on a node cut off from the leader. It does not run the
// simulation.
func (s *Sim) StaleGet(id uint64, key string) (kv.Item, error) {
	n := s.nodes[id]
	if !n.up {
		return kv.Item{}, ErrNodeDown
	}
	m, ok := n.sm.(*kvMachine)
	if !ok {
		return kv.Item{}, fmt.Errorf("sim: StaleGet reads the kv store, but the workload is %q", s.opts.Workload)
	}
	return m.sm.Get([]byte(key))
}

// ClerkCall is a clerk command in flight (see (*Clerk).Start).
type ClerkCall struct {
	op    *pendingOp
	out   any
	known bool
}

// Start sends ops, applied atomically on the clerk's session, to node id,
// and returns without running the simulation: the test runs it (RunFor,
// RunUntil) and looks at the call with Done and Result. It opens the
// clerk's session first if it has none (that does run the simulation).
//
// Unlike the clerk's synchronous calls, a Start never abandons an attempt
// because it takes long. The clerk tries another node only when node id
// refuses the command (it is not the leader: the clerk follows its hint) or
// when the attempt is proven void (the node applied another entry in the
// command's log slot). So a command that a leader cut off from the majority
// accepted stays there until the partition heals and the slot is
// overwritten; only then does the clerk send it again, on the same session
// and sequence number. After ClerkTimeout the call gives up: Result then
// returns kv.ErrTimeout.
func (ck *Clerk) Start(id uint64, ops ...kv.Op) (*ClerkCall, error) {
	if err := ck.session(); err != nil {
		return nil, err
	}
	s, c := ck.s, ck.c
	if c.cur != nil && !c.cur.done {
		return nil, ErrClerkBusy
	}
	op := s.work.(*kvWorkload).command(c, ops)
	op.retryInDoubt, op.target = false, id
	call := &ClerkCall{op: op}
	op.onDone = func(o any, known bool) { call.out, call.known = o, known }
	op.c, op.call = c, s.now
	c.cur = op
	s.guard(func() { s.attempt(op) })
	s.schedule(ClerkTimeout, evClient, 0, func() { s.timeout(op) })
	return call, nil
}

// Done reports whether the call has finished: with an answer, or given up.
func (call *ClerkCall) Done() bool { return call.op.done }

// ErrNotDone is returned by (*ClerkCall).Result for a call still in flight.
var ErrNotDone = errors.New("sim: clerk call still in flight")

// Result returns the state machine's answer to the call, and the answer's
// error (Result.Err); ErrNotDone while the call is in flight, kv.ErrTimeout
// if it gave up.
func (call *ClerkCall) Result() (kv.Result, error) {
	switch {
	case !call.op.done:
		return kv.Result{}, ErrNotDone
	case !call.known:
		return kv.Result{}, kv.ErrTimeout
	}
	r := call.out.(kv.Result)
	return r, r.Err()
}

// After runs fn at virtual time Now()+d, as an event of the simulation: a
// test's own nemesis, which acts in the middle of whatever runs the
// simulation then (a clerk's call, RunFor). fn must not fail the test (it
// runs inside the event loop); it may partition, heal, crash, restart and
// schedule itself again.
func (s *Sim) After(d time.Duration, fn func()) {
	s.schedule(d, evNemesis, 0, fn)
}
