package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Thesis §3.10: an up-to-date target gets MsgTimeoutNow, campaigns at once
// and wins, even though the voters heard from the leader moments ago.
func TestTransfer_UpToDateTargetBecomesLeader(t *testing.T) {
	nw := newNetwork(t, 3, withPreVote, withCheckQuorum)
	nw.elect(1)
	nw.tickN(2)
	term := nw.status(1).Term
	require.NoError(t, nw.peers[1].TransferLeadership(2))
	nw.flush()
	nw.deliver()
	requireRole(t, Leader, nw.status(2).Role)
	require.Equal(t, term+1, nw.status(2).Term)
	requireRole(t, Follower, nw.status(1).Role)
}

// The leader first brings a lagging target up to date.
func TestTransfer_CatchesUpLaggingTarget(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(3)
	nw.propose(1, "a", "b", "c")
	nw.heal()
	mark := len(nw.sent)
	require.NoError(t, nw.peers[1].TransferLeadership(3))
	nw.flush()
	nw.deliver()
	timeouts := nw.sentSince(mark, func(m Message) bool { return m.Type == MsgTimeoutNow })
	require.Len(t, timeouts, 1)
	requireRole(t, Leader, nw.status(3).Role)
}

// During a transfer the leader refuses proposals; it gives up after an
// election timeout if the target never takes over.
func TestTransfer_RefusesProposalsThenGivesUp(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(3)
	require.NoError(t, nw.peers[1].TransferLeadership(3))
	_, _, err := nw.peers[1].Propose([]byte("x"))
	require.ErrorIs(t, err, ErrTransferInProgress)
	_, _, err = nw.peers[1].ProposeConfChange(ConfChange{Type: ConfAddLearner, NodeID: 9})
	require.ErrorIs(t, err, ErrTransferInProgress)
	nw.tickN(10)
	require.Equal(t, None, nw.peers[1].LeadTransferee())
	_, _, err = nw.peers[1].Propose([]byte("x"))
	require.NoError(t, err, "proposals are accepted again after the transfer gave up")
}

// Only voters can be targets.
func TestTransfer_TargetMustBeVoter(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	require.Error(t, nw.peers[1].TransferLeadership(7))
	var nl *NotLeaderError
	require.ErrorAs(t, nw.peers[2].TransferLeadership(3), &nl)
}
