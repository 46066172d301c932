package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// app is an append from leader 2 in term 2 to peer 1.
func app(prevIndex, prevTerm, commit uint64, ents ...Entry) Message {
	return Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: prevIndex, LogTerm: prevTerm, Commit: commit, Entries: ents}
}

// stepOne delivers m to r and returns r's single answer.
func stepOne(t *testing.T, r *Raft, m Message) Message {
	t.Helper()
	r.Step(m)
	msgs := drain(t, r)
	require.Len(t, msgs, 1)
	return msgs[0]
}

// §5.3: a follower refuses an append whose previous entry (index and term) it does not hold.
func TestRule_AppendRejectedWhenPrevDoesNotMatch(t *testing.T) {
	// The follower's log is [1:1 2:1 3:2].
	st := PersistentState{HardState: HardState{Term: 2}, Entries: entries(1, 1, 2)}
	cases := []struct {
		name               string
		prevIndex, prevT   uint64
		hintIndex, hintTrm uint64
	}{
		{"log too short", 5, 2, 4, 0},             // retry just past our last entry
		{"later term at prev", 3, 3, 3, 2},        // our term 2 starts at index 3
		{"earlier term at prev", 3, 1, 3, 2},      // the hint is always about our own log
		{"term differs further back", 2, 2, 1, 1}, // our term 1 starts at index 1
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newPeer(t, 1, []uint64{1, 2, 3}, st)
			resp := stepOne(t, r, app(c.prevIndex, c.prevT, 3, Entry{Term: 2, Index: c.prevIndex + 1}))
			require.Equal(t, Message{
				Type: MsgAppResp, From: 1, To: 2, Term: 2, Reject: true,
				Index: c.prevIndex, RejectHint: c.hintIndex, LogTerm: c.hintTrm,
			}, resp)
			require.Equal(t, []uint64{1, 1, 2}, logTerms(r), "the log is untouched")
			require.Equal(t, uint64(0), r.Status().Commit, "and nothing is committed")
		})
	}

	r := newPeer(t, 1, []uint64{1, 2, 3}, st)
	resp := stepOne(t, r, app(3, 2, 0, Entry{Term: 2, Index: 4}))
	require.False(t, resp.Reject, "a matching prev is accepted")
	require.Equal(t, uint64(4), resp.Index)
}

// §5.3: if an existing entry conflicts with a new one (same index, different term), delete it and all that follow.
func TestRule_ConflictingSuffixIsTruncated(t *testing.T) {
	// Entries 2 and 3 came from a leader of term 1 and never committed.
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{HardState: HardState{Term: 1}, Entries: entries(1, 1, 1)})
	r.Step(app(1, 1, 0, Entry{Term: 2, Index: 2}))
	require.Equal(t, []uint64{1, 2}, logTerms(r), "entry 2 replaced, entry 3 gone")

	rd := r.Ready()
	require.Equal(t, []Entry{{Term: 2, Index: 2}}, rd.Entries, "the disk must overwrite from index 2 on")
	require.True(t, rd.MustSync)
	require.Len(t, rd.Messages, 1)
	require.Equal(t, Message{Type: MsgAppResp, From: 1, To: 2, Term: 2, Index: 2}, rd.Messages[0])
	r.Advance(rd)

	// The harness's disk does the same: restarting finds the repaired log.
	nw := newNetwork(t, 3)
	nw.load(1, PersistentState{HardState: HardState{Term: 1}, Entries: entries(1, 1, 1)})
	nw.send(app(1, 1, 0, Entry{Term: 2, Index: 2}))
	nw.crash(1)
	nw.restart(1)
	require.Equal(t, []uint64{1, 2}, logTerms(nw.peers[1]))
}

// §5.3: an append whose entries are already in the log changes nothing, even when it arrives late.
func TestRule_MatchingEntriesAreNotTruncatedByStaleAppend(t *testing.T) {
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{HardState: HardState{Term: 2}})
	newer := app(0, 0, 0, Entry{Term: 2, Index: 1}, Entry{Term: 2, Index: 2}, Entry{Term: 2, Index: 3})
	older := app(0, 0, 0, Entry{Term: 2, Index: 1})

	require.Equal(t, uint64(3), stepOne(t, r, newer).Index)
	resp := stepOne(t, r, older) // sent first, delivered last
	require.False(t, resp.Reject)
	require.Equal(t, uint64(1), resp.Index, "it acknowledges what that append carried")
	require.Equal(t, []uint64{2, 2, 2}, logTerms(r), "entries 2 and 3 survive")

	// Nor does a stale append with a prefix of the entries of a later one.
	resp = stepOne(t, r, app(1, 2, 0, Entry{Term: 2, Index: 2}))
	require.Equal(t, uint64(2), resp.Index)
	require.Equal(t, []uint64{2, 2, 2}, logTerms(r))
}

