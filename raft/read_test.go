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

// Read ids are the caller's business, and two nodes may pick the same one.
// The leader confirms each read under a round id of its own, so a late
// answer to the heartbeat round of an earlier read (here: node 3's, held up
// in the network) cannot confirm a later read that happens to share its id
// — which would answer it from a heartbeat sent before it arrived, when a
// newer leader might already exist.
func TestRead_LateAnswerToAnOlderRoundConfirmsNothing(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a")
	nw.tickN(1)
	nw.drop(func(m Message) bool { return m.From == 3 && m.To == 1 })
	require.NoError(t, nw.peers[2].ReadIndex([]byte("x")))
	nw.flush()
	nw.deliver()
	require.Len(t, nw.reads[2], 1, "node 2's read is confirmed by nodes 1 and 2")
	var late *Message
	for i := range nw.sent {
		if m := nw.sent[i]; m.From == 3 && m.To == 1 && m.Type == MsgHeartbeatResp && len(m.Context) > 0 {
			late = &nw.sent[i]
		}
	}
	require.NotNil(t, late, "node 3 answered that round; the answer is still in the network")

	// The leader is cut off; a read with the same id arrives at it.
	nw.isolate(1)
	require.NoError(t, nw.peers[1].ReadIndex([]byte("x")))
	nw.flush()
	nw.peers[1].Step(*late)
	nw.flush()
	require.Empty(t, nw.reads[1], "an answer to an older round confirmed a newer read")
}
