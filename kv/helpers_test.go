package kv

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

// engineKinds are the engines the engine-dependent tests run over.
var engineKinds = []string{storage.KindMemory, storage.KindBolt, storage.KindPebble}

var durableKinds = []string{storage.KindBolt, storage.KindPebble}

// openEngine opens an engine of kind in dir; it is closed when the test ends
// (closing twice is harmless here).
func openEngine(t testing.TB, kind, dir string) storage.Engine {
	t.Helper()
	e, err := storage.Open(kind, dir, storage.Options{CacheSize: 8 << 20, MmapSize: 64 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// tester drives a state machine the way the raft apply loop does: it wraps
// commands in consecutive log entries.
type tester struct {
	t   testing.TB
	sm  *StateMachine
	eng storage.Engine
	now int64 // the Time put on commands built by the helpers
}

// baseTime is a realistic clock (2023-11-14 22:13:20 UTC) for the tests.
const baseTime = int64(1_700_000_000) * int64(time.Second)

func newTester(t testing.TB, e storage.Engine, limits Limits) *tester {
	t.Helper()
	sm, err := New(e, limits)
	require.NoError(t, err)
	return &tester{t: t, sm: sm, eng: e, now: baseTime}
}

// newMem is a tester over a fresh memory engine with default limits.
func newMem(t testing.TB) *tester { return newTester(t, storage.NewMemory(), Limits{}) }

// newKind is a tester over a fresh engine of kind.
func newKind(t testing.TB, kind string) *tester {
	return newTester(t, openEngine(t, kind, t.TempDir()), Limits{})
}

// entries wraps commands in entries that follow the applied index.
func (h *tester) entries(cmds ...Command) []raft.Entry {
	ents := make([]raft.Entry, len(cmds))
	next := h.sm.Applied() + 1
	for i := range cmds {
		ents[i] = raft.Entry{Term: 1, Index: next + uint64(i), Type: raft.EntryNormal, Data: cmds[i].Encode()}
	}
	return ents
}

// apply applies the commands as consecutive entries in one Apply call.
func (h *tester) apply(cmds ...Command) []Result {
	h.t.Helper()
	res, err := h.sm.Apply(h.entries(cmds...), false)
	require.NoError(h.t, err)
	require.Len(h.t, res, len(cmds))
	return res
}

// do applies one command and returns its result.
func (h *tester) do(cmd Command) Result {
	h.t.Helper()
	return h.apply(cmd)[0]
}

// ok applies one command and requires it to succeed.
func (h *tester) ok(cmd Command) Result {
	h.t.Helper()
	r := h.do(cmd)
	require.Equal(h.t, CodeOK, r.Code, "result %+v", r)
	require.NoError(h.t, r.Err())
	return r
}

// cmd builds a CmdOps command at the tester's clock.
func (h *tester) cmd(ops ...Op) Command { return Command{Kind: CmdOps, Time: h.now, Ops: ops} }

// scmd builds a CmdOps command on a session.
func (h *tester) scmd(clientID, seq uint64, ops ...Op) Command {
	return Command{Kind: CmdOps, Session: Session{ClientID: clientID, Seq: seq}, Time: h.now, Ops: ops}
}

func (h *tester) tick() Command { return Command{Kind: CmdTick, Time: h.now} }

func (h *tester) open() uint64 {
	h.t.Helper()
	r := h.ok(Command{Kind: CmdOpenSession, Time: h.now})
	require.Equal(h.t, r.Index, r.ClientID)
	return r.ClientID
}

// put writes key=value and returns the new version.
func (h *tester) put(key, value string) uint64 {
	h.t.Helper()
	r := h.ok(h.cmd(putOp(key, value)))
	return r.Ops[0].Version
}

// get reads key through StateMachine.Get.
func (h *tester) get(key string) (Item, error) { return h.sm.Get([]byte(key)) }

// value reads key and requires it to exist.
func (h *tester) value(key string) string {
	h.t.Helper()
	it, err := h.get(key)
	require.NoError(h.t, err, "get %q", key)
	return string(it.Value)
}

func (h *tester) requireAbsent(key string) {
	h.t.Helper()
	_, err := h.get(key)
	require.ErrorIs(h.t, err, ErrNotFound, "key %q", key)
}

// raw reports whether the engine physically holds key (expired or not).
func (h *tester) raw(key []byte) bool {
	h.t.Helper()
	_, err := h.eng.Get(key)
	if err == storage.ErrNotFound {
		return false
	}
	require.NoError(h.t, err)
	return true
}

// countPrefix counts the engine entries under one internal prefix.
func (h *tester) countPrefix(prefix byte) int {
	h.t.Helper()
	keys, err := collectKeys(h.eng, prefixRange(prefix))
	require.NoError(h.t, err)
	return len(keys)
}

func (h *tester) digest() uint64 {
	h.t.Helper()
	d, err := h.sm.Digest()
	require.NoError(h.t, err)
	return d
}

func putOp(key, value string) Op {
	return Op{Type: OpPut, Key: []byte(key), Value: bytesOrNil(value)}
}

func putTTL(key, value string, ttl time.Duration) Op {
	op := putOp(key, value)
	op.TTL = ttl
	return op
}

func casOp(key, value string, ifVersion uint64) Op {
	op := putOp(key, value)
	op.CheckVersion, op.IfVersion = true, ifVersion
	return op
}

func delOp(key string) Op { return Op{Type: OpDelete, Key: []byte(key)} }

func casDelOp(key string, ifVersion uint64) Op {
	return Op{Type: OpDelete, Key: []byte(key), CheckVersion: true, IfVersion: ifVersion}
}

func getOp(key string) Op { return Op{Type: OpGet, Key: []byte(key)} }

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
