package kv

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/storage"
)

// populate gives h a state with every kind of record: plain keys, TTL keys
// (live and expired-unswept), a deleted key, sessions with results.
func populate(t *testing.T, h *tester) (session uint64) {
	t.Helper()
	session = h.open()
	h.ok(h.cmd(putOp("a", "1"), putOp("b", "2"), putOp("gone", "x")))
	h.ok(h.cmd(putTTL("ttl/live", "v", time.Hour)))
	h.ok(h.scmd(session, 1, putOp("s", "from session"), getOp("a")))
	h.ok(h.cmd(delOp("gone")))
	put := h.cmd(putTTL("ttl/dead", "v", time.Second))
	h.now += int64(time.Minute)
	h.apply(put, h.tick()) // ttl/dead is expired but still in the engine
	return session
}

// requireSameReads checks that two state machines answer reads alike.
func requireSameReads(t *testing.T, want, got *StateMachine) {
	t.Helper()
	require.Equal(t, want.Applied(), got.Applied())
	require.Equal(t, want.Now(), got.Now())
	for _, k := range []string{"a", "b", "s", "gone", "ttl/live", "ttl/dead", "missing"} {
		wi, werr := want.Get([]byte(k))
		gi, gerr := got.Get([]byte(k))
		require.Equal(t, werr == nil, gerr == nil, "key %q", k)
		require.Equal(t, wi, gi, "key %q", k)
	}
	ws, err := want.Scan(ScanRequest{})
	require.NoError(t, err)
	gs, err := got.Scan(ScanRequest{})
	require.NoError(t, err)
	require.Equal(t, ws, gs)
	wd, err := want.Digest()
	require.NoError(t, err)
	gd, err := got.Digest()
	require.NoError(t, err)
	require.Equal(t, wd, gd)
	we, wok := want.NextExpiry()
	ge, gok := got.NextExpiry()
	require.Equal(t, wok, gok)
	require.Equal(t, we, ge)
}

func TestSnapshotRestoreAcrossEngines(t *testing.T) {
	for _, from := range engineKinds {
		for _, to := range engineKinds {
			t.Run(from+"_to_"+to, func(t *testing.T) {
				src := newKind(t, from)
				session := populate(t, src)

				snap, err := src.sm.Snapshot()
				require.NoError(t, err)
				require.Equal(t, src.sm.Applied(), snap.Index)
				require.Equal(t, src.sm.Now(), snap.Clock)
				var buf bytes.Buffer
				n, err := snap.WriteTo(&buf)
				require.NoError(t, err)
				require.Equal(t, int64(buf.Len()), n)
				require.NoError(t, snap.Close())

				dst := newKind(t, to)
				require.NoError(t, dst.sm.Restore(&buf))
				requireSameReads(t, src.sm, dst.sm)

				// Both go on identically: the session, its dedupe and
				// the sweep came along.
				dst.now = src.now
				for _, h := range []*tester{src, dst} {
					res := h.apply(
						h.scmd(session, 1, putOp("s", "retry")),
						h.scmd(session, 2, casOp("a", "3", 2)),
						h.cmd(putOp("after", "restore")),
					)
					require.True(t, res[0].Duplicate)
					require.Equal(t, CodeOK, res[1].Code)
				}
				requireSameReads(t, src.sm, dst.sm)
				require.Equal(t, src.countPrefix(prefixTTL), dst.countPrefix(prefixTTL))
			})
		}
	}
}

func TestRestoreReplacesPreviousState(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			src := newMem(t)
			src.put("kept", "v")
			snap, err := src.sm.Snapshot()
			require.NoError(t, err)
			var buf bytes.Buffer
			_, err = snap.WriteTo(&buf)
			require.NoError(t, err)
			require.NoError(t, snap.Close())

			// The target is further ahead, with other keys, TTLs and sessions.
			dst := newKind(t, kind)
			id := dst.open()
			dst.ok(dst.scmd(id, 1, putOp("leftover", "x"), putTTL("ttl", "y", time.Hour)))
			dst.now += int64(time.Hour)
			dst.ok(dst.tick())

			require.NoError(t, dst.sm.Restore(&buf))
			requireSameReads(t, src.sm, dst.sm)
			dst.requireAbsent("leftover")
			require.Equal(t, 0, dst.countPrefix(prefixSession))
			require.Equal(t, 0, dst.countPrefix(prefixActivity))
			require.Equal(t, 0, dst.countPrefix(prefixTTL))
			require.Equal(t, uint64(1), dst.sm.Applied())
			require.Equal(t, baseTime, dst.sm.Now(), "the clock went back to the snapshot's")
			require.Equal(t, CodeSessionExpired, dst.do(dst.scmd(id, 2, putOp("z", "z"))).Code)
		})
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	h := newMem(t)
	h.put("k", "before")
	snap, err := h.sm.Snapshot()
	require.NoError(t, err)
	defer snap.Close()
	h.put("k", "after")
	h.put("new", "x")

	dst := newMem(t)
	var buf bytes.Buffer
	_, err = snap.WriteTo(&buf)
	require.NoError(t, err)
	require.NoError(t, dst.sm.Restore(&buf))
	require.Equal(t, uint64(1), dst.sm.Applied())
	require.Equal(t, "before", dst.value("k"))
	dst.requireAbsent("new")
}

