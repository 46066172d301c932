package kv

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

func TestPutGetDeleteVersions(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			h.requireAbsent("a")

			v1 := h.put("a", "1")
			require.Equal(t, uint64(1), v1, "the version is the log index")
			it, err := h.get("a")
			require.NoError(t, err)
			require.Equal(t, Item{Key: []byte("a"), Value: []byte("1"), Version: 1}, it)

			h.put("b", "x")
			v3 := h.put("a", "2")
			require.Equal(t, uint64(3), v3)
			it, err = h.get("a")
			require.NoError(t, err)
			require.Equal(t, "2", string(it.Value))
			require.Equal(t, v3, it.Version)

			r := h.ok(h.cmd(delOp("a")))
			require.Equal(t, []OpResult{{Found: true, Version: v3}}, r.Ops, "delete reports the version the key had")
			h.requireAbsent("a")
			require.Equal(t, "x", h.value("b"))
			require.Equal(t, uint64(4), h.sm.Applied())
		})
	}
}

func TestPutEmptyValue(t *testing.T) {
	h := newMem(t)
	v := h.put("k", "")
	it, err := h.get("k")
	require.NoError(t, err)
	require.Nil(t, it.Value)
	require.Equal(t, v, it.Version)
}

func TestDeleteAbsentKeySucceeds(t *testing.T) {
	h := newMem(t)
	r := h.ok(h.cmd(delOp("nope")))
	require.Equal(t, []OpResult{{Found: false}}, r.Ops)
}

func TestCompareAndSet(t *testing.T) {
	h := newMem(t)
	v1 := h.put("k", "a")

	r := h.ok(h.cmd(casOp("k", "b", v1)))
	v2 := r.Ops[0].Version
	require.Equal(t, r.Index, v2)
	require.Equal(t, "b", h.value("k"))

	// A second CAS against the old version fails and reports the current one.
	r = h.do(h.cmd(casOp("k", "c", v1)))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, 0, r.FailedOp)
	require.Equal(t, []byte("k"), r.FailedKey)
	require.Equal(t, v1, r.Expected)
	require.Equal(t, v2, r.Actual)
	require.Nil(t, r.Ops)
	var vm *VersionMismatchError
	require.ErrorAs(t, r.Err(), &vm)
	require.Equal(t, &VersionMismatchError{Op: 0, Key: []byte("k"), Expected: v1, Actual: v2}, vm)
	require.ErrorIs(t, r.Err(), ErrVersionMismatch)
	require.Equal(t, "b", h.value("k"), "a failed CAS writes nothing")

	// CAS on an absent key reports Actual 0.
	r = h.do(h.cmd(casOp("missing", "x", 7)))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, uint64(0), r.Actual)
	h.requireAbsent("missing")
}

func TestCreateOnly(t *testing.T) {
	h := newMem(t)
	r := h.ok(h.cmd(casOp("k", "first", 0)))
	v := r.Ops[0].Version

	r = h.do(h.cmd(casOp("k", "second", 0)))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, v, r.Actual)
	require.Equal(t, "first", h.value("k"))

	// After a delete the key may be created again.
	h.ok(h.cmd(delOp("k")))
	h.ok(h.cmd(casOp("k", "third", 0)))
	require.Equal(t, "third", h.value("k"))
}

func TestConditionalDelete(t *testing.T) {
	h := newMem(t)
	v := h.put("k", "a")
	r := h.do(h.cmd(casDelOp("k", v+100)))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, v, r.Actual)
	require.Equal(t, "a", h.value("k"))

	r = h.ok(h.cmd(casDelOp("k", v)))
	require.Equal(t, []OpResult{{Found: true, Version: v}}, r.Ops)
	h.requireAbsent("k")

	// "Must not exist" holds for an absent key: the delete is a no-op.
	r = h.ok(h.cmd(casDelOp("k", 0)))
	require.Equal(t, []OpResult{{Found: false}}, r.Ops)
}

