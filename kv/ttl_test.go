package kv

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/storage"
)

func TestTTLExpiresByTheStateMachineClock(t *testing.T) {
	h := newMem(t)
	r := h.ok(h.cmd(putTTL("k", "v", 10*time.Second)))
	exp := baseTime + int64(10*time.Second)

	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, exp, it.ExpiresAt)
	r = h.ok(h.cmd(getOp("k")))
	require.Equal(t, exp, r.Ops[0].ExpiresAt)

	// A later command whose Time is just before the expiry: still there.
	h.now = exp - 1
	h.put("other", "x")
	require.Equal(t, "v", h.value("k"))

	// One at the expiry: gone, for reads and for gets inside commands.
	h.now = exp
	h.put("other", "y")
	h.requireAbsent("k")
	r = h.ok(h.cmd(getOp("k")))
	require.Equal(t, []OpResult{{}}, r.Ops)
}

func TestTickFiresTTLs(t *testing.T) {
	h := newMem(t)
	h.ok(h.cmd(putTTL("k", "v", time.Second)))
	exp, ok := h.sm.NextExpiry()
	require.True(t, ok)
	require.Equal(t, baseTime+int64(time.Second), exp)

	h.now = exp
	r := h.ok(h.tick())
	require.Nil(t, r.Ops)
	require.Equal(t, exp, h.sm.Now())
	h.requireAbsent("k")
	require.False(t, h.raw(userKey([]byte("k"))), "the tick's Apply swept the key")
	_, ok = h.sm.NextExpiry()
	require.False(t, ok)
}

func TestNextExpiryIsTheEarliest(t *testing.T) {
	h := newMem(t)
	_, ok := h.sm.NextExpiry()
	require.False(t, ok)
	h.apply(
		h.cmd(putTTL("late", "v", time.Hour)),
		h.cmd(putTTL("soon", "v", time.Minute)),
		h.cmd(putOp("never", "v")),
	)
	exp, ok := h.sm.NextExpiry()
	require.True(t, ok)
	require.Equal(t, baseTime+int64(time.Minute), exp)

	h.ok(h.cmd(delOp("soon")))
	exp, ok = h.sm.NextExpiry()
	require.True(t, ok)
	require.Equal(t, baseTime+int64(time.Hour), exp)
}

func TestExpiredKeyInvisibleBeforeSweepAndSweptAfter(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			// Put and expire in one Apply call: the sweep of that call
			// looks at the engine as it was before, so the key stays on
			// disk, expired.
			put := h.cmd(putTTL("k", "v", time.Second))
			h.now += int64(2 * time.Second)
			h.apply(put, h.tick())
			require.True(t, h.raw(userKey([]byte("k"))))
			require.Equal(t, 1, h.countPrefix(prefixTTL))

			h.requireAbsent("k")
			res, err := h.sm.Scan(ScanRequest{})
			require.NoError(t, err)
			require.Empty(t, res.Items)
			r := h.ok(h.cmd(getOp("k")))
			require.False(t, r.Ops[0].Found)

			// The next Apply sweeps it.
			h.ok(h.tick())
			require.False(t, h.raw(userKey([]byte("k"))))
			require.Equal(t, 0, h.countPrefix(prefixTTL))
		})
	}
}

func TestExpiredKeyIsAbsentForConditions(t *testing.T) {
	h := newMem(t)
	h.ok(h.cmd(putTTL("k", "v", time.Second)))
	h.now += int64(time.Second)
	put := h.cmd(casOp("k", "new", 0)) // create-only: k is gone
	res := h.apply(put)
	require.Equal(t, CodeOK, res[0].Code)
	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, "new", string(it.Value))
	require.Equal(t, int64(0), it.ExpiresAt)
	require.Equal(t, 0, h.countPrefix(prefixTTL), "the old TTL index entry went with the overwrite")

	h.ok(h.cmd(putTTL("j", "v", time.Second)))
	h.now += int64(time.Second)
	r := h.ok(h.cmd(delOp("j")))
	require.Equal(t, []OpResult{{Found: false}}, r.Ops, "deleting an expired key finds nothing")
	require.False(t, h.raw(userKey([]byte("j"))))
	require.Equal(t, 0, h.countPrefix(prefixTTL))

	r = h.do(h.cmd(casOp("j", "x", 2)))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, uint64(0), r.Actual)
}

