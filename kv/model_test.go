package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

// This file checks the state machine against a plain in-memory model of the
// semantics on random workloads, and checks determinism: replicas on
// different engines, fed the same entries grouped differently into Apply
// calls, agree on every Result and on the Digest.

// modelLimits are small enough that sessions expire during a run.
var modelLimits = Limits{SessionTTL: 10 * time.Second}

type modelRec struct {
	value     []byte
	version   uint64
	expiresAt int64
}

type modelSession struct {
	lastSeq    uint64
	lastActive int64
	result     Result
}

// model is the specification, written for clarity rather than speed.
type model struct {
	limits   Limits
	clock    int64
	kv       map[string]modelRec
	sessions map[uint64]modelSession
}

func newModel(l Limits) *model {
	return &model{limits: l.withDefaults(), kv: map[string]modelRec{}, sessions: map[uint64]modelSession{}}
}

func (m *model) live(k string) (modelRec, bool) {
	r, ok := m.kv[k]
	if !ok || (r.expiresAt != 0 && r.expiresAt <= m.clock) {
		return modelRec{}, false
	}
	return r, true
}

func (m *model) liveSession(id uint64) (modelSession, bool) {
	s, ok := m.sessions[id]
	if !ok || m.clock-s.lastActive >= int64(m.limits.SessionTTL) {
		return modelSession{}, false
	}
	return s, true
}

func (m *model) apply(e raft.Entry) Result {
	res := Result{Index: e.Index}
	if e.Type != raft.EntryNormal || len(e.Data) == 0 {
		return res
	}
	cmd, err := DecodeCommand(e.Data)
	if err != nil {
		res.Code = CodeInvalid
		return res
	}
	if err := m.limits.Check(&cmd); err != nil {
		res.Code = codeOf(err)
		return res
	}
	m.clock = max(m.clock, cmd.Time)
	switch cmd.Kind {
	case CmdTick:
		return res
	case CmdOpenSession:
		m.sessions[e.Index] = modelSession{lastActive: m.clock}
		res.ClientID = e.Index
		return res
	case CmdCloseSession:
		if _, ok := m.liveSession(cmd.Session.ClientID); !ok {
			res.Code = CodeSessionExpired
		}
		delete(m.sessions, cmd.Session.ClientID)
		return res
	}
	id := cmd.Session.ClientID
	if id == 0 {
		return m.exec(res, cmd.Ops)
	}
	s, ok := m.liveSession(id)
	if !ok {
		res.Code = CodeSessionExpired
		return res
	}
	s.lastActive = m.clock
	switch {
	case cmd.Session.Seq == s.lastSeq:
		res = s.result
		res.Duplicate = true
	case cmd.Session.Seq < s.lastSeq:
		res.Code = CodeStaleSequence
	default:
		res = m.exec(res, cmd.Ops)
		s.lastSeq, s.result = cmd.Session.Seq, res
	}
	m.sessions[id] = s
	return res
}

func (m *model) exec(res Result, ops []Op) Result {
	next := make(map[string]modelRec, len(m.kv))
	for k, v := range m.kv {
		next[k] = v
	}
	saved := m.kv
	m.kv = next
	for i, op := range ops {
		k := string(op.Key)
		cur, found := m.live(k)
		if op.CheckVersion && op.IfVersion != cur.version {
			m.kv = saved
			res.Ops = nil
			res.Code, res.FailedOp, res.FailedKey = CodeVersionMismatch, i, op.Key
			res.Expected, res.Actual = op.IfVersion, cur.version
			return res
		}
		var r OpResult
		switch op.Type {
		case OpPut:
			var exp int64
			if op.TTL > 0 {
				exp = m.clock + int64(op.TTL)
			}
			next[k] = modelRec{value: op.Value, version: res.Index, expiresAt: exp}
			r.Version = res.Index
		case OpDelete:
			delete(next, k)
			r.Found, r.Version = found, cur.version
		case OpGet:
			r.Found, r.Version, r.Value, r.ExpiresAt = found, cur.version, cur.value, cur.expiresAt
		}
		res.Ops = append(res.Ops, r)
	}
	return res
}