func TestBatchIsAllOrNothing(t *testing.T) {
	h := newMem(t)
	vx := h.put("x", "old")
	before := h.digest()

	r := h.do(h.cmd(
		putOp("a", "1"),
		delOp("x"),
		casOp("b", "2", 0),  // succeeds: b is absent
		casOp("x", "3", vx), // fails: the delete above removed x
		putOp("c", "4"),
	))
	require.Equal(t, CodeVersionMismatch, r.Code)
	require.Equal(t, 3, r.FailedOp, "conditions see the earlier ops of the same command")
	require.Equal(t, uint64(0), r.Actual)
	require.Equal(t, vx, r.Expected)

	h.requireAbsent("a")
	h.requireAbsent("b")
	h.requireAbsent("c")
	require.Equal(t, "old", h.value("x"))

	// Only the applied index moved.
	after := h.digest()
	require.NotEqual(t, before, after)
	h2 := newMem(t)
	h2.put("x", "old")
	h2.ok(h2.tick())
	require.Equal(t, after, h2.digest(), "the failed command left no trace besides the applied index")
}

func TestBatchReadsItsOwnWrites(t *testing.T) {
	h := newMem(t)
	h.put("k", "before")
	r := h.ok(h.cmd(
		getOp("k"),
		putOp("k", "during"),
		getOp("k"),
		casOp("k", "cas", h.sm.Applied()+1), // the version this command gives k
		getOp("k"),
		delOp("k"),
		getOp("k"),
		casOp("k", "again", 0),
	))
	idx := r.Index
	require.Equal(t, []OpResult{
		{Found: true, Version: 1, Value: []byte("before")},
		{Version: idx},
		{Found: true, Version: idx, Value: []byte("during")},
		{Version: idx},
		{Found: true, Version: idx, Value: []byte("cas")},
		{Found: true, Version: idx},
		{Found: false},
		{Version: idx},
	}, r.Ops)
	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, "again", string(it.Value))
	require.Equal(t, idx, it.Version)
}

func TestGetInBatchReportsMissing(t *testing.T) {
	h := newMem(t)
	r := h.ok(h.cmd(getOp("nothing")))
	require.Equal(t, []OpResult{{}}, r.Ops)
}

func TestEntriesOfOneApplySeeEachOther(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			res := h.apply(
				h.cmd(putOp("a", "1")),        // index 1
				h.cmd(casOp("a", "2", 1)),     // index 2: sees version 1
				h.cmd(getOp("a")),             // index 3
				h.cmd(casOp("b", "x", 0)),     // index 4
				h.cmd(casOp("b", "y", 0)),     // index 5: b exists now
				h.cmd(delOp("a"), getOp("a")), // index 6
			)
			require.Equal(t, CodeOK, res[1].Code)
			require.Equal(t, []OpResult{{Found: true, Version: 2, Value: []byte("2")}}, res[2].Ops)
			require.Equal(t, CodeOK, res[3].Code)
			require.Equal(t, CodeVersionMismatch, res[4].Code)
			require.Equal(t, uint64(4), res[4].Actual)
			require.Equal(t, []OpResult{{Found: true, Version: 2}, {}}, res[5].Ops)
			for i, r := range res {
				require.Equal(t, uint64(i+1), r.Index)
			}
			h.requireAbsent("a")
			require.Equal(t, "x", h.value("b"))
			require.Equal(t, uint64(6), h.sm.Applied())
		})
	}
}

func TestNonNormalAndEmptyEntriesOnlyAdvanceApplied(t *testing.T) {
	h := newMem(t)
	h.put("k", "v")
	before := h.sm.Now()
	cmd := h.cmd(putOp("k", "changed"))
	cmdData := cmd.Encode()
	ents := []raft.Entry{
		{Term: 2, Index: 2, Type: raft.EntryNoop},
		{Term: 2, Index: 3, Type: raft.EntryNormal}, // a leader's empty no-op
		{Term: 2, Index: 4, Type: raft.EntryConfChange, Data: raft.ConfChange{Type: raft.ConfAddLearner, NodeID: 4}.Marshal()},
		{Term: 2, Index: 5, Type: raft.EntryNoop, Data: cmdData}, // data of a non-normal entry is not a command
	}
	res, err := h.sm.Apply(ents, true)
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, Result{Index: uint64(i + 2)}, r)
	}
	require.Equal(t, uint64(5), h.sm.Applied())
	require.Equal(t, before, h.sm.Now())
	require.Equal(t, "v", h.value("k"))
}

