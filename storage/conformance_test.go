package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// engineKind describes one engine under test.
type engineKind struct {
	name    string
	durable bool
}

var engineKinds = []engineKind{
	{KindMemory, false},
	{KindBolt, true},
	{KindPebble, true},
}

// harness opens engines of one kind and closes whatever is still open when
// the test ends.
type harness struct {
	t    *testing.T
	kind engineKind
	dir  string
}

func (h *harness) open() Engine {
	h.t.Helper()
	e, err := Open(h.kind.name, h.dir, Options{CacheSize: 8 << 20})
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = e.Close() })
	return e
}

// fresh opens an engine of kind in a new directory.
func fresh(t *testing.T, kind string) Engine {
	h := &harness{t: t, kind: engineKind{name: kind}, dir: t.TempDir()}
	return h.open()
}

// conformance is the suite every engine must pass.
var conformance = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"GetPutDelete", testGetPutDelete},
	{"Overwrite", testOverwrite},
	{"EmptyValueVsMissing", testEmptyValueVsMissing},
	{"InvalidKeys", testInvalidKeys},
	{"BatchOrderAndAtomicity", testBatchAtomic},
	{"BatchReuse", testBatchReuse},
	{"IterationOrder", testIterationOrder},
	{"BoundsPrefixLimit", testBoundsPrefixLimit},
	{"IteratorIsolation", testIteratorIsolation},
	{"SnapshotIsolation", testSnapshotIsolation},
	{"GetReturnsCopy", testGetReturnsCopy},
	{"DumpRestore", testDumpRestore},
	{"RestoreRejectsCorrupt", testRestoreCorrupt},
	{"ReopenPersists", testReopen},
	{"DurableEnginesSync", testSync},
	{"Closed", testClosed},
	{"RandomizedDifferential", testDifferential},
	{"ConcurrentReadersSeeWholeBatches", testConcurrentAtomic},
}

func TestConformance(t *testing.T) {
	for _, k := range engineKinds {
		t.Run(k.name, func(t *testing.T) {
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, &harness{t: t, kind: k, dir: t.TempDir()})
				})
			}
		})
	}
}

func TestOpenUnknownKind(t *testing.T) {
	_, err := Open("rocks", t.TempDir(), Options{})
	require.ErrorContains(t, err, `unknown engine kind "rocks"`)
	require.ErrorContains(t, err, "known: bolt, memory, pebble")
}

func TestPrefixEnd(t *testing.T) {
	require.Equal(t, []byte("ab"), PrefixEnd([]byte("aa")))
	require.Equal(t, []byte{0x01}, PrefixEnd([]byte{0x00, 0xff}))
	require.Nil(t, PrefixEnd([]byte{0xff, 0xff}))
	require.Nil(t, PrefixEnd(nil))
}

// --- helpers ---

func put(t *testing.T, e Engine, kvs ...string) {
	t.Helper()
	var b Batch
	for i := 0; i < len(kvs); i += 2 {
		b.Put([]byte(kvs[i]), []byte(kvs[i+1]))
	}
	require.NoError(t, e.Apply(&b, false))
}

func del(t *testing.T, e Engine, keys ...string) {
	t.Helper()
	var b Batch
	for _, k := range keys {
		b.Delete([]byte(k))
	}
	require.NoError(t, e.Apply(&b, false))
}

func get(t *testing.T, r Reader, key string) (string, bool) {
	t.Helper()
	v, err := r.Get([]byte(key))
	if errors.Is(err, ErrNotFound) {
		return "", false
	}
	require.NoError(t, err)
	require.NotNil(t, v)
	return string(v), true
}

// scan returns "key=value" pairs in iteration order.
func scan(t *testing.T, r Reader, opts IterOptions) []string {
	t.Helper()
	it, err := r.Iter(opts)
	require.NoError(t, err)
	out := []string{}
	for it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Err())
	require.NoError(t, it.Close())
	return out
}

// --- tests ---

func testGetPutDelete(t *testing.T, h *harness) {
	e := h.open()
	_, ok := get(t, e, "a")
	require.False(t, ok)
	put(t, e, "a", "1", "b", "2")
	v, ok := get(t, e, "a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	del(t, e, "a", "never-existed")
	_, ok = get(t, e, "a")
	require.False(t, ok)
	v, _ = get(t, e, "b")
	require.Equal(t, "2", v)
}

func testOverwrite(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "k", "first")
	put(t, e, "k", "second, longer value")
	v, _ := get(t, e, "k")
	require.Equal(t, "second, longer value", v)
	put(t, e, "k", "3")
	v, _ = get(t, e, "k")
	require.Equal(t, "3", v)
	require.Equal(t, []string{"k=3"}, scan(t, e, IterOptions{}))
}