func TestRestoreFailureMakesStateUnusableUntilGoodRestore(t *testing.T) {
	src := newMem(t)
	src.put("k", "v")
	snap, err := src.sm.Snapshot()
	require.NoError(t, err)
	var good bytes.Buffer
	_, err = snap.WriteTo(&good)
	require.NoError(t, err)
	require.NoError(t, snap.Close())

	// A valid dump that is not a kv snapshot: no meta record.
	plain := storage.NewMemory()
	var b storage.Batch
	b.Put([]byte("x"), []byte("y"))
	require.NoError(t, plain.Apply(&b, false))
	var notKV bytes.Buffer
	require.NoError(t, storage.Dump(plain, &notKV))

	corrupt := append([]byte(nil), good.Bytes()...)
	corrupt[len(corrupt)-1] ^= 0xff

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"not a kv snapshot", notKV.Bytes()},
		{"corrupt", corrupt},
		{"truncated", good.Bytes()[:good.Len()/2]},
		{"garbage", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newMem(t)
			h.put("mine", "v")
			require.Error(t, h.sm.Restore(bytes.NewReader(tc.data)))

			_, err := h.sm.Get([]byte("mine"))
			require.ErrorContains(t, err, "unusable")
			_, err = h.sm.Apply(h.entries(h.cmd(putOp("a", "b"))), false)
			require.ErrorContains(t, err, "unusable")
			_, err = h.sm.Scan(ScanRequest{})
			require.Error(t, err)
			_, err = h.sm.Snapshot()
			require.Error(t, err)
			_, err = h.sm.Digest()
			require.Error(t, err)
			_, ok := h.sm.NextExpiry()
			require.False(t, ok)

			require.NoError(t, h.sm.Restore(bytes.NewReader(good.Bytes())))
			requireSameReads(t, src.sm, h.sm)
			h.put("then", "works")
		})
	}
}

func TestDurableReopenKeepsState(t *testing.T) {
	for _, kind := range durableKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, kind, dir)
			h := newTester(t, e, Limits{})
			session := populate(t, h)
			applied, now := h.sm.Applied(), h.sm.Now()
			digest := h.digest()
			require.NoError(t, e.Close())

			e2 := openEngine(t, kind, dir)
			h2 := newTester(t, e2, Limits{})
			h2.now = h.now
			require.Equal(t, applied, h2.sm.Applied())
			require.Equal(t, now, h2.sm.Now())
			require.Equal(t, digest, h2.digest())
			require.Equal(t, "1", h2.value("a"))
			h2.requireAbsent("ttl/dead")

			// It continues at applied+1, with sessions intact.
			res := h2.apply(h2.scmd(session, 1, putOp("s", "retry")), h2.cmd(putOp("c", "3")))
			require.True(t, res[0].Duplicate)
			require.Equal(t, applied+2, res[1].Index)
			require.Equal(t, "from session", h2.value("s"))
			_, err := h2.sm.Apply(h2.entries(h2.cmd(putOp("x", "y"))), true)
			require.NoError(t, err)
			require.Equal(t, applied+3, h2.sm.Applied())
		})
	}
}

func TestFreshEngineReopensAtZero(t *testing.T) {
	for _, kind := range durableKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, kind, dir)
			_ = newTester(t, e, Limits{})
			require.NoError(t, e.Close())
			h := newTester(t, openEngine(t, kind, dir), Limits{})
			require.Equal(t, uint64(0), h.sm.Applied())
			require.Equal(t, int64(0), h.sm.Now())
			h.put("k", "v")
			require.Equal(t, uint64(1), h.sm.Applied())
		})
	}
}

func TestSnapshotOfEmptyStateRestores(t *testing.T) {
	src := newMem(t)
	snap, err := src.sm.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = snap.WriteTo(&buf)
	require.NoError(t, err)
	require.NoError(t, snap.Close())
	dst := newMem(t)
	dst.put("x", "y")
	require.NoError(t, dst.sm.Restore(&buf))
	require.Equal(t, uint64(0), dst.sm.Applied())
	requireSameReads(t, src.sm, dst.sm)
}