func TestPutWithoutTTLClearsTTL(t *testing.T) {
	h := newMem(t)
	h.ok(h.cmd(putTTL("k", "v", time.Second)))
	h.put("k", "forever")
	_, ok := h.sm.NextExpiry()
	require.False(t, ok)
	require.Equal(t, 0, h.countPrefix(prefixTTL))

	h.now += int64(time.Hour)
	h.ok(h.tick())
	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, "forever", string(it.Value))
	require.Equal(t, int64(0), it.ExpiresAt)
}

func TestNewTTLReplacesOldTTL(t *testing.T) {
	h := newMem(t)
	h.ok(h.cmd(putTTL("k", "v", time.Second)))
	h.ok(h.cmd(putTTL("k", "v", time.Hour)))
	require.Equal(t, 1, h.countPrefix(prefixTTL))
	h.now += int64(time.Minute)
	h.ok(h.tick())
	require.Equal(t, "v", h.value("k"))
}

func TestClockNeverGoesBack(t *testing.T) {
	h := newMem(t)
	h.ok(h.cmd(putTTL("k", "v", time.Second)))
	h.now += int64(time.Minute)
	h.ok(h.tick())
	now := h.sm.Now()

	// A new leader whose clock is behind proposes a command: the clock
	// stays, and the expired key stays expired.
	h.now = baseTime
	h.put("x", "y")
	require.Equal(t, now, h.sm.Now())
	h.requireAbsent("k")

	// A TTL counts from the state machine clock, not the lagging Time.
	h.ok(h.cmd(putTTL("t", "v", time.Second)))
	it, err := h.get("t")
	require.NoError(t, err)
	require.Equal(t, now+int64(time.Second), it.ExpiresAt)
}

func TestTTLSaturates(t *testing.T) {
	h := newMem(t)
	h.now = math.MaxInt64 - 5
	h.ok(h.cmd(putTTL("k", "v", time.Hour)))
	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), it.ExpiresAt)

	h.now = math.MaxInt64
	h.ok(h.tick())
	h.requireAbsent("k")
	h.ok(h.tick())
	require.Equal(t, 0, h.countPrefix(prefixUser))
}

func TestSweepIsBoundedPerApply(t *testing.T) {
	h := newMem(t)
	const n = sweepLimit + 500
	var ops []Op
	for i := range n {
		ops = append(ops, putTTL(fmt.Sprintf("k%05d", i), "v", time.Second))
	}
	for i := 0; i < n; i += 500 {
		h.ok(h.cmd(ops[i : i+500]...))
	}
	h.put("stays", "v")
	h.now += int64(time.Second)
	h.ok(h.tick())
	require.Equal(t, n-sweepLimit+1, h.countPrefix(prefixUser), "one Apply sweeps at most sweepLimit keys")
	res, err := h.sm.Scan(ScanRequest{Limit: MaxScanLimit})
	require.NoError(t, err)
	require.Len(t, res.Items, 1, "unswept expired keys are invisible")
	exp, ok := h.sm.NextExpiry()
	require.True(t, ok)
	require.LessOrEqual(t, exp, h.sm.Now(), "the backlog shows in NextExpiry, so the leader ticks again")

	h.ok(h.tick())
	require.Equal(t, 1, h.countPrefix(prefixUser))
	require.Equal(t, 0, h.countPrefix(prefixTTL))
	_, ok = h.sm.NextExpiry()
	require.False(t, ok)
}

func TestTTLSurvivesSnapshotAndReopen(t *testing.T) {
	for _, kind := range durableKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, kind, dir)
			h := newTester(t, e, Limits{})
			h.ok(h.cmd(putTTL("k", "v", time.Minute)))
			require.NoError(t, e.Close())

			e = openEngine(t, kind, dir)
			h2 := newTester(t, e, Limits{})
			h2.now = h.now + int64(time.Minute)
			exp, ok := h2.sm.NextExpiry()
			require.True(t, ok)
			require.Equal(t, h2.now, exp)
			require.Equal(t, "v", h2.value("k"))
			h2.ok(h2.tick())
			h2.requireAbsent("k")
			_, err := e.Get(userKey([]byte("k")))
			require.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}
