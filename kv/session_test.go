package kv

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/storage"
)

func TestOpenSessionIdIsTheLogIndex(t *testing.T) {
	h := newMem(t)
	h.put("x", "y")
	r := h.ok(Command{Kind: CmdOpenSession, Time: h.now})
	require.Equal(t, uint64(2), r.ClientID)
	require.Equal(t, r.Index, r.ClientID)
	res := h.apply(Command{Kind: CmdOpenSession, Time: h.now}, Command{Kind: CmdOpenSession, Time: h.now})
	require.Equal(t, uint64(3), res[0].ClientID)
	require.Equal(t, uint64(4), res[1].ClientID)
}

func TestSessionDuplicateReturnsFirstResultAndWritesNothing(t *testing.T) {
	h := newMem(t)
	id := h.open()
	first := h.ok(h.scmd(id, 1, putOp("k", "from client"), getOp("other")))

	// Someone else writes k in between.
	v := h.put("k", "from someone else")

	// The retry must not overwrite it, and gets the first answer back.
	dup := h.do(h.scmd(id, 1, putOp("k", "from client"), getOp("other")))
	require.True(t, dup.Duplicate)
	dup.Duplicate = false
	require.Equal(t, first, dup)
	it, err := h.get("k")
	require.NoError(t, err)
	require.Equal(t, "from someone else", string(it.Value))
	require.Equal(t, v, it.Version)

	// The next sequence number applies normally.
	r := h.ok(h.scmd(id, 2, putOp("k", "second")))
	require.False(t, r.Duplicate)
	require.Equal(t, "second", h.value("k"))
}

func TestSessionDuplicateOfAFailedCommand(t *testing.T) {
	h := newMem(t)
	id := h.open()
	first := h.do(h.scmd(id, 1, casOp("k", "v", 5)))
	require.Equal(t, CodeVersionMismatch, first.Code)

	// Even though k now exists at the version the CAS wanted... the retry
	// gets the recorded failure, not a fresh attempt.
	h.put("k", "a")
	dup := h.do(h.scmd(id, 1, casOp("k", "v", 5)))
	require.True(t, dup.Duplicate)
	require.Equal(t, CodeVersionMismatch, dup.Code)
	require.Equal(t, first.Index, dup.Index)
	require.Equal(t, first.FailedKey, dup.FailedKey)
	require.Equal(t, first.Expected, dup.Expected)
	require.Equal(t, first.Actual, dup.Actual)
	require.Equal(t, "a", h.value("k"))
}

func TestSessionDuplicateOfAGetReturnsTheValueRead(t *testing.T) {
	h := newMem(t)
	v := h.put("k", "old")
	id := h.open()
	first := h.ok(h.scmd(id, 1, getOp("k")))
	h.put("k", "new")
	dup := h.do(h.scmd(id, 1, getOp("k")))
	require.True(t, dup.Duplicate)
	require.Equal(t, []OpResult{{Found: true, Version: v, Value: []byte("old")}}, dup.Ops)
	require.Equal(t, first.Ops, dup.Ops)
}

func TestSessionDuplicateInTheSameApply(t *testing.T) {
	h := newMem(t)
	id := h.open()
	res := h.apply(
		h.scmd(id, 1, putOp("k", "1")),
		h.cmd(putOp("k", "other")),
		h.scmd(id, 1, putOp("k", "1")),
	)
	require.False(t, res[0].Duplicate)
	require.True(t, res[2].Duplicate)
	require.Equal(t, res[0].Index, res[2].Index)
	require.Equal(t, "other", h.value("k"))
}

func TestSessionStaleSequence(t *testing.T) {
	h := newMem(t)
	id := h.open()
	h.ok(h.scmd(id, 1, putOp("k", "1")))
	h.ok(h.scmd(id, 5, putOp("k", "5"))) // gaps are fine: only order matters
	r := h.do(h.scmd(id, 3, putOp("k", "3")))
	require.Equal(t, CodeStaleSequence, r.Code)
	require.ErrorIs(t, r.Err(), ErrStaleSequence)
	require.False(t, r.Duplicate)
	require.Equal(t, "5", h.value("k"))
}

