package raft

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

var testEntries = []Entry{
	{},
	{Term: 1, Index: 1, Type: EntryNoop},
	{Term: 7, Index: 300, Data: []byte("put k v")},
	{Term: math.MaxUint64, Index: math.MaxUint64, Type: EntryType(200), Data: bytes.Repeat([]byte{0xff}, 200)},
}

var testMessages = []Message{
	{},
	{Type: MsgVote, From: 1, To: 2, Term: 3, LogTerm: 2, Index: 9},
	{Type: MsgAppResp, From: 2, To: 1, Term: 3, Index: 5, Reject: true, RejectHint: 4, LogTerm: 2},
	{Type: MsgApp, From: 1, To: 3, Term: 4, LogTerm: 4, Index: 10, Commit: 9, Entries: testEntries[1:]},
	{Type: MessageType(255), From: math.MaxUint64, To: math.MaxUint64, Term: math.MaxUint64, LogTerm: math.MaxUint64,
		Index: math.MaxUint64, Commit: math.MaxUint64, RejectHint: math.MaxUint64, Reject: true},
	{Type: MsgSnap, From: 1, To: 2, Term: 5, Snapshot: &Snapshot{
		Meta: SnapshotMeta{Index: 40, Term: 4, Conf: ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}},
		Data: []byte("state")}},
	{Type: MsgSnap, From: 1, To: 2, Term: 5, Snapshot: &Snapshot{Meta: SnapshotMeta{Index: 1, Term: 1}}},
	{Type: MsgHeartbeat, From: 1, To: 2, Term: 5, Context: []byte("read-7")},
}

// encoding.go: every entry decodes back to itself, and leaves what follows it alone.
func TestEncoding_EntryRoundTrip(t *testing.T) {
	for _, e := range testEntries {
		b := AppendEntry([]byte("prefix"), e)
		require.Equal(t, "prefix", string(b[:6]), "AppendEntry appends")
		got, rest, err := DecodeEntry(append(b[6:], "rest"...))
		require.NoError(t, err)
		require.Equal(t, e, got)
		require.Equal(t, "rest", string(rest))

		enc := AppendEntry(nil, e)
		for i := range enc {
			_, _, err := DecodeEntry(enc[:i])
			require.Error(t, err, "%v truncated to %d bytes", e, i)
		}
	}
}

// encoding.go: every hard state decodes back to itself.
func TestEncoding_HardStateRoundTrip(t *testing.T) {
	for _, h := range []HardState{{}, {Term: 1, Vote: 2, Commit: 3}, {Term: math.MaxUint64, Vote: math.MaxUint64, Commit: math.MaxUint64}} {
		b := AppendHardState(nil, h)
		got, rest, err := DecodeHardState(append(b, 42))
		require.NoError(t, err)
		require.Equal(t, h, got)
		require.Equal(t, []byte{42}, rest)
		for i := range b {
			_, _, err := DecodeHardState(b[:i])
			require.Error(t, err, "%v truncated to %d bytes", h, i)
		}
	}
}

// encoding.go: every message decodes back to itself; a message must fill its buffer exactly.
func TestEncoding_MessageRoundTrip(t *testing.T) {
	for _, m := range testMessages {
		b := AppendMessage(nil, m)
		got, err := DecodeMessage(b)
		require.NoError(t, err)
		require.Equal(t, m, got)

		for i := range b {
			_, err := DecodeMessage(b[:i])
			require.Error(t, err, "%v truncated to %d bytes", m, i)
		}
		_, err = DecodeMessage(append(b, 0))
		require.Error(t, err, "trailing bytes")
	}
	// A count of entries the input cannot possibly hold is refused before allocating.
	b := AppendMessage(nil, Message{Type: MsgApp})
	b = append(b[:len(b)-1], 0xff, 0xff, 0xff, 0xff, 0x0f)
	_, err := DecodeMessage(b)
	require.Error(t, err)
}

// encoding.go: a decoder accepts only the bytes its encoder produces, so that equal
// messages have equal encodings (the fuzz target below checks this on any input).
func TestEncoding_DecodeMessageRejectsNonCanonicalInput(t *testing.T) {
	valid := AppendMessage(nil, Message{Type: MsgHeartbeat, From: 1, To: 2, Term: 3})
	// valid = type, from, to, term, logTerm, index, commit, hint, reject, #entries, len(context), has-snapshot
	require.Equal(t, []byte{byte(MsgHeartbeat), 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0}, valid)

	snapFlagTwo := bytes.Clone(valid)
	snapFlagTwo[11] = 2
	_, err := DecodeMessage(snapFlagTwo)
	require.Error(t, err, "snapshot flag 2")

	rejectTwo := bytes.Clone(valid)
	rejectTwo[8] = 2
	_, err = DecodeMessage(rejectTwo)
	require.Error(t, err, "Reject byte 2")

	overlong := []byte{byte(MsgHeartbeat), 0x81, 0x00, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0} // From = 1 in two bytes
	_, err = DecodeMessage(overlong)
	require.Error(t, err, "over-long uvarint")
}

// encoding.go: decoding arbitrary bytes never panics, and whatever decodes re-encodes to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range testMessages {
		f.Add(AppendMessage(nil, m))
	}
	f.Add([]byte{})
	// Seven uvarints, reject, two entries: (term 1, index 1, normal, no data), (1, 2, normal, "x"), context "c", no snapshot.
	f.Add([]byte{byte(MsgApp), 1, 2, 3, 4, 5, 6, 7, 1, 2, 1, 1, 0, 0, 1, 2, 0, 1, 'x', 1, 'c', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		require.Equal(t, b, AppendMessage(nil, m), "decoded %v", m)
	})
}
