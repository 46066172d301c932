package kv

import (
	"bytes"
	"testing"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
	"github.com/stretchr/testify/require"
)

func TestMembersFollowConfChangesAndSnapshots(t *testing.T) {
	sm, err := New(storage.NewMemory(), DefaultLimits())
	require.NoError(t, err)
	cc := func(i uint64, c raft.ConfChange) raft.Entry {
		return raft.Entry{Index: i, Term: 1, Type: raft.EntryConfChange, Data: c.Marshal()}
	}
	_, err = sm.Apply([]raft.Entry{
		cc(1, raft.ConfChange{Type: raft.ConfAddLearner, NodeID: 4, Context: []byte(`{"raft":"a:1"}`)}),
		cc(2, raft.ConfChange{Type: raft.ConfPromote, NodeID: 4}),
		cc(3, raft.ConfChange{Type: raft.ConfAddLearner, NodeID: 5, Context: []byte(`{"raft":"b:2"}`)}),
		cc(4, raft.ConfChange{Type: raft.ConfAddLearner, NodeID: 6}), // no context: nothing to keep
	}, false)
	require.NoError(t, err)
	m, err := sm.Members()
	require.NoError(t, err)
	require.Equal(t, map[uint64][]byte{4: []byte(`{"raft":"a:1"}`), 5: []byte(`{"raft":"b:2"}`)}, m)
	before, err := sm.Digest()
	require.NoError(t, err)

	_, err = sm.Apply([]raft.Entry{cc(5, raft.ConfChange{Type: raft.ConfRemove, NodeID: 4})}, false)
	require.NoError(t, err)
	m, err = sm.Members()
	require.NoError(t, err)
	require.Equal(t, map[uint64][]byte{5: []byte(`{"raft":"b:2"}`)}, m)
	gone, err := sm.WasRemoved(4)
	require.NoError(t, err)
	require.True(t, gone, "a removed id is remembered")
	gone, err = sm.WasRemoved(5)
	require.NoError(t, err)
	require.False(t, gone)
	after, err := sm.Digest()
	require.NoError(t, err)
	require.NotEqual(t, before, after, "members are part of the digested state")

	// A node that restores a snapshot learns the members it never saw added.
	snap, err := sm.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = snap.WriteTo(&buf)
	require.NoError(t, err)
	require.NoError(t, snap.Close())
	other, err := New(storage.NewMemory(), DefaultLimits())
	require.NoError(t, err)
	require.NoError(t, other.Restore(&buf))
	m, err = other.Members()
	require.NoError(t, err)
	require.Equal(t, map[uint64][]byte{5: []byte(`{"raft":"b:2"}`)}, m)
}
