package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// Clerk is a synchronous kv client for tests and labs, in the style of MIT
// 6.5840's kvraft Clerk: each call runs the simulation until the operation
// completes, retrying through leader changes, partitions and crashes as the
// autonomous clients do, with a session so that no retry applies twice.
//
// A call that cannot finish within ClerkTimeout of virtual time returns
// kv.ErrTimeout: a write may then have taken effect or not.
type Clerk struct {
	s *Sim
	c *client
}

// ClerkTimeout is how long a Clerk call waits before it gives up.
const ClerkTimeout = 20 * time.Second

// NewClerk returns a clerk with a session of its own (opened on first use).
// It requires the kv workload.
func (s *Sim) NewClerk() *Clerk {
	if s.opts.Workload != WorkloadKV {
		panic(fmt.Sprintf("sim: a Clerk needs the kv workload, not %q", s.opts.Workload))
	}
	if s.clients == nil {
		s.clients = &clientPool{}
	}
	c := &client{id: len(s.clients.clients), versions: map[string]uint64{}, manual: true}
	s.clients.clients = append(s.clients.clients, c)
	return &Clerk{s: s, c: c}
}

// ErrClerkBusy is returned when a Clerk is used again before its previous
// call returned (a clerk has one operation at a time, as its session
// requires).
var ErrClerkBusy = errors.New("sim: clerk already has an operation in progress")

// run drives op to completion and returns its output, or kv.ErrTimeout.
func (ck *Clerk) run(op *pendingOp) (any, error) {
	s, c := ck.s, ck.c
	if c.cur != nil && !c.cur.done {
		return nil, ErrClerkBusy
	}
	var out any
	known := false
	op.onDone = func(o any, k bool) { out, known = o, k }
	op.c, op.call = c, s.now
	c.cur = op
	s.guard(func() { s.attempt(op) })
	s.schedule(ClerkTimeout, evClient, 0, func() { s.timeout(op) })
	if _, err := s.RunUntil(ClerkTimeout+time.Second, func() bool { return op.done }); err != nil {
		return nil, err
	}
	if !op.done || !known {
		return nil, kv.ErrTimeout
	}
	return out, nil
}

// session opens the clerk's session if it has none.
func (ck *Clerk) session() error {
	if ck.c.session != 0 {
		return nil
	}
	w := ck.s.work.(*kvWorkload)
	if _, err := ck.run(w.openSession(ck.c)); err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	return nil
}

// do applies ops atomically on the clerk's session.
func (ck *Clerk) do(ops ...kv.Op) (kv.Result, error) {
	if err := ck.session(); err != nil {
		return kv.Result{}, err
	}
	w := ck.s.work.(*kvWorkload)
	out, err := ck.run(w.command(ck.c, ops))
	if err != nil {
		return kv.Result{}, err
	}
	r := out.(kv.Result)
	return r, r.Err()
}

// Put writes value under key and returns the key's new version.
func (ck *Clerk) Put(key, value string) (uint64, error) {
	r, err := ck.do(kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value)})
	if err != nil {
		return 0, err
	}
	return r.Ops[0].Version, nil
}

// PutIf writes value under key if the key's version is ifVersion (0: the
// key must not exist); otherwise it returns a *kv.VersionMismatchError.
func (ck *Clerk) PutIf(key, value string, ifVersion uint64) (uint64, error) {
	r, err := ck.do(kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value), CheckVersion: true, IfVersion: ifVersion})
	if err != nil {
		return 0, err
	}
	return r.Ops[0].Version, nil
}

// Delete removes key and reports whether it existed.
func (ck *Clerk) Delete(key string) (bool, error) {
	r, err := ck.do(kv.Op{Type: kv.OpDelete, Key: []byte(key)})
	if err != nil {
		return false, err
	}
	return r.Ops[0].Found, nil
}

// Batch applies ops atomically: all of them or, if a condition fails, none.
func (ck *Clerk) Batch(ops ...kv.Op) (kv.Result, error) { return ck.do(ops...) }

// Get reads key linearizably (through ReadIndex on whichever node the clerk
// reaches). It returns kv.ErrNotFound for an absent key.
func (ck *Clerk) Get(key string) (kv.Item, error) {
	var item kv.Item
	var rerr error
	if _, err := ck.run(&pendingOp{read: func(sm stateMachine) any {
		item, rerr = sm.(*kvMachine).sm.Get([]byte(key))
		return struct{}{}
	}}); err != nil {
		return kv.Item{}, err
	}
	return item, rerr
}

// Scan reads a page of keys linearizably.
func (ck *Clerk) Scan(req kv.ScanRequest) (kv.ScanResult, error) {
	var res kv.ScanResult
	var rerr error
	if _, err := ck.run(&pendingOp{read: func(sm stateMachine) any {
		res, rerr = sm.(*kvMachine).sm.Scan(req)
		return struct{}{}
	}}); err != nil {
		return kv.ScanResult{}, err
	}
	return res, rerr
}

// Session returns the clerk's session: its id, and the sequence number of
// its last command.
func (ck *Clerk) Session() kv.Session { return kv.Session{ClientID: ck.c.session, Seq: ck.c.seq} }

// Resend proposes the clerk's last command again, unchanged (same session,
// same sequence number), on node id, and returns the state machine's answer:
// what a client's retry after a lost reply looks like. The session must make
// it a duplicate that changes nothing.
func (ck *Clerk) Resend(id uint64) (kv.Result, error) {
	last := ck.c.lastCommand
	if last == nil {
		return kv.Result{}, errors.New("sim: the clerk has sent no command yet")
	}
	op := &pendingOp{command: last, retryInDoubt: true, target: id}
	op.outcome = func(res any) (any, bool) { return res, false }
	out, err := ck.run(op)
	if err != nil {
		return kv.Result{}, err
	}
	return out.(kv.Result), nil
}