func TestUndecodableEntryIsInvalid(t *testing.T) {
	h := newMem(t)
	h.put("k", "v")
	before := h.digest()
	goodCmd := h.cmd(putOp("k", "w"))
	good := goodCmd.Encode()
	for i, data := range [][]byte{
		{0xff},
		{commandVersion, 9},                   // unknown kind
		append(good[:len(good):len(good)], 0), // trailing byte
		good[:len(good)-1],                    // truncated
	} {
		idx := h.sm.Applied() + 1
		res, err := h.sm.Apply([]raft.Entry{{Term: 1, Index: idx, Type: raft.EntryNormal, Data: data}}, false)
		require.NoError(t, err, "case %d", i)
		require.Equal(t, []Result{{Index: idx, Code: CodeInvalid}}, res, "case %d", i)
		require.ErrorIs(t, res[0].Err(), ErrInvalid)
	}
	require.Equal(t, "v", h.value("k"))
	require.Equal(t, uint64(5), h.sm.Applied())
	require.NotEqual(t, before, h.digest()) // only because the applied index moved
}

func TestInvalidCommandDoesNothing(t *testing.T) {
	h := newTester(t, storage.NewMemory(), Limits{MaxKeyBytes: 8, MaxValueBytes: 8, MaxOps: 2})
	h.put("k", "v")
	clock := h.sm.Now()
	later := h.now + 1000
	cases := []struct {
		cmd  Command
		code Code
	}{
		{Command{Kind: CmdOps, Time: later, Ops: []Op{{Type: OpDelete, Key: []byte("k"), TTL: 5}}}, CodeInvalid},
		{Command{Kind: CmdOps, Time: later, Ops: []Op{{Type: OpPut, Key: nil, Value: []byte("x")}}}, CodeInvalid},
		{Command{Kind: CmdOps, Time: later, Ops: []Op{putOp("k", "too long value")}}, CodeTooLarge},
		{Command{Kind: CmdOps, Time: later, Ops: []Op{putOp("a key too long", "v")}}, CodeTooLarge},
		{Command{Kind: CmdOps, Time: later, Ops: []Op{putOp("a", "1"), putOp("b", "2"), putOp("c", "3")}}, CodeTooLarge},
		{Command{Kind: CmdOps, Time: later}, CodeInvalid},
		{Command{Kind: CmdOps, Time: -1, Ops: []Op{putOp("k", "x")}}, CodeInvalid},
		{Command{Kind: CmdTick, Time: later, Session: Session{ClientID: 1}}, CodeInvalid},
	}
	for i, c := range cases {
		r := h.do(c.cmd)
		require.Equal(t, c.code, r.Code, "case %d", i)
		require.Nil(t, r.Ops)
	}
	require.Equal(t, "v", h.value("k"))
	require.Equal(t, clock, h.sm.Now(), "a rejected command does not move the clock")
}

func TestMaxResultBytes(t *testing.T) {
	h := newTester(t, storage.NewMemory(), Limits{MaxResultBytes: 10})
	h.put("a", "123456")
	h.put("b", "123456")
	r := h.ok(h.cmd(getOp("a"), putOp("c", "x")))
	require.Equal(t, "123456", string(r.Ops[0].Value))

	r = h.do(h.cmd(putOp("c", "y"), getOp("a"), getOp("b")))
	require.Equal(t, CodeTooLarge, r.Code)
	require.ErrorIs(t, r.Err(), ErrTooLarge)
	require.Equal(t, "x", h.value("c"), "a command whose reads are too large writes nothing")
}

func TestApplyRejectsGapsAndReplays(t *testing.T) {
	h := newMem(t)
	h.put("k", "v") // index 1
	entry := func(idx uint64) raft.Entry {
		c := h.cmd(putOp("k", fmt.Sprint(idx)))
		return raft.Entry{Term: 1, Index: idx, Type: raft.EntryNormal, Data: c.Encode()}
	}
	for _, tc := range []struct {
		name string
		ents []raft.Entry
	}{
		{"gap", []raft.Entry{entry(3)}},
		{"replay", []raft.Entry{entry(1)}},
		{"gap in batch", []raft.Entry{entry(2), entry(4)}},
		{"repeat", []raft.Entry{entry(2), entry(2)}},
	} {
		name := tc.name
		res, err := h.sm.Apply(tc.ents, false)
		require.Error(t, err, name)
		require.Nil(t, res, name)
		require.Equal(t, uint64(1), h.sm.Applied(), "%s: nothing applied", name)
		require.Equal(t, "v", h.value("k"), name)
	}
	res, err := h.sm.Apply(nil, false)
	require.NoError(t, err)
	require.Empty(t, res)
	res, err = h.sm.Apply([]raft.Entry{entry(2)}, false)
	require.NoError(t, err)
	require.Equal(t, CodeOK, res[0].Code)
	require.Equal(t, "2", h.value("k"))
}

