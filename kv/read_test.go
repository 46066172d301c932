package kv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func scanKeys(t *testing.T, sm *StateMachine, req ScanRequest) ([]string, string) {
	t.Helper()
	res, err := sm.Scan(req)
	require.NoError(t, err)
	keys := []string{}
	for _, it := range res.Items {
		keys = append(keys, string(it.Key))
	}
	return keys, string(res.Next)
}

func TestScanPrefixRangeLimit(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			var ops []Op
			for _, k := range []string{"a", "b/1", "b/2", "b/3", "b/4", "b0", "c", "\xff\xff"} {
				ops = append(ops, putOp(k, "v:"+k))
			}
			r := h.ok(h.cmd(ops...))
			sm := h.sm

			keys, next := scanKeys(t, sm, ScanRequest{})
			require.Equal(t, []string{"a", "b/1", "b/2", "b/3", "b/4", "b0", "c", "\xff\xff"}, keys)
			require.Empty(t, next)

			keys, _ = scanKeys(t, sm, ScanRequest{Prefix: []byte("b/")})
			require.Equal(t, []string{"b/1", "b/2", "b/3", "b/4"}, keys)

			keys, _ = scanKeys(t, sm, ScanRequest{Prefix: []byte("b/"), Start: []byte("b/2"), End: []byte("b/4")})
			require.Equal(t, []string{"b/2", "b/3"}, keys)

			keys, _ = scanKeys(t, sm, ScanRequest{Start: []byte("b0"), End: []byte("zzz")})
			require.Equal(t, []string{"b0", "c"}, keys)

			keys, next = scanKeys(t, sm, ScanRequest{Prefix: []byte("b"), Limit: 2})
			require.Equal(t, []string{"b/1", "b/2"}, keys)
			require.Equal(t, "b/3", next)

			keys, _ = scanKeys(t, sm, ScanRequest{Prefix: []byte("\xff")})
			require.Equal(t, []string{"\xff\xff"}, keys, "a prefix with no upper bound")

			// Start below the prefix is clamped to it; End beyond it too.
			keys, _ = scanKeys(t, sm, ScanRequest{Prefix: []byte("b/"), Start: []byte("a"), End: []byte("z")})
			require.Equal(t, []string{"b/1", "b/2", "b/3", "b/4"}, keys)
			// Empty ranges.
			keys, next = scanKeys(t, sm, ScanRequest{Prefix: []byte("b/"), Start: []byte("c")})
			require.Empty(t, keys)
			require.Empty(t, next)
			keys, _ = scanKeys(t, sm, ScanRequest{Start: []byte("c"), End: []byte("b")})
			require.Empty(t, keys)
			keys, _ = scanKeys(t, sm, ScanRequest{Prefix: []byte("nothing")})
			require.Empty(t, keys)

			res, err := sm.Scan(ScanRequest{Prefix: []byte("b/1")})
			require.NoError(t, err)
			require.Equal(t, []Item{{Key: []byte("b/1"), Value: []byte("v:b/1"), Version: r.Index}}, res.Items)

			_, err = sm.Scan(ScanRequest{Limit: -1})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestScanPagination(t *testing.T) {
	h := newMem(t)
	const n = 25
	var ops []Op
	for i := range n {
		ops = append(ops, putOp(fmt.Sprintf("p/%02d", i), "v"))
	}
	h.ok(h.cmd(ops...))
	h.put("q", "outside")

	var all []string
	req := ScanRequest{Prefix: []byte("p/"), Limit: 10}
	pages := 0
	for {
		keys, next := scanKeys(t, h.sm, req)
		pages++
		all = append(all, keys...)
		if next == "" {
			break
		}
		require.Len(t, keys, 10)
		req.Start = []byte(next)
	}
	require.Equal(t, 3, pages)
	require.Len(t, all, n)
	for i, k := range all {
		require.Equal(t, fmt.Sprintf("p/%02d", i), k)
	}
}

func TestScanLimitDefaultsAndCap(t *testing.T) {
	h := newMem(t)
	var ops []Op
	for i := range MaxScanLimit + 1 {
		ops = append(ops, putOp(fmt.Sprintf("%06d", i), ""))
		if len(ops) == DefaultMaxOps {
			h.ok(h.cmd(ops...))
			ops = nil
		}
	}
	h.ok(h.cmd(ops...))

	res, err := h.sm.Scan(ScanRequest{})
	require.NoError(t, err)
	require.Len(t, res.Items, DefaultScanLimit)
	require.Equal(t, fmt.Sprintf("%06d", DefaultScanLimit), string(res.Next))

	res, err = h.sm.Scan(ScanRequest{Limit: 1 << 30})
	require.NoError(t, err)
	require.Len(t, res.Items, MaxScanLimit)
	require.Equal(t, fmt.Sprintf("%06d", MaxScanLimit), string(res.Next))
}

func TestScanNextSkipsExpiredKeys(t *testing.T) {
	h := newMem(t)
	// Write and expire c in one Apply call, so it is still in the engine.
	put := h.cmd(putOp("a", ""), putOp("b", ""), putTTL("c", "", 1), putOp("d", ""))
	h.now++
	h.apply(put, h.tick())
	require.True(t, h.raw(userKey([]byte("c"))))
	keys, next := scanKeys(t, h.sm, ScanRequest{Limit: 2})
	require.Equal(t, []string{"a", "b"}, keys)
	require.Equal(t, "d", next)
	keys, next = scanKeys(t, h.sm, ScanRequest{Start: []byte("c"), Limit: 2})
	require.Equal(t, []string{"d"}, keys)
	require.Empty(t, next)
}

func TestGetRejectsBadKeys(t *testing.T) {
	h := newMem(t)
	_, err := h.sm.Get(nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = h.sm.Get(bytes.Repeat([]byte("k"), DefaultMaxKeyBytes+1))
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = h.sm.Get([]byte("absent"))
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "not_found", ErrorCode(err))
}

func TestReadsReturnCopies(t *testing.T) {
	h := newMem(t)
	h.put("k", "value")
	it, err := h.get("k")
	require.NoError(t, err)
	it.Value[0] = 'X'
	it.Key[0] = 'X'
	require.Equal(t, "value", h.value("k"))
	res, err := h.sm.Scan(ScanRequest{})
	require.NoError(t, err)
	res.Items[0].Value[0] = 'Y'
	require.Equal(t, "value", h.value("k"))
}
