package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// §7: compaction drops the prefix a snapshot covers, but the log keeps the
// term of the snapshot's last entry, so appends after it still match.
func TestSnapshot_CompactKeepsLastIncludedTerm(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.propose(1, "a", "b", "c", "d")
	nw.tickN(2)
	meta := nw.compact(1)
	st := nw.status(1)
	require.Equal(t, meta.Index+1, st.FirstIndex)
	term, ok := nw.peers[1].Term(meta.Index)
	require.True(t, ok, "the term of the last included entry must be kept")
	require.Equal(t, meta.Term, term)
	require.Equal(t, []uint64{1, 2, 3}, meta.Conf.Voters, "a snapshot records the configuration")

	nw.propose(1, "e")
	nw.tickN(2)
	for _, id := range nw.ids {
		require.Equal(t, st.LastIndex+1, nw.status(id).Commit, "peer %d", id)
	}
}

// §7: only applied entries can be compacted; the state machine must hold them.
func TestSnapshot_CannotCompactUnapplied(t *testing.T) {
	nw := newNetwork(t, 1)
	nw.elect(1)
	r := nw.peers[1]
	_, _, err := r.Propose([]byte("x")) // appended, not yet applied (no Ready handled)
	require.NoError(t, err)
	require.Error(t, r.Compact(r.Status().LastIndex))
	_, err = r.SnapshotMeta(r.Status().LastIndex)
	require.Error(t, err)
}

// §7 InstallSnapshot: a follower behind the leader's compacted log gets the
// snapshot, installs it through Ready.Snapshot, and continues from index+1.
func TestSnapshot_LaggingFollowerInstallsSnapshot(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(3)
	nw.propose(1, "a", "b", "c", "d", "e")
	nw.tickN(2)
	meta := nw.compact(1)
	nw.compact(2)

	mark := len(nw.sent)
	nw.heal()
	nw.tickN(3)
	snaps := nw.sentSince(mark, func(m Message) bool { return m.Type == MsgSnap && m.To == 3 })
	require.NotEmpty(t, snaps, "the leader must send a snapshot to a follower behind its compacted log")
	require.Equal(t, meta, snaps[0].Snapshot.Meta)

	st := nw.status(3)
	require.Equal(t, meta.Index+1, st.FirstIndex, "the follower's log starts after the snapshot")
	require.Equal(t, nw.status(1).Commit, st.Commit)
	require.Equal(t, meta.Index, nw.base[3], "the snapshot was handed to the state machine")

	nw.propose(1, "f")
	nw.tickN(2)
	require.Equal(t, nw.status(1).Commit, nw.status(3).Commit, "the follower continues after the snapshot")
	require.Equal(t, "f", string(nw.applied[3][len(nw.applied[3])-1].Data))
}

// A snapshot that covers no more than the follower has committed changes
// nothing (a duplicated or delayed MsgSnap must not roll a follower back).
func TestSnapshot_StaleSnapshotIgnored(t *testing.T) {
	r := newPeer(t, 2, []uint64{1, 2, 3}, PersistentState{HardState: HardState{Term: 2, Commit: 4}, Entries: entries(1, 1, 2, 2, 2)})
	drain(t, r)
	r.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 2, Snapshot: &Snapshot{Meta: SnapshotMeta{Index: 3, Term: 2, Conf: ConfState{Voters: []uint64{1, 2, 3}}}}})
	rd := r.Ready()
	require.True(t, rd.Snapshot.IsEmpty())
	require.Equal(t, uint64(5), r.Status().LastIndex, "the log is untouched")
	require.Len(t, rd.Messages, 1)
	require.Equal(t, uint64(4), rd.Messages[0].Index, "the answer says what is committed")
}

// A snapshot whose last entry the follower already holds (same index and
// term) only moves the commit index: the entries after it are kept.
func TestSnapshot_MatchingSnapshotKeepsLog(t *testing.T) {
	r := newPeer(t, 2, []uint64{1, 2, 3}, PersistentState{HardState: HardState{Term: 2, Commit: 1}, Entries: entries(1, 1, 2, 2, 2)})
	drain(t, r)
	r.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 2, Snapshot: &Snapshot{Meta: SnapshotMeta{Index: 3, Term: 2, Conf: ConfState{Voters: []uint64{1, 2, 3}}}}})
	rd := r.Ready()
	require.True(t, rd.Snapshot.IsEmpty(), "nothing to install: the log already holds the snapshot's entries")
	st := r.Status()
	require.Equal(t, uint64(5), st.LastIndex)
	require.Equal(t, uint64(3), st.Commit)
}

// A restarted peer comes back from its snapshot: its log starts after it,
// everything up to it counts as committed and applied.
func TestSnapshot_RestartFromSnapshot(t *testing.T) {
	st := PersistentState{
		HardState: HardState{Term: 3, Vote: 1, Commit: 11},
		Snapshot:  SnapshotMeta{Index: 10, Term: 2, Conf: ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}},
		Entries:   []Entry{{Index: 11, Term: 3}, {Index: 12, Term: 3}},
	}
	r := newPeer(t, 2, []uint64{1, 2, 3}, st)
	s := r.Status()
	require.Equal(t, uint64(11), s.FirstIndex)
	require.Equal(t, uint64(12), s.LastIndex)
	require.Equal(t, uint64(10), s.Applied, "the caller restores the state machine from the snapshot")
	require.Equal(t, []uint64{4}, s.Conf.Learners, "the snapshot's configuration is in force")
	rd := r.Ready()
	require.Len(t, rd.CommittedEntries, 1, "only entries after the snapshot are applied")
	require.Equal(t, uint64(11), rd.CommittedEntries[0].Index)
}

// A lost snapshot is sent again: at once when the transport reports the
// failure, and after an election timeout of heartbeats otherwise.
func TestSnapshot_LostSnapshotIsRetried(t *testing.T) {
	for _, report := range []bool{true, false} {
		nw := newNetwork(t, 3)
		nw.elect(1)
		nw.isolate(3)
		nw.propose(1, "a", "b", "c")
		nw.tickN(2)
		nw.compact(1)
		nw.heal()
		nw.drop(func(m Message) bool { return m.Type == MsgSnap })
		mark := len(nw.sent)
		nw.tickN(2)
		require.Equal(t, StateSnapshot, nw.peers[1].Progress(3).State)
		require.Len(t, nw.sentSince(mark, func(m Message) bool { return m.Type == MsgSnap }), 1)

		nw.heal()
		if report {
			nw.peers[1].ReportSnapshot(3, true)
			require.Equal(t, StateProbe, nw.peers[1].Progress(3).State, "a reported failure means probe again")
		}
		nw.tickN(15)
		require.GreaterOrEqual(t, len(nw.sentSince(mark, func(m Message) bool { return m.Type == MsgSnap })), 2, "report=%v", report)
		require.Equal(t, nw.status(1).Commit, nw.status(3).Commit, "report=%v: the follower caught up", report)
	}
}
