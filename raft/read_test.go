package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Thesis §6.4: a leader answers a read only after a quorum confirms it is
// still the leader, at the commit index it had when the read arrived.
func TestRead_LeaderConfirmsWithQuorum(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a")
	nw.tickN(1)
	commit := nw.status(1).Commit
	require.NoError(t, nw.peers[1].ReadIndex([]byte("r1")))
	nw.flush()
	require.Empty(t, nw.reads[1], "no answer before the heartbeat round")
	nw.deliver()
	require.Equal(t, []ReadState{{Index: commit, RequestCtx: []byte("r1")}}, nw.reads[1])
}

// A leader cut off from the others can never confirm a read: it must not
// answer from its possibly stale state.
func TestRead_IsolatedLeaderNeverAnswers(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(1)
	require.NoError(t, nw.peers[1].ReadIndex([]byte("r1")))
	nw.tickN(30)
	require.Empty(t, nw.reads[1])
}

// A new leader's commit index may lag an earlier leader's until it commits an
// entry of its own term: reads wait for that commit.
func TestRead_WaitsForFirstCommitInTerm(t *testing.T) {
	nw := newNetwork(t, 3, withoutNoop)
	nw.elect(1)
	nw.propose(1, "a")
	nw.tickN(1)
	nw.elect(2) // a new term, with no entry of it committed yet
	require.NoError(t, nw.peers[2].ReadIndex([]byte("r1")))
	nw.tickN(3)
	require.Empty(t, nw.reads[2], "no read before the leader's first commit in its term")
	nw.propose(2, "b")
	nw.tickN(2)
	require.Len(t, nw.reads[2], 1)
	require.Equal(t, nw.status(2).Commit, nw.reads[2][0].Index)
}

// A follower forwards a read to the leader and gets the read index back.
func TestRead_FollowerForwardsToLeader(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a")
	nw.tickN(1)
	require.NoError(t, nw.peers[2].ReadIndex([]byte("f1")))
	nw.flush()
	nw.deliver()
	require.Len(t, nw.reads[2], 1)
	require.Equal(t, nw.status(1).Commit, nw.reads[2][0].Index)
	require.Empty(t, nw.reads[1], "the leader answers the follower, not itself")
}

// Without a known leader there is nobody to ask.
func TestRead_NoLeaderKnown(t *testing.T) {
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{})
	require.ErrorIs(t, r.ReadIndex([]byte("x")), ErrNoLeader)
}

// With LeaseReads the leader answers at once, trusting its CheckQuorum lease.
func TestRead_LeaseReadsAnswerAtOnce(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum, func(c *Config) { c.LeaseReads = true })
	nw.elect(1)
	nw.tickN(1)
	mark := len(nw.sent)
	require.NoError(t, nw.peers[1].ReadIndex([]byte("r1")))
	nw.flush()
	require.Len(t, nw.reads[1], 1)
	require.Empty(t, nw.sentSince(mark, func(m Message) bool { return m.Type == MsgHeartbeat }), "no heartbeat round")

	_, err := New(testConfig(1, []uint64{1}, func(c *Config) { c.LeaseReads = true }), PersistentState{})
	require.Error(t, err, "LeaseReads without CheckQuorum is refused")
}
