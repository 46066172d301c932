package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func proposeConf(t *testing.T, nw *network, leader uint64, cc ConfChange) {
	t.Helper()
	_, _, err := nw.peers[leader].ProposeConfChange(cc)
	require.NoError(t, err)
	nw.flush()
	nw.deliver()
}

// Thesis §4.2.1: a learner receives the log but neither votes nor counts
// towards commitment.
func TestConf_LearnerReplicatesButDoesNotCount(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.addPeer(4)
	proposeConf(t, nw, 1, ConfChange{Type: ConfAddLearner, NodeID: 4})
	nw.propose(1, "a")
	nw.tickN(2)
	require.Equal(t, []uint64{4}, nw.status(4).Conf.Learners, "the learner learned its role from the log")
	require.Equal(t, nw.status(1).Commit, nw.status(4).Commit, "the learner caught up")

	// Leader + learner are not a majority of the three voters.
	nw.isolate(2)
	nw.isolate(3)
	before := nw.status(1).Commit
	nw.propose(1, "b")
	nw.tickN(2)
	require.Equal(t, before, nw.status(1).Commit, "a learner's acknowledgement must not count")

	// A learner never campaigns.
	nw.heal()
	nw.isolate(1)
	for range 100 {
		nw.tick(4)
	}
	requireRole(t, Follower, nw.status(4).Role)
}

// Thesis §4.2.1: only a learner can be promoted; then it votes and counts.
func TestConf_PromoteLearner(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	_, _, err := nw.peers[1].ProposeConfChange(ConfChange{Type: ConfPromote, NodeID: 4})
	require.Error(t, err, "promoting a non-member")
	nw.addPeer(4)
	proposeConf(t, nw, 1, ConfChange{Type: ConfAddLearner, NodeID: 4})
	nw.tickN(2)
	proposeConf(t, nw, 1, ConfChange{Type: ConfPromote, NodeID: 4})
	nw.tickN(2)
	require.Equal(t, []uint64{1, 2, 3, 4}, nw.status(1).Conf.Voters)
	require.Equal(t, []uint64{1, 2, 3, 4}, nw.status(4).Conf.Voters)
	// Four voters: a quorum is three, so leader + one follower is not enough.
	nw.isolate(3)
	nw.isolate(4)
	before := nw.status(1).Commit
	nw.propose(1, "x")
	nw.tickN(2)
	require.Equal(t, before, nw.status(1).Commit)
}

// Thesis §4.1: a leader starts a change only when the previous one is
// committed, and only after committing an entry of its own term.
func TestConf_OneChangeAtATime(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(2)
	nw.isolate(3)
	_, _, err := nw.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 4})
	require.NoError(t, err)
	_, _, err = nw.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 5})
	require.ErrorIs(t, err, ErrConfChangePending)

	nw2 := newNetwork(t, 3, withoutNoop)
	nw2.elect(1)
	_, _, err = nw2.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 4})
	require.ErrorIs(t, err, ErrConfChangeTooEarly)
	nw2.propose(1, "a")
	nw2.tickN(1)
	_, _, err = nw2.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 4})
	require.NoError(t, err)
}

// Thesis §4.1: a configuration is in force as soon as its entry is in the
// log, and is undone if the entry is truncated away.
func TestConf_InForceWhenAppendedUndoneWhenTruncated(t *testing.T) {
	nw := newNetwork(t, 5)
	nw.elect(1)
	// The change reaches peer 2 only: two of five, never committed.
	nw.drop(func(m Message) bool { return m.From == 1 && m.To != 2 })
	_, _, err := nw.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 6})
	require.NoError(t, err)
	nw.flush()
	nw.deliver()
	require.Equal(t, []uint64{6}, nw.status(2).Conf.Learners, "in force on append, before commit")
	require.Less(t, nw.status(2).Commit, nw.status(2).LastIndex)

	// Peers 3-5, which never saw it, elect a leader that overwrites it.
	nw.heal()
	nw.isolate(1)
	nw.isolate(2)
	nw.elect(3)
	nw.propose(3, "x")
	nw.heal()
	nw.isolate(1)
	nw.tickN(3)
	require.Empty(t, nw.status(2).Conf.Learners, "the change was truncated, so it is undone")
	require.Equal(t, nw.status(3).Commit, nw.status(2).Commit)
}

// Thesis §4.2.2: a leader that removes itself keeps leading until the change
// commits, without counting itself, then steps down.
func TestConf_RemovedLeaderStepsDownAfterCommit(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	_, _, err := nw.peers[1].ProposeConfChange(ConfChange{Type: ConfRemove, NodeID: 1})
	require.NoError(t, err)
	requireRole(t, Leader, nw.status(1).Role, "still leading while the change is uncommitted")
	nw.flush()
	nw.deliver()
	requireRole(t, Follower, nw.status(1).Role, "steps down once the change is committed")
	require.Equal(t, []uint64{2, 3}, nw.status(2).Conf.Voters)
	for range 100 {
		nw.tick(1) // a removed server never campaigns
	}
	require.NotEqual(t, Candidate, nw.status(1).Role)
	nw.isolate(1)
	nw.campaign(2)
	requireRole(t, Leader, nw.status(2).Role, "the remaining voters elect a leader")
}

// A configuration survives restart (replayed from the log) and compaction
// (recorded in the snapshot).
func TestConf_SurvivesRestartAndSnapshot(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.addPeer(4)
	proposeConf(t, nw, 1, ConfChange{Type: ConfAddLearner, NodeID: 4})
	nw.tickN(2)
	want := nw.status(2).Conf
	nw.crash(2)
	nw.restart(2)
	require.Equal(t, want, nw.status(2).Conf, "replayed from the log")

	nw.propose(1, "a")
	nw.tickN(2)
	meta := nw.compact(2)
	require.Equal(t, want, meta.Conf)
	nw.crash(2)
	nw.restart(2)
	require.Equal(t, want, nw.status(2).Conf, "restored from the snapshot")
}

func TestConfChangeContextRoundTrips(t *testing.T) {
	for _, cc := range []ConfChange{
		{Type: ConfAddLearner, NodeID: 4},
		{Type: ConfAddLearner, NodeID: 300, Context: []byte(`{"raft":"127.0.0.1:7004"}`)},
		{Type: ConfRemove, NodeID: 1 << 40},
	} {
		got, err := UnmarshalConfChange(cc.Marshal())
		if err != nil || got.Type != cc.Type || got.NodeID != cc.NodeID || string(got.Context) != string(cc.Context) {
			t.Fatalf("%+v round-tripped to %+v, %v", cc, got, err)
		}
	}
	// A non-canonical node ID is refused, not read as a different change.
	if _, err := UnmarshalConfChange([]byte{byte(ConfRemove), 0x84, 0x00}); err == nil {
		t.Fatalf("non-canonical uvarint accepted")
	}
}