func TestSessionUnknown(t *testing.T) {
	h := newMem(t)
	h.put("k", "v")
	r := h.do(h.scmd(999, 1, putOp("k", "w")))
	require.Equal(t, CodeSessionExpired, r.Code)
	require.ErrorIs(t, r.Err(), ErrSessionExpired)
	require.Equal(t, "v", h.value("k"))

	// A session id must be the index of an open-session entry; the index
	// of another entry is no session.
	r = h.do(h.scmd(1, 1, putOp("k", "w")))
	require.Equal(t, CodeSessionExpired, r.Code)
	require.Equal(t, CodeSessionExpired, h.do(Command{Kind: CmdCloseSession, Session: Session{ClientID: 999}}).Code)
}

func TestSessionExpiresAfterSessionTTL(t *testing.T) {
	ttl := time.Minute
	h := newTester(t, storage.NewMemory(), Limits{SessionTTL: ttl})
	idle := h.open()
	busy := h.open()
	require.Equal(t, 2, h.countPrefix(prefixSession))

	// busy is used every 40s; idle never.
	for seq := uint64(1); seq <= 3; seq++ {
		h.now += int64(40 * time.Second)
		h.ok(h.scmd(busy, seq, putOp("k", "v")))
	}
	r := h.do(h.scmd(idle, 1, putOp("k", "idle")))
	require.Equal(t, CodeSessionExpired, r.Code)
	require.Equal(t, "v", h.value("k"))
	require.Equal(t, 1, h.countPrefix(prefixSession), "the expired session was swept")
	require.Equal(t, 1, h.countPrefix(prefixActivity))

	// A duplicate and a stale command count as use too.
	h.now += int64(40 * time.Second)
	require.True(t, h.do(h.scmd(busy, 3, putOp("k", "v"))).Duplicate)
	h.now += int64(40 * time.Second)
	require.Equal(t, CodeStaleSequence, h.do(h.scmd(busy, 2, putOp("k", "v"))).Code)
	h.now += int64(40 * time.Second)
	h.ok(h.scmd(busy, 4, putOp("k", "v")))

	// Exactly SessionTTL of silence expires it, even before the sweep (a tick
	// in the same Apply call moves the clock).
	h.now += int64(ttl)
	res := h.apply(h.tick(), h.scmd(busy, 5, putOp("k", "late")))
	require.Equal(t, CodeSessionExpired, res[1].Code)
	h.ok(h.tick())
	require.Equal(t, 0, h.countPrefix(prefixSession))
	require.Equal(t, 0, h.countPrefix(prefixActivity))
}

func TestSessionClose(t *testing.T) {
	h := newMem(t)
	id := h.open()
	other := h.open()
	h.ok(h.scmd(id, 1, putOp("k", "v")))
	h.ok(Command{Kind: CmdCloseSession, Session: Session{ClientID: id}, Time: h.now})
	require.Equal(t, 1, h.countPrefix(prefixSession))
	require.Equal(t, 1, h.countPrefix(prefixActivity))

	require.Equal(t, CodeSessionExpired, h.do(h.scmd(id, 2, putOp("k", "w"))).Code)
	require.Equal(t, CodeSessionExpired, h.do(h.scmd(id, 1, putOp("k", "w"))).Code, "no duplicate after close")
	require.Equal(t, CodeSessionExpired, h.do(Command{Kind: CmdCloseSession, Session: Session{ClientID: id}}).Code)
	h.ok(h.scmd(other, 1, putOp("k", "other")))
	require.Equal(t, "other", h.value("k"))
}

func TestSessionRejectedCommandIsNotRecorded(t *testing.T) {
	h := newMem(t)
	id := h.open()
	r := h.do(h.scmd(id, 1, Op{Type: OpGet, Key: []byte("k"), TTL: 1}))
	require.Equal(t, CodeInvalid, r.Code)
	// The same sequence number, well-formed this time, applies: an invalid
	// command never reached the session.
	r = h.ok(h.scmd(id, 1, putOp("k", "v")))
	require.False(t, r.Duplicate)
	require.Equal(t, "v", h.value("k"))
}

func TestSessionsAcrossEngines(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			h := newKind(t, kind)
			id := h.open()
			first := h.ok(h.scmd(id, 1, putOp("a", "1"), getOp("a")))
			dup := h.do(h.scmd(id, 1, putOp("a", "1"), getOp("a")))
			require.True(t, dup.Duplicate)
			dup.Duplicate = false
			require.Equal(t, first, dup)
		})
	}
}