// §5.3: the follower sets commitIndex = min(leaderCommit, index of last new entry).
func TestRule_FollowerCommitIsMinOfLeaderCommitAndLastNew(t *testing.T) {
	// The follower holds [1:1 2:1 3:1]; entry 3 is a leftover of term 1 that
	// the new leader (term 2, log [1:1 2:1 3:2], commit 3) does not have.
	r := newPeer(t, 1, []uint64{1, 2, 3}, PersistentState{HardState: HardState{Term: 1}, Entries: entries(1, 1, 1)})

	// The leader sends only entry 2 (say, its size limit), with commit 3.
	stepOne(t, r, app(1, 1, 3, Entry{Term: 1, Index: 2}))
	require.Equal(t, uint64(2), r.Status().Commit, "entry 3 is ours, not the leader's: it must not commit")

	// An append carrying more entries than the leader has committed.
	stepOne(t, r, app(2, 1, 2, Entry{Term: 2, Index: 3}, Entry{Term: 2, Index: 4}))
	require.Equal(t, uint64(2), r.Status().Commit, "the leader's commit bounds it")
	require.Equal(t, []uint64{1, 1, 2, 2}, logTerms(r))

	// The commit index never moves back.
	stepOne(t, r, app(1, 1, 1, Entry{Term: 1, Index: 2}))
	require.Equal(t, uint64(2), r.Status().Commit)

	stepOne(t, r, app(4, 2, 4))
	require.Equal(t, uint64(4), r.Status().Commit)
}

// §5.3 (the optimization at the end of the section): a rejection names the conflicting term, so a whole term is skipped per round trip.
func TestRule_FastBackupSkipsWholeTerm(t *testing.T) {
	repeat := func(term uint64, n int) []uint64 {
		ts := make([]uint64, n)
		for i := range ts {
			ts[i] = term
		}
		return ts
	}
	cat := func(parts ...[]uint64) []uint64 {
		var out []uint64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name             string
		leader, follower []uint64
	}{
		// The follower's term 2 runs 100 entries past where the leader's stops.
		{"leader knows the term", cat([]uint64{1}, repeat(2, 10), repeat(3, 50)), cat([]uint64{1}, repeat(2, 110))},
		// The follower's term 2 is unknown to the leader.
		{"leader lacks the term", cat([]uint64{1}, repeat(3, 50)), cat([]uint64{1}, repeat(2, 100))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nw := newNetwork(t, 3)
			nw.load(1, PersistentState{HardState: HardState{Term: 3, Commit: 1}, Entries: entries(c.leader...)})
			nw.load(2, PersistentState{HardState: HardState{Term: 3, Commit: 1}, Entries: entries(c.follower...)})
			nw.load(3, PersistentState{HardState: HardState{Term: 3, Commit: 1}, Entries: entries(c.leader...)})
			nw.elect(1)
			nw.tickN(3)

			rejects := nw.sentSince(0, func(m Message) bool { return m.From == 2 && m.Type == MsgAppResp && m.Reject })
			require.LessOrEqual(t, len(rejects), 2, "one entry per round trip would take ~50: %v", rejects)
			require.Equal(t, logTerms(nw.peers[1]), logTerms(nw.peers[2]), "and the follower is repaired")
		})
	}
}

// §5.3 / Figure 3 (Leader Append-Only): a leader never overwrites or deletes entries in its log.
func TestRule_LeaderNeverOverwritesItsOwnLog(t *testing.T) {
	nw := newNetwork(t, 3)
	// Follower 2 has a longer log of stale, uncommitted term-1 entries.
	nw.load(1, PersistentState{HardState: HardState{Term: 2}, Entries: entries(1, 2)})
	nw.load(2, PersistentState{HardState: HardState{Term: 2}, Entries: entries(1, 1, 1, 1, 1)})
	nw.load(3, PersistentState{HardState: HardState{Term: 2}, Entries: entries(1)})
	nw.elect(1)
	before := nw.peers[1].Entries(1, 4) // [1:1 2:2 3:3 (no-op)]
	require.Len(t, before, 3)

	nw.propose(1, "a")
	nw.tickN(2)
	require.Equal(t, []uint64{1, 2, 3, 3}, logTerms(nw.peers[1]), "the leader only appended")
	require.Equal(t, before, nw.peers[1].Entries(1, 4))
	require.Equal(t, logTerms(nw.peers[1]), logTerms(nw.peers[2]), "the follower's stale entries gave way")

	// Even an append that claims to come from the leader's own term, and
	// conflicts with its uncommitted tail, changes nothing.
	nw.isolate(1)
	nw.propose(1, "b") // index 5, not committed
	lead := nw.status(1)
	require.Equal(t, uint64(4), lead.Commit)
	forged := Message{Type: MsgApp, From: 2, To: 1, Term: lead.Term, Index: 4, LogTerm: 3,
		Entries: []Entry{{Term: 2, Index: 5, Data: []byte("forged")}}, Commit: 4}
	nw.peers[1].Step(forged)
	forged.Term = 1
	nw.peers[1].Step(forged)
	requireRole(t, Leader, nw.status(1).Role)
	require.Equal(t, []uint64{1, 2, 3, 3, 3}, logTerms(nw.peers[1]))
	require.Equal(t, "b", string(nw.peers[1].Entries(5, 6)[0].Data))
}