func testEmptyValueVsMissing(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "empty", "")
	v, err := e.Get([]byte("empty"))
	require.NoError(t, err)
	require.NotNil(t, v)
	require.Empty(t, v)
	_, err = e.Get([]byte("missing"))
	require.ErrorIs(t, err, ErrNotFound)
	it, err := e.Iter(IterOptions{})
	require.NoError(t, err)
	require.True(t, it.Next())
	require.Equal(t, []byte("empty"), it.Key())
	require.NotNil(t, it.Value())
	require.Empty(t, it.Value())
	require.False(t, it.Next())
	require.NoError(t, it.Close())
}

func testInvalidKeys(t *testing.T, h *harness) {
	e := h.open()
	var b Batch
	b.Put([]byte("ok"), []byte("v"))
	b.Put(nil, []byte("v"))
	require.ErrorIs(t, e.Apply(&b, false), ErrInvalidKey)
	b.Reset()
	b.Put([]byte("ok"), []byte("v"))
	b.Delete(make([]byte, MaxKeySize+1))
	require.ErrorIs(t, e.Apply(&b, false), ErrInvalidKey)
	_, ok := get(t, e, "ok")
	require.False(t, ok, "a rejected batch must write nothing")
	b.Reset()
	b.Put(make([]byte, MaxKeySize), []byte("v")) // the limit itself is fine
	require.NoError(t, e.Apply(&b, false))
}

func testBatchAtomic(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "a", "old", "c", "old")
	snap, err := e.Snapshot()
	require.NoError(t, err)

	var b Batch
	b.Put([]byte("a"), []byte("1"))
	b.Delete([]byte("c"))
	b.Put([]byte("b"), []byte("x"))
	b.Put([]byte("b"), []byte("2")) // later op on the same key wins
	b.Put([]byte("d"), []byte("gone"))
	b.Delete([]byte("d"))
	require.Equal(t, 6, b.Len())
	require.NoError(t, e.Apply(&b, true))

	require.Equal(t, []string{"a=1", "b=2"}, scan(t, e, IterOptions{}))
	// The snapshot taken just before sees none of it.
	require.Equal(t, []string{"a=old", "c=old"}, scan(t, snap, IterOptions{}))
	require.NoError(t, snap.Close())
}

func testBatchReuse(t *testing.T, h *harness) {
	e := h.open()
	var b Batch
	key, val := []byte("k1"), []byte("v1")
	b.Put(key, val)
	key[1], val[1] = '9', '9' // the batch copied them
	require.NoError(t, e.Apply(&b, false))
	b.Reset()
	require.Equal(t, 0, b.Len())
	b.Put([]byte("k2"), []byte("v2"))
	require.NoError(t, e.Apply(&b, false))
	require.NoError(t, e.Apply(&b, false)) // applying twice is idempotent here
	require.Equal(t, []string{"k1=v1", "k2=v2"}, scan(t, e, IterOptions{}))
}

// orderKeys are distinct keys whose byte order differs from naive
// expectations: prefixes, NUL and 0xff bytes, multi-byte UTF-8.
var orderKeys = []string{
	"\x00", "\x00\x00", "\x00\xff", "\x01", "A", "Z", "a", "a\x00", "aa",
	"ab", "b", "é", "€", "😀", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff",
}