func TestNewRejectsForeignEngine(t *testing.T) {
	e := storage.NewMemory()
	var b storage.Batch
	b.Put([]byte("not-kv"), []byte("x"))
	require.NoError(t, e.Apply(&b, false))
	_, err := New(e, Limits{})
	require.ErrorContains(t, err, "no kv meta record")
}

func TestNewRejectsLimitsTheEngineCannotHold(t *testing.T) {
	for _, l := range []Limits{
		{MaxKeyBytes: storage.MaxKeySize},
		{MaxValueBytes: storage.MaxValueSize},
		{MaxResultBytes: storage.MaxValueSize},
		{MaxOps: -1},
	} {
		_, err := New(storage.NewMemory(), l)
		require.Error(t, err, "%+v", l)
	}
	sm, err := New(storage.NewMemory(), Limits{})
	require.NoError(t, err)
	require.Equal(t, DefaultLimits(), sm.Limits())
}

func TestEngineFailureIsAnError(t *testing.T) {
	e := storage.NewMemory()
	h := newTester(t, e, Limits{})
	h.put("k", "v")
	require.NoError(t, e.Close())
	_, err := h.sm.Apply(h.entries(h.cmd(putOp("k", "w"))), false)
	require.ErrorIs(t, err, storage.ErrClosed)
	require.Equal(t, uint64(1), h.sm.Applied())
}

// TestConcurrentReadsSeeWholeApplies runs readers against a writer: every
// command writes the same counter to two keys, so a reader that ever saw
// them differ would have seen half an Apply. Run with -race.
func TestConcurrentReadsSeeWholeApplies(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			h.apply(h.cmd(putOp("p/a", "0"), putOp("p/b", "0")))
			const rounds = 100
			var wg sync.WaitGroup
			stop := make(chan struct{})
			errs := make(chan error, 4)
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						applied := h.sm.Applied()
						res, err := h.sm.Scan(ScanRequest{Prefix: []byte("p/")})
						if err != nil {
							errs <- err
							return
						}
						if len(res.Items) != 2 || !bytes.Equal(res.Items[0].Value, res.Items[1].Value) ||
							res.Items[0].Version != res.Items[1].Version {
							errs <- fmt.Errorf("torn read: %+v", res.Items)
							return
						}
						if res.Items[0].Version < applied-1 { // each round is two entries
							errs <- fmt.Errorf("read version %d older than applied %d", res.Items[0].Version, applied)
							return
						}
						if _, err := h.sm.Digest(); err != nil {
							errs <- err
							return
						}
						_, _ = h.sm.NextExpiry()
						_ = h.sm.Now()
					}
				}()
			}
			for i := 1; i <= rounds; i++ {
				v := fmt.Sprint(i)
				res, err := h.sm.Apply(h.entries(h.cmd(putOp("p/a", v), putOp("p/b", v)), h.tick()), false)
				if err != nil {
					close(stop)
					wg.Wait()
					require.NoError(t, err)
				}
				require.Equal(t, CodeOK, res[0].Code)
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.Equal(t, fmt.Sprint(rounds), h.value("p/a"))
		})
	}
}

func TestApplyResultIsIndependentOfCallerBuffers(t *testing.T) {
	h := newMem(t)
	cmd := h.cmd(putOp("k", "value"))
	data := cmd.Encode()
	_, err := h.sm.Apply([]raft.Entry{{Index: 1, Data: data}}, false)
	require.NoError(t, err)
	for i := range data {
		data[i] = 0 // the caller reuses its buffer
	}
	require.Equal(t, "value", h.value("k"))
	r := h.ok(h.cmd(getOp("k")))
	require.Equal(t, "value", string(r.Ops[0].Value))
}
