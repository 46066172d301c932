package sim

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

// kvMachine runs minikv's kv state machine on a simulated node, on the
// memory engine (volatile) or on a modelled durable engine.
type kvMachine struct {
	s      *Sim
	sm     *kv.StateMachine
	engine *simEngine // nil: volatile
}

func (m *kvMachine) apply(entries []raft.Entry) ([]any, error) {
	results, err := m.sm.Apply(entries, false)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r
	}
	return out, nil
}

func (m *kvMachine) applied() uint64 { return m.sm.Applied() }

// snapshot dumps the state machine. A node snapshots when it compacts its
// log; a durable engine is synced at that point, as a real node flushes its
// engine before it lets go of the log that could rebuild it.
func (m *kvMachine) snapshot() ([]byte, error) {
	snap, err := m.sm.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		return nil, err
	}
	if m.engine != nil {
		m.engine.sync()
	}
	return buf.Bytes(), nil
}

func (m *kvMachine) restore(data []byte) error { return m.sm.Restore(bytes.NewReader(data)) }

func (m *kvMachine) digest() (uint64, error) { return m.sm.Digest() }

func (m *kvMachine) crash() {
	if m.engine != nil {
		m.engine.crash(m.s.rng, m.s.opts.TearWrites)
	}
}

// kvWorkload: clients with sessions put, compare-and-set, delete, batch,
// get and scan keys in a few groups (kvmodel.go); a few also write keys with
// a TTL, outside the checked history, so that expiry runs on every replica.
type kvWorkload struct {
	s       *Sim
	nextVal uint64
	// lastTick is when each node last proposed a clock tick, so a leader
	// proposes one per expiry instead of one per raft tick.
	lastTick map[uint64]time.Duration
}

func newKVWorkload(s *Sim) *kvWorkload {
	return &kvWorkload{s: s, lastTick: map[uint64]time.Duration{}}
}

func (w *kvWorkload) model() porcupine.Model { return KVModel }

func (w *kvWorkload) openStateMachine(n *node) (stateMachine, error) {
	var eng storage.Engine = storage.NewMemory()
	m := &kvMachine{s: w.s}
	if w.s.opts.Engine == EngineDurable {
		if n.engine == nil {
			n.engine = newSimEngine()
		}
		eng, m.engine = n.engine, n.engine
	}
	sm, err := kv.New(eng, kv.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("node %d: kv: %w", n.id, err)
	}
	m.sm = sm
	return m, nil
}

// commandID names a kv command by its session and sequence number.
func (w *kvWorkload) commandID(e raft.Entry) (opID, bool) {
	if e.Type != raft.EntryNormal || len(e.Data) == 0 {
		return opID{}, false
	}
	cmd, err := kv.DecodeCommand(e.Data)
	if err != nil || cmd.Kind != kv.CmdOps || cmd.Session.ClientID == 0 {
		return opID{}, false
	}
	return opID{a: cmd.Session.ClientID, b: cmd.Session.Seq}, true
}

// clock is the time a node stamps on the commands it proposes: the
// simulation's virtual time, as Unix nanoseconds from an arbitrary epoch.
func (w *kvWorkload) clock() int64 { return int64(w.s.now) + 1 }

// onTick lets a leader propose a clock tick once a key is due to expire, so
// that TTLs fire even when no one writes (the real node does the same).
func (w *kvWorkload) onTick(n *node) {
	if n.raft.Status().Role != raft.Leader || w.s.now-w.lastTick[n.id] < 50*time.Millisecond {
		return
	}
	next, ok := n.sm.(*kvMachine).sm.NextExpiry()
	if !ok || next > w.clock() {
		return
	}
	w.lastTick[n.id] = w.s.now
	cmd := kv.Command{Kind: kv.CmdTick, Time: w.clock()}
	if _, _, err := n.raft.Propose(cmd.Encode()); err == nil {
		n.process()
	}
}

func (w *kvWorkload) nextOp(c *client) *pendingOp {
	s := w.s
	if c.session == 0 {
		return w.openSession(c)
	}
	g, slot := s.rng.IntN(kvGroups), s.rng.IntN(kvSlots)
	key := kvKey(g, slot)
	w.nextVal++
	value := fmt.Sprintf("%d.%d", c.id, w.nextVal)
	in := kvInput{Group: g, Slot: slot, Value: value}
	switch r := s.rng.IntN(100); {
	case r < 25:
		in.Kind = kvPut
		return w.write(c, in, kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value)})
	case r < 40:
		in.Kind, in.IfVersion = kvCAS, c.versions[key]
		return w.write(c, in, kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value), CheckVersion: true, IfVersion: in.IfVersion})
	case r < 50:
		in.Kind = kvDelete
		return w.write(c, in, kv.Op{Type: kv.OpDelete, Key: []byte(key)})
	case r < 55:
		in.Kind, in.Slot2 = kvBatch, (slot+1+s.rng.IntN(kvSlots-1))%kvSlots
		return w.write(c, in,
			kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value)},
			kv.Op{Type: kv.OpPut, Key: []byte(kvKey(g, in.Slot2)), Value: []byte(value)})
	case r < 60:
		return w.ttlPut(c, value)
	case r < 85:
		in.Kind = kvGet
		return w.read(in)
	default:
		in.Kind, in.Limit = kvScan, 1+s.rng.IntN(kvSlots)
		return w.read(in)
	}
}

