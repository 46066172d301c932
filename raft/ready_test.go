package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Figure 2 / ready.go: term and vote reach stable storage before the messages that depend on them are sent.
func TestRule_ReadyPersistsTermAndVoteBeforeMessages(t *testing.T) {
	// Granting a vote: the Ready that carries the answer also carries the vote, to be synced.
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{})
	r.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 1})
	rd := r.Ready()
	require.Equal(t, []Message{{Type: MsgVoteResp, From: 1, To: 2, Term: 1}}, rd.Messages)
	require.Equal(t, HardState{Term: 1, Vote: 2}, rd.HardState)
	require.True(t, rd.MustSync)
	r.Advance(rd)
	require.False(t, r.HasReady(), "nothing left once persisted")

	// Acknowledging an append: the entries are in the same Ready, to be synced.
	r.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: []Entry{{Term: 1, Index: 1}}})
	rd = r.Ready()
	require.Equal(t, []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 1, Index: 1}}, rd.Messages)
	require.Equal(t, []Entry{{Term: 1, Index: 1}}, rd.Entries)
	require.True(t, rd.MustSync)
	require.True(t, rd.HardState.IsEmpty(), "term and vote are unchanged")
	r.Advance(rd)

	// A new commit index alone needs no sync: it can be recomputed after a crash.
	r.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 1, Commit: 1})
	rd = r.Ready()
	require.Equal(t, HardState{Term: 1, Vote: 2, Commit: 1}, rd.HardState)
	require.False(t, rd.MustSync)
	require.Equal(t, []Entry{{Term: 1, Index: 1}}, rd.CommittedEntries)
	r.Advance(rd)

	// A refused vote changes nothing that must be saved, except the adopted term.
	r.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 2})
	rd = r.Ready()
	require.Equal(t, HardState{Term: 2, Commit: 1}, rd.HardState)
	require.True(t, rd.MustSync)
	require.Len(t, rd.Messages, 1)
	require.True(t, rd.Messages[0].Reject, "3's log is behind")
	r.Advance(rd)
}

// Figure 2 (persistent state): a restarted peer comes back with the term, vote and log it had.
func TestRule_RestartKeepsTermVoteAndLog(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a", "b")
	nw.isolate(3)
	nw.propose(1, "c") // committed without 3
	nw.tickN(1)

	for _, id := range nw.ids {
		before, log := nw.status(id), logTerms(nw.peers[id])
		nw.crash(id)
		nw.restart(id)
		after := nw.status(id)
		requireRole(t, Follower, after.Role, "peer %d", id)
		require.Equal(t, before.Term, after.Term, "peer %d", id)
		require.Equal(t, before.Vote, after.Vote, "peer %d", id)
		require.Equal(t, before.LastIndex, after.LastIndex, "peer %d", id)
		require.Equal(t, before.Commit, after.Commit, "peer %d", id)
		require.Equal(t, log, logTerms(nw.peers[id]), "peer %d", id)
		require.Len(t, nw.applied[id], int(after.Commit), "peer %d re-applies its committed log", id)
	}
	require.Equal(t, uint64(4), nw.status(1).LastIndex, "no-op, a, b, c")
	require.Equal(t, uint64(3), nw.status(3).LastIndex, "3 missed c")

	// The cluster carries on: a new leader, and 3 catches up.
	nw.heal()
	nw.elect(2)
	nw.propose(2, "d")
	nw.tickN(1)
	for _, id := range nw.ids {
		require.Equal(t, nw.status(2).Commit, nw.status(id).Commit, "peer %d", id)
	}

	// A disk that does not start at index 1, or whose commit is past its log, is refused.
	_, err := New(testConfig(1, nw.ids), PersistentState{Entries: []Entry{{Term: 1, Index: 2}}})
	require.Error(t, err)
	_, err = New(testConfig(1, nw.ids), PersistentState{HardState: HardState{Term: 1, Commit: 2}, Entries: entries(1)})
	require.Error(t, err)
}

// ready.go: Tick, Step and Propose may run between Ready and Advance; what they produce waits for
// the next Ready, so it is still persisted before it is sent.
func TestReady_StepBetweenReadyAndAdvance(t *testing.T) {
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{})
	r.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 1})
	rd1 := r.Ready()

	// While rd1 is being persisted, leader 2 sends two entries.
	r.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entries(1, 1)})
	r.Tick()
	require.Equal(t, []Message{{Type: MsgVoteResp, From: 1, To: 2, Term: 1}}, rd1.Messages, "rd1 is unchanged")
	require.Empty(t, rd1.Entries)
	r.Advance(rd1)

	rd2 := r.Ready()
	require.Equal(t, entries(1, 1), rd2.Entries, "the entries wait for the next Ready...")
	require.Equal(t, []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 1, Index: 2}}, rd2.Messages, "...with their ack")
	require.True(t, rd2.MustSync)

	// While rd2 is being persisted, a leader of term 2 replaces entry 2.
	r.Step(Message{Type: MsgApp, From: 3, To: 1, Term: 2, Index: 1, LogTerm: 1, Entries: []Entry{{Term: 2, Index: 2}}})
	r.Advance(rd2)
	rd3 := r.Ready()
	require.NotEmpty(t, rd3.Entries)
	require.Equal(t, Entry{Term: 2, Index: 2}, rd3.Entries[len(rd3.Entries)-1], "the new entry 2 is not taken as persisted")
	require.Equal(t, HardState{Term: 2}, rd3.HardState)
	require.True(t, rd3.MustSync)
	r.Advance(rd3)
	require.False(t, r.HasReady())
}