// items returns the live keys in order, as Scan would.
func (m *model) items() []Item {
	var out []Item
	for k := range m.kv {
		if r, ok := m.live(k); ok {
			out = append(out, Item{Key: []byte(k), Value: r.value, Version: r.version, ExpiresAt: r.expiresAt})
		}
	}
	slices.SortFunc(out, func(a, b Item) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// workload generates random entries: ops with and without sessions,
// conditions, TTLs, ticks, session opens and closes, retries, stale and
// unknown sessions, lagging leader clocks, no-ops, garbage and invalid
// commands.
type workload struct {
	r        *rand.Rand
	next     uint64
	now      int64
	sessions []*genSession
}

type genSession struct {
	id, seq uint64
	last    Command // for retries
}

func newWorkload(seed uint64) *workload {
	return &workload{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), next: 1, now: baseTime}
}

func (w *workload) key() []byte { return []byte(fmt.Sprintf("k%d", w.r.IntN(12))) }

func (w *workload) op() Op {
	op := Op{Key: w.key()}
	switch n := w.r.IntN(10); {
	case n < 5:
		op.Type = OpPut
		op.Value = bytesOrNil(fmt.Sprint(w.r.IntN(1000)))
		if w.r.IntN(3) == 0 {
			op.TTL = time.Duration(1+w.r.IntN(5000)) * time.Millisecond
		}
	case n < 7:
		op.Type = OpDelete
	default:
		op.Type = OpGet
	}
	if op.Type != OpGet && w.r.IntN(3) == 0 {
		op.CheckVersion = true
		if w.r.IntN(3) > 0 && w.next > 1 {
			op.IfVersion = w.next - 1 - uint64(w.r.IntN(int(min(w.next-1, 15))))
		}
	}
	return op
}

func (w *workload) entry() raft.Entry {
	e := raft.Entry{Term: 1, Index: w.next, Type: raft.EntryNormal}
	w.next++
	w.now += int64(w.r.IntN(400)) * int64(time.Millisecond)
	t := w.now
	if w.r.IntN(20) == 0 {
		t -= int64(2 * time.Second) // a new leader whose clock lags
	}
	var cmd Command
	switch n := w.r.IntN(100); {
	case n < 3:
		e.Type = raft.EntryNoop
		return e
	case n < 5:
		return e // an empty normal entry
	case n < 7:
		e.Data = []byte{commandVersion, byte(w.r.IntN(8)), 0xff}
		return e
	case n < 12:
		w.now += int64(w.r.IntN(3000)) * int64(time.Millisecond)
		cmd = Command{Kind: CmdTick, Time: w.now}
	case n < 16:
		cmd = Command{Kind: CmdOpenSession, Time: t}
		w.sessions = append(w.sessions, &genSession{id: e.Index})
	case n < 18 && len(w.sessions) > 0:
		s := w.sessions[w.r.IntN(len(w.sessions))]
		cmd = Command{Kind: CmdCloseSession, Session: Session{ClientID: s.id}, Time: t}
	case n < 20:
		cmd = Command{Kind: CmdOps, Time: t, Ops: []Op{{Type: OpDelete, Key: w.key(), TTL: 1}}} // invalid
	default:
		cmd = Command{Kind: CmdOps, Time: t}
		for range 1 + w.r.IntN(4) {
			cmd.Ops = append(cmd.Ops, w.op())
		}
		if len(w.sessions) > 0 && w.r.IntN(2) == 0 {
			// Mostly the newest sessions, as live clients; sometimes an
			// old one, likely expired.
			i := len(w.sessions) - 1 - w.r.IntN(min(len(w.sessions), 3))
			if w.r.IntN(10) == 0 {
				i = w.r.IntN(len(w.sessions))
			}
			s := w.sessions[i]
			switch m := w.r.IntN(20); {
			case m < 4 && s.seq > 0:
				cmd = s.last // a retry
				cmd.Time = t
			case m < 5 && s.seq > 1:
				cmd.Session = Session{ClientID: s.id, Seq: s.seq - 1}
			case m < 6:
				cmd.Session = Session{ClientID: 1 << 40, Seq: 1} // never opened
			default:
				s.seq++
				cmd.Session = Session{ClientID: s.id, Seq: s.seq}
				s.last = cmd
			}
		}
	}
	e.Data = cmd.Encode()
	return e
}

func (w *workload) entries(n int) []raft.Entry {
	out := make([]raft.Entry, n)
	for i := range out {
		out[i] = w.entry()
	}
	return out
}

// applyGrouped applies ents to sm in Apply calls of random sizes.
func applyGrouped(t *testing.T, sm *StateMachine, ents []raft.Entry, r *rand.Rand, maxGroup int) []Result {
	t.Helper()
	var out []Result
	for len(ents) > 0 {
		n := min(len(ents), 1+r.IntN(maxGroup))
		res, err := sm.Apply(ents[:n], r.IntN(2) == 0)
		require.NoError(t, err)
		out = append(out, res...)
		ents = ents[n:]
	}
	return out
}

func TestModelRandomized(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorkload(seed)
			m := newModel(modelLimits)
			h := newTester(t, storage.NewMemory(), modelLimits)
			grouping := rand.New(rand.NewPCG(seed, 7))
			for round := 0; round < 20; round++ {
				ents := w.entries(40)
				got := applyGrouped(t, h.sm, ents, grouping, 8)
				for i, e := range ents {
					want := m.apply(e)
					require.Equal(t, want, got[i], "entry %d", e.Index)
				}
				require.Equal(t, m.clock, h.sm.Now())
				res, err := h.sm.Scan(ScanRequest{Limit: MaxScanLimit})
				require.NoError(t, err)
				require.Equal(t, m.items(), res.Items, "round %d", round)
				for k := range 12 {
					key := fmt.Sprintf("k%d", k)
					r, ok := m.live(key)
					it, err := h.get(key)
					if !ok {
						require.ErrorIs(t, err, ErrNotFound, key)
						continue
					}
					require.NoError(t, err)
					require.Equal(t, Item{Key: []byte(key), Value: r.value, Version: r.version, ExpiresAt: r.expiresAt}, it)
				}
			}
		})
	}
}