// openSession opens the client's session: an operation of its own, kept out
// of the history.
func (w *kvWorkload) openSession(c *client) *pendingOp {
	return &pendingOp{
		command: func() []byte {
			cmd := kv.Command{Kind: kv.CmdOpenSession, Time: w.clock()}
			return cmd.Encode()
		},
		outcome: func(res any) (any, bool) {
			r := res.(kv.Result)
			if r.Code != kv.CodeOK {
				w.s.fail(fmt.Errorf("kv: opening a session: %v", r.Err()))
			}
			c.session, c.seq = r.ClientID, 0
			return nil, false
		},
		// A second session opened by a retry is harmless (it expires).
		retryInDoubt: true,
	}
}

// command is a command on c's session: every attempt carries the same
// sequence number, so the state machine applies it at most once. Its output
// is the state machine's kv.Result.
func (w *kvWorkload) command(c *client, ops []kv.Op) *pendingOp {
	c.seq++
	sess := kv.Session{ClientID: c.session, Seq: c.seq}
	encode := func() []byte {
		cmd := kv.Command{Kind: kv.CmdOps, Session: sess, Time: w.clock(), Ops: ops}
		return cmd.Encode()
	}
	c.lastCommand = encode
	op := &pendingOp{
		command:      encode,
		id:           opID{a: sess.ClientID, b: sess.Seq},
		hasID:        true,
		retryInDoubt: true,
	}
	op.outcome = func(res any) (any, bool) {
		r := res.(kv.Result)
		op.appliedAt = r.Index // where it first applied, if this is a retry
		switch r.Code {
		case kv.CodeSessionExpired, kv.CodeStaleSequence:
			// One command at a time on a session that cannot expire within
			// a run: either answer is a bug.
			w.s.fail(fmt.Errorf("kv: client %d session %d seq %d: unexpected result %v", c.id, sess.ClientID, sess.Seq, r.Err()))
		}
		return r, false
	}
	return op
}

// write is one of the checked writes of an autonomous client.
func (w *kvWorkload) write(c *client, in kvInput, ops ...kv.Op) *pendingOp {
	op := w.command(c, ops)
	op.input, op.unknown = in, kvOutput{Unknown: true}
	result := op.outcome
	op.outcome = func(res any) (any, bool) {
		rv, _ := result(res)
		r := rv.(kv.Result)
		var out kvOutput
		switch r.Code {
		case kv.CodeOK:
			out.Version = r.Ops[0].Version
			if in.Kind == kvDelete {
				out.Found = r.Ops[0].Found
			} else {
				c.versions[kvKey(in.Group, in.Slot)] = out.Version
			}
		case kv.CodeVersionMismatch:
			out.Mismatch, out.Actual = true, r.Actual
		default:
			w.s.fail(fmt.Errorf("kv: client %d: %s: unexpected result %v", c.id, describeOp(KVModel, in, kvOutput{Unknown: true}), r.Err()))
		}
		return out, false
	}
	return op
}

// ttlPut writes a key that expires soon. It is outside the checked history
// (the model does not know the state machine's clock); what it checks is
// that every replica expires keys identically (state digests) and that the
// leader's clock ticks make expiry happen.
func (w *kvWorkload) ttlPut(c *client, value string) *pendingOp {
	s := w.s
	key := fmt.Sprintf("ttl/%d", s.rng.IntN(4))
	ttl := time.Duration(20+s.rng.IntN(300)) * time.Millisecond
	return w.command(c, []kv.Op{{Type: kv.OpPut, Key: []byte(key), Value: []byte(value), TTL: ttl}})
}

// read is a get or a scan, served through ReadIndex from the state machine
// of whichever node the client reached.
func (w *kvWorkload) read(in kvInput) *pendingOp {
	return &pendingOp{
		input: in,
		read: func(sm stateMachine) any {
			kvm := sm.(*kvMachine).sm
			if in.Kind == kvGet {
				it, err := kvm.Get([]byte(kvKey(in.Group, in.Slot)))
				switch {
				case errors.Is(err, kv.ErrNotFound):
					return kvOutput{}
				case err != nil:
					w.s.fail(fmt.Errorf("kv: get: %w", err))
					return kvOutput{}
				}
				return kvOutput{Found: true, Value: string(it.Value), Version: it.Version}
			}
			prefix := kvGroupPrefix(in.Group)
			res, err := kvm.Scan(kv.ScanRequest{Prefix: []byte(prefix), Limit: in.Limit})
			if err != nil {
				w.s.fail(fmt.Errorf("kv: scan: %w", err))
				return kvOutput{}
			}
			var out kvOutput
			for _, it := range res.Items {
				var slot int
				if _, err := fmt.Sscanf(string(it.Key[len(prefix):]), "k%d", &slot); err != nil {
					w.s.fail(fmt.Errorf("kv: scan of %s returned key %q", prefix, it.Key))
				}
				out.Items = append(out.Items, kvItem{Slot: slot, Value: string(it.Value), Version: it.Version})
			}
			return out
		},
	}
}