// figure8 builds the situation of Figure 8 (c) in a cluster of five, with no leader no-op:
// leader 1 of term 4 has replicated its term-2 entry at index 2 to peers 1–4 (a majority),
// while peer 5 still holds an entry of term 3 at index 2.
func figure8(t *testing.T) *network {
	nw := newNetwork(t, 5, withoutNoop)
	hs := HardState{Term: 3, Commit: 1}
	nw.load(1, PersistentState{HardState: hs, Entries: entries(1, 2)})
	nw.load(2, PersistentState{HardState: hs, Entries: entries(1, 2)})
	nw.load(3, PersistentState{HardState: hs, Entries: entries(1)})
	nw.load(4, PersistentState{HardState: hs, Entries: entries(1)})
	nw.load(5, PersistentState{HardState: hs, Entries: entries(1, 3)})
	nw.isolate(5)
	nw.elect(1) // term 4, votes from 2, 3, 4
	require.Equal(t, uint64(4), nw.status(1).Term)
	nw.tickN(5, 1) // heartbeats make the leader probe and replicate
	for _, id := range []uint64{1, 2, 3, 4} {
		require.Equal(t, []uint64{1, 2}, logTerms(nw.peers[id]), "peer %d", id)
	}
	return nw
}

// §5.4.2 / Figure 8: a leader commits an earlier term's entry only indirectly, by committing one of its own term.
func TestRule_LeaderCommitsOnlyCurrentTermByCounting(t *testing.T) {
	t.Run("majority replica of an old entry is not committed", func(t *testing.T) {
		nw := figure8(t)
		for _, id := range []uint64{1, 2, 3, 4} {
			require.Equal(t, uint64(1), nw.status(id).Commit, "peer %d", id)
		}
	})

	t.Run("an entry of the current term commits it", func(t *testing.T) {
		nw := figure8(t)
		nw.propose(1, "x")
		require.Equal(t, uint64(3), nw.status(1).Commit)
		nw.tickN(1, 1)
		for _, id := range []uint64{1, 2, 3, 4} {
			require.Equal(t, uint64(3), nw.status(id).Commit, "peer %d", id)
			require.Equal(t, []uint64{1, 2, 4}, logTerms(nw.peers[id]), "peer %d", id)
		}
	})

	t.Run("why: the old entry may still be overwritten", func(t *testing.T) {
		nw := figure8(t)
		nw.crash(1)
		nw.heal()
		// 5's last term (3) beats 2, 3 and 4's (2): it can win, in term 5.
		until(t, func() bool { return nw.status(5).Role == Leader }, func() { nw.tickN(1, 5) })
		nw.tickN(5, 5)
		for _, id := range []uint64{2, 3, 4} {
			require.Equal(t, []uint64{1, 3}, logTerms(nw.peers[id]), "peer %d lost index 2 of term 2", id)
		}
	})
}

// §5.4.2 / §8: a new leader's no-op entry lets it commit the entries of earlier terms at once.
func TestRule_NoopCommitsPreviousTermEntries(t *testing.T) {
	setup := func(t *testing.T, opts ...func(*Config)) *network {
		nw := newNetwork(t, 3, opts...)
		for _, id := range nw.ids { // entry 1, of term 1, is everywhere but not committed
			nw.load(id, PersistentState{HardState: HardState{Term: 1}, Entries: entries(1)})
		}
		nw.elect(1) // term 2
		return nw
	}

	nw := setup(t)
	require.Equal(t, uint64(2), nw.status(1).Commit, "the no-op (index 2) commits, and entry 1 with it")
	require.Len(t, nw.applied[1], 2)
	require.Equal(t, EntryNormal, nw.applied[1][0].Type)
	require.Equal(t, EntryNoop, nw.applied[1][1].Type)

	nw = setup(t, withoutNoop)
	nw.tickN(3)
	require.Equal(t, uint64(1), nw.peers[1].Progress(2).Match, "entry 1 is on every peer...")
	require.Equal(t, uint64(0), nw.status(1).Commit, "...but not committed without an entry of term 2")
	nw.propose(1, "x")
	require.Equal(t, uint64(2), nw.status(1).Commit)
	require.Len(t, nw.applied[1], 2)
}