func testIterationOrder(t *testing.T, h *harness) {
	e := h.open()
	shuffled := append([]string(nil), orderKeys...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, k := range shuffled {
		put(t, e, k, "v"+k)
	}
	want := make([]string, len(orderKeys))
	for i, k := range orderKeys {
		want[i] = k + "=v" + k
	}
	require.True(t, sort.StringsAreSorted(orderKeys), "orderKeys is in byte order")
	require.Equal(t, want, scan(t, e, IterOptions{}))
}

func testBoundsPrefixLimit(t *testing.T, h *harness) {
	e := h.open()
	for _, k := range orderKeys {
		put(t, e, k, "")
	}
	keys := func(opts IterOptions) []string {
		var out []string
		for _, kv := range scan(t, e, opts) {
			out = append(out, kv[:len(kv)-1]) // drop the "="
		}
		return out
	}
	require.Equal(t, []string{"a", "a\x00", "aa", "ab"},
		keys(IterOptions{LowerBound: []byte("a"), UpperBound: []byte("b")}))
	require.Equal(t, []string{"a\x00", "aa"},
		keys(IterOptions{LowerBound: []byte("a\x00"), UpperBound: []byte("ab")}))
	require.Equal(t, []string{"a", "a\x00", "aa", "ab"}, keys(PrefixOptions([]byte("a"))))
	require.Equal(t, []string{"\x00", "\x00\x00", "\x00\xff"}, keys(PrefixOptions([]byte{0})))
	require.Equal(t, []string{"\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}, keys(PrefixOptions([]byte{0xff})))
	require.Equal(t, []string{"\xff\xff", "\xff\xff\xff"}, keys(PrefixOptions([]byte{0xff, 0xff})))
	require.Equal(t, []string{"\x00", "\x00\x00"}, keys(IterOptions{Limit: 2}))
	require.Equal(t, []string{"b", "é"}, keys(IterOptions{LowerBound: []byte("az"), Limit: 2}))
	require.Equal(t, []string{"\xff\xff\xff"}, keys(IterOptions{LowerBound: []byte("\xff\xff\x00")}))
	require.Equal(t, []string{"\x00", "\x00\x00", "\x00\xff"}, keys(IterOptions{UpperBound: []byte("\x01")}))
	require.Empty(t, keys(IterOptions{LowerBound: []byte("b"), UpperBound: []byte("b")}))
	require.Empty(t, keys(IterOptions{LowerBound: []byte("c"), UpperBound: []byte("b")}))
	require.Empty(t, keys(PrefixOptions([]byte("nothing"))))
	require.Len(t, keys(IterOptions{}), len(orderKeys))
}

func testIteratorIsolation(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "a", "1", "b", "2", "c", "3")
	it, err := e.Iter(IterOptions{})
	require.NoError(t, err)
	require.True(t, it.Next())
	require.Equal(t, "a", string(it.Key()))
	put(t, e, "bb", "new")
	del(t, e, "c")
	var rest []string
	for it.Next() {
		rest = append(rest, string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Err())
	require.Equal(t, []string{"b=2", "c=3"}, rest, "an iterator sees the engine as of its creation")
	require.NoError(t, it.Close())
	require.ErrorIs(t, it.Close(), ErrClosed)
	require.False(t, it.Next())
}

func testSnapshotIsolation(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "a", "1", "b", "2")
	snap, err := e.Snapshot()
	require.NoError(t, err)
	put(t, e, "a", "changed", "c", "new")
	del(t, e, "b")

	v, ok := get(t, snap, "a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	v, ok = get(t, snap, "b")
	require.True(t, ok)
	require.Equal(t, "2", v)
	_, ok = get(t, snap, "c")
	require.False(t, ok)
	require.Equal(t, []string{"a=1", "b=2"}, scan(t, snap, IterOptions{}))
	require.Equal(t, []string{"b=2"}, scan(t, snap, IterOptions{LowerBound: []byte("b")}))
	require.Equal(t, []string{"a=changed", "c=new"}, scan(t, e, IterOptions{}))

	require.NoError(t, snap.Close())
	_, err = snap.Get([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = snap.Iter(IterOptions{})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, snap.Close(), ErrClosed)
}

func testGetReturnsCopy(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "k", "value")
	v, err := e.Get([]byte("k"))
	require.NoError(t, err)
	v[0] = 'X'
	got, _ := get(t, e, "k")
	require.Equal(t, "value", got)
}

// fill writes n deterministic entries (some with empty values) in batches.
func fill(t *testing.T, e Engine, n int) map[string]string {
	want := map[string]string{}
	var b Batch
	r := rand.New(rand.NewPCG(7, uint64(n)))
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key/%06d/\x00\xff", r.IntN(n*4))
		v := bytes.Repeat([]byte{byte(i)}, r.IntN(300))
		b.Put([]byte(k), v)
		want[k] = string(v)
		if b.Len() == 100 {
			require.NoError(t, e.Apply(&b, false))
			b.Reset()
		}
	}
	require.NoError(t, e.Apply(&b, true))
	return want
}

func contents(t *testing.T, r Reader) map[string]string {
	got := map[string]string{}
	it, err := r.Iter(IterOptions{})
	require.NoError(t, err)
	for it.Next() {
		got[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Err())
	require.NoError(t, it.Close())
	return got
}

func testDumpRestore(t *testing.T, h *harness) {
	src := h.open()
	want := fill(t, src, 3000)
	snap, err := src.Snapshot()
	require.NoError(t, err)
	put(t, src, "written/after/snapshot", "x") // not in the dump
	var dump bytes.Buffer
	require.NoError(t, Dump(snap, &dump))
	require.NoError(t, snap.Close())

	for _, k := range engineKinds {
		t.Run("into_"+k.name, func(t *testing.T) {
			dst := fresh(t, k.name)
			put(t, dst, "stale", "must be removed", "key/000001/\x00\xff", "overwritten")
			require.NoError(t, Restore(dst, bytes.NewReader(dump.Bytes())))
			require.Equal(t, want, contents(t, dst))
			// A dump of the restored engine is byte-for-byte the same.
			var again bytes.Buffer
			require.NoError(t, Dump(dst, &again))
			require.Equal(t, dump.Bytes(), again.Bytes())
		})
	}
	t.Run("empty", func(t *testing.T) {
		var empty bytes.Buffer
		require.NoError(t, Dump(fresh(t, KindMemory), &empty))
		dst := fresh(t, h.kind.name)
		require.NoError(t, Restore(dst, &empty))
		require.Empty(t, contents(t, dst))
	})
}

func testRestoreCorrupt(t *testing.T, h *harness) {
	src := fresh(t, KindMemory)
	put(t, src, "a", "1", "b", "2")
	var dump bytes.Buffer
	require.NoError(t, Dump(src, &dump))
	good := dump.Bytes()
	e := h.open()
	for cut := 0; cut < len(good); cut++ {
		require.ErrorIs(t, Restore(e, bytes.NewReader(good[:cut])), ErrCorrupt, "cut at %d", cut)
	}
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x40
		require.Error(t, Restore(e, bytes.NewReader(bad)), "flipped byte %d", i)
	}
	require.NoError(t, Restore(e, bytes.NewReader(good)))
	require.Equal(t, map[string]string{"a": "1", "b": "2"}, contents(t, e))
}

func testReopen(t *testing.T, h *harness) {
	if !h.kind.durable {
		t.Skip("not a durable engine")
	}
	e := h.open()
	want := fill(t, e, 500)
	put(t, e, "unsynced", "but closed cleanly")
	want["unsynced"] = "but closed cleanly"
	del(t, e, "key/000000/\x00\xff")
	delete(want, "key/000000/\x00\xff")
	require.NoError(t, e.Close())

	e = h.open()
	require.Equal(t, want, contents(t, e))
	put(t, e, "second", "life")
	require.NoError(t, e.Close())

	e = h.open()
	v, ok := get(t, e, "second")
	require.True(t, ok)
	require.Equal(t, "life", v)
}

// The runner trusts a Syncer to keep its state without snapshot files, and
// an engine without one to need them.
func testSync(t *testing.T, h *harness) {
	e := h.open()
	s, ok := e.(Syncer)
	require.Equal(t, h.kind.durable, ok, "only engines whose writes survive a restart are Syncers")
	if !ok {
		return
	}
	put(t, e, "a", "1")
	require.NoError(t, s.Sync())
	require.NoError(t, e.Close())
	require.ErrorIs(t, s.Sync(), ErrClosed)
	e = h.open()
	v, ok := get(t, e, "a")
	require.True(t, ok)
	require.Equal(t, "1", v)
}

func testClosed(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "a", "1")
	require.NoError(t, e.Close())
	_, err := e.Get([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	var b Batch
	b.Put([]byte("a"), []byte("2"))
	require.ErrorIs(t, e.Apply(&b, true), ErrClosed)
	_, err = e.Iter(IterOptions{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.Snapshot()
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, Dump(e, io.Discard), ErrClosed)
	require.ErrorIs(t, e.Close(), ErrClosed)
}

// testDifferential runs random batches, reads, scans and snapshots against
// the engine and against a plain map, and requires identical answers.
func testDifferential(t *testing.T, h *harness) {
	e := h.open()
	r := rand.New(rand.NewPCG(42, 4242))
	alphabet := []byte{0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff}
	randKey := func() []byte {
		k := make([]byte, 1+r.IntN(3))
		for i := range k {
			k[i] = alphabet[r.IntN(len(alphabet))]
		}
		return k
	}
	model := map[string]string{}
	modelScan := func(m map[string]string, opts IterOptions) []string {
		var keys []string
		for k := range m {
			if opts.LowerBound != nil && k < string(opts.LowerBound) {
				continue
			}
			if opts.UpperBound != nil && k >= string(opts.UpperBound) {
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if opts.Limit > 0 && len(keys) > opts.Limit {
			keys = keys[:opts.Limit]
		}
		out := []string{}
		for _, k := range keys {
			out = append(out, k+"="+m[k])
		}
		return out
	}
	randOpts := func() IterOptions {
		var o IterOptions
		switch r.IntN(4) {
		case 0:
			o = PrefixOptions(randKey()[:1])
		case 1:
			o.LowerBound = randKey()
		case 2:
			o.UpperBound = randKey()
		case 3:
			o.LowerBound, o.UpperBound = randKey(), randKey()
		}
		if r.IntN(3) == 0 {
			o.Limit = 1 + r.IntN(10)
		}
		return o
	}
	type openSnap struct {
		snap  Snapshot
		model map[string]string
	}
	var snaps []openSnap
	for step := 0; step < 1500; step++ {
		switch op := r.IntN(10); {
		case op < 5: // a batch of 1 to 8 random writes
			var b Batch
			for n := 1 + r.IntN(8); n > 0; n-- {
				k := randKey()
				if r.IntN(3) == 0 {
					b.Delete(k)
					delete(model, string(k))
				} else {
					v := bytes.Repeat([]byte{byte(step)}, r.IntN(4))
					b.Put(k, v)
					model[string(k)] = string(v)
				}
			}
			require.NoError(t, e.Apply(&b, r.IntN(20) == 0))
		case op < 7:
			k := randKey()
			v, ok := get(t, e, string(k))
			mv, mok := model[string(k)]
			require.Equal(t, mok, ok, "step %d key %q", step, k)
			require.Equal(t, mv, v)
		case op < 9:
			o := randOpts()
			require.Equal(t, modelScan(model, o), scan(t, e, o), "step %d opts %+v", step, o)
		default:
			if len(snaps) < 3 {
				s, err := e.Snapshot()
				require.NoError(t, err)
				snaps = append(snaps, openSnap{s, maps.Clone(model)})
			} else {
				i := r.IntN(len(snaps))
				o := randOpts()
				require.Equal(t, modelScan(snaps[i].model, o), scan(t, snaps[i].snap, o), "step %d snapshot", step)
				require.NoError(t, snaps[i].snap.Close())
				snaps = append(snaps[:i], snaps[i+1:]...)
			}
		}
	}
	for _, s := range snaps {
		require.Equal(t, modelScan(s.model, IterOptions{}), scan(t, s.snap, IterOptions{}))
		require.NoError(t, s.snap.Close())
	}
	require.Equal(t, modelScan(model, IterOptions{}), scan(t, e, IterOptions{}))
}

// testConcurrentAtomic has one writer apply batches that set keys a, b and c
// to the same counter while readers check, through Get on snapshots and
// through scans, that they never see a batch half applied.
func testConcurrentAtomic(t *testing.T, h *harness) {
	e := h.open()
	put(t, e, "a", "0", "b", "0", "c", "0")
	const writes = 200
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var b Batch
		for i := 1; i <= writes; i++ {
			b.Reset()
			v := []byte(fmt.Sprint(i))
			b.Put([]byte("a"), v)
			b.Put([]byte("b"), v)
			b.Put([]byte("c"), v)
			if err := e.Apply(&b, false); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				it, err := e.Iter(IterOptions{})
				if err != nil {
					errs <- err
					return
				}
				var vals []string
				for it.Next() {
					vals = append(vals, string(it.Value()))
				}
				it.Close()
				if len(vals) != 3 || vals[0] != vals[1] || vals[1] != vals[2] {
					errs <- fmt.Errorf("scan saw a partial batch: %q", vals)
					return
				}
				s, err := e.Snapshot()
				if err != nil {
					errs <- err
					return
				}
				va, _ := s.Get([]byte("a"))
				vc, _ := s.Get([]byte("c"))
				s.Close()
				if string(va) != string(vc) {
					errs <- fmt.Errorf("snapshot saw a partial batch: a=%s c=%s", va, vc)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	v, _ := get(t, e, "b")
	require.Equal(t, fmt.Sprint(writes), v)
}