func TestDeterminismAcrossEnginesAndGroupings(t *testing.T) {
	w := newWorkload(42)
	replicas := []struct {
		name     string
		sm       *StateMachine
		maxGroup int
	}{
		{"memory/one-by-one", newTester(t, storage.NewMemory(), modelLimits).sm, 1},
		{"memory/random", newTester(t, storage.NewMemory(), modelLimits).sm, 10},
		{"pebble/random", newTester(t, openEngine(t, storage.KindPebble, t.TempDir()), modelLimits).sm, 10},
		{"bolt/whole-rounds", newTester(t, openEngine(t, storage.KindBolt, t.TempDir()), modelLimits).sm, 1000},
	}
	grouping := rand.New(rand.NewPCG(1, 1))
	var digests []uint64
	for round := 0; round < 10; round++ {
		ents := w.entries(60)
		var first []Result
		var digest uint64
		for i, rep := range replicas {
			res := applyGrouped(t, rep.sm, ents, grouping, rep.maxGroup)
			d, err := rep.sm.Digest()
			require.NoError(t, err)
			if i == 0 {
				first, digest = res, d
				continue
			}
			require.Equal(t, first, res, "%s: results, round %d", rep.name, round)
			require.Equal(t, digest, d, "%s: digest, round %d", rep.name, round)
		}
		digests = append(digests, digest)
	}
	for i := 1; i < len(digests); i++ {
		require.NotEqual(t, digests[i-1], digests[i], "the digest follows the state")
	}

	// A second run of the same workload gives the same digests.
	w2 := newWorkload(42)
	sm := newTester(t, storage.NewMemory(), modelLimits).sm
	for round := 0; round < 10; round++ {
		_, err := sm.Apply(w2.entries(60), false)
		require.NoError(t, err)
		d, err := sm.Digest()
		require.NoError(t, err)
		require.Equal(t, digests[round], d)
	}
}

func TestDigestSeesEveryPartOfTheState(t *testing.T) {
	base := func(t *testing.T) *tester {
		h := newMem(t)
		id := h.open()
		h.ok(h.scmd(id, 1, putOp("a", "1")))
		h.ok(h.cmd(putTTL("t", "v", time.Hour)))
		return h
	}
	ref := base(t)
	ref.ok(ref.cmd(putOp("x", "1")))
	refDigest := ref.digest()

	same := base(t)
	same.ok(same.cmd(putOp("x", "1")))
	require.Equal(t, refDigest, same.digest())

	for name, change := range map[string]func(h *tester){
		"value":   func(h *tester) { h.ok(h.cmd(putOp("x", "2"))) },
		"key":     func(h *tester) { h.ok(h.cmd(putOp("y", "1"))) },
		"version": func(h *tester) { h.ok(h.tick()); h.ok(h.cmd(putOp("x", "1"))) },
		"expiry":  func(h *tester) { h.ok(h.cmd(putTTL("x", "1", time.Hour))) },
		"clock":   func(h *tester) { h.now++; h.ok(h.cmd(putOp("x", "1"))) },
		"session": func(h *tester) { h.ok(h.cmd(putOp("x", "1"))); h.ok(h.scmd(1, 2, getOp("a"))) },
		"applied": func(h *tester) { h.ok(h.cmd(putOp("x", "1"))); h.ok(h.tick()) },
	} {
		h := base(t)
		change(h)
		require.NotEqual(t, refDigest, h.digest(), name)
	}
}

func TestDigestIgnoresSweepProgress(t *testing.T) {
	// Same entries; one replica applies them in one call (the expired key
	// stays in the engine), the other one by one (it is swept).
	mk := func() *tester { return newMem(t) }
	a, b := mk(), mk()
	put := a.cmd(putTTL("k", "v", time.Second), putOp("x", "y"))
	a.now += int64(time.Minute)
	tick := a.tick()
	ents := a.entries(put, tick)
	_, err := a.sm.Apply(ents, false)
	require.NoError(t, err)
	for _, e := range ents {
		_, err := b.sm.Apply([]raft.Entry{e}, false)
		require.NoError(t, err)
	}
	require.True(t, a.raw(userKey([]byte("k"))))
	require.False(t, b.raw(userKey([]byte("k"))))
	require.Equal(t, a.digest(), b.digest())
}
