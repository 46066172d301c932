package snapshots_test

// Two tests that drive raft cores by hand, with no simulator: "the network"
// is the test handing messages over, "the disk" is ignored. They run first
// (this file sorts before snapshots_test.go) and point at the rule that is
// broken, where the simulated tests can only show what went wrong.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/minikv-go/minikv/raft"
)

// handle takes r's Ready, "persists" nothing, advances, and returns it.
func handle(r *raft.Raft) raft.Ready {
	rd := r.Ready()
	r.Advance(rd)
	return rd
}

func entries(first, last, term uint64) []raft.Entry {
	var ents []raft.Entry
	for i := first; i <= last; i++ {
		ents = append(ents, raft.Entry{Index: i, Term: term, Data: fmt.Appendf(nil, "%d", i)})
	}
	return ents
}

var voters = raft.ConfState{Voters: []uint64{1, 2, 3}}

func peerConfig(id uint64) raft.Config {
	return raft.Config{ID: id, Peers: []uint64{1, 2, 3}, ElectionTick: 10, HeartbeatTick: 1,
		DisableLeaderNoop: true, Rand: rand.New(rand.NewPCG(id, 0))}
}

// TestSnapshotFollowerRules: peer 3 is a follower, and the test plays its
// leader. It goes through the cases of InstallSnapshot (paper Figure 13):
// a snapshot beyond the log replaces it; a snapshot whose last entry
// conflicts with the log replaces it all the same; a snapshot whose last
// entry the log holds keeps the entries after it; a snapshot older than
// what the follower committed changes nothing.
func TestSnapshotFollowerRules(t *testing.T) {
	snapMsg := func(index, term uint64) raft.Message {
		return raft.Message{Type: raft.MsgSnap, From: 1, To: 3, Term: term,
			Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: index, Term: term, Conf: voters}, Data: []byte("state")}}
	}
	appMsg := func(prev, last, commit uint64) raft.Message {
		m := raft.Message{Type: raft.MsgApp, From: 1, To: 3, Term: 1, Index: prev, Entries: entries(prev+1, last, 1), Commit: commit}
		if prev > 0 {
			m.LogTerm = 1
		}
		return m
	}
	newFollower := func(t *testing.T) *raft.Raft {
		t.Helper()
		r, err := raft.New(peerConfig(3), raft.PersistentState{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// step feeds m to r and handles the Ready that follows; it returns it.
	step := func(t *testing.T, r *raft.Raft, m raft.Message) raft.Ready {
		t.Helper()
		r.Step(m)
		rd := handle(r)
		for _, resp := range rd.Messages {
			if resp.Type == raft.MsgAppResp && resp.Reject {
				t.Fatalf("the follower rejected %v: %v", m, resp)
			}
		}
		return rd
	}
	want := func(t *testing.T, what string, r *raft.Raft, first, last, commit uint64) {
		t.Helper()
		st := r.Status()
		if st.FirstIndex != first || st.LastIndex != last || st.Commit != commit {
			t.Fatalf("%s: log [%d, %d] committed to %d; want [%d, %d] committed to %d", what, st.FirstIndex, st.LastIndex, st.Commit, first, last, commit)
		}
	}

	t.Run("beyond-the-log", func(t *testing.T) {
		r := newFollower(t)
		step(t, r, appMsg(0, 5, 5))
		rd := step(t, r, snapMsg(20, 1))
		if rd.Snapshot.Meta.Index != 20 || string(rd.Snapshot.Data) != "state" {
			t.Fatalf("a snapshot at 20, past the log's end at 5, is not in the next Ready for the caller to persist and restore (Ready.Snapshot.Meta = %+v)", rd.Snapshot.Meta)
		}
		want(t, "after a snapshot at 20, past a log ending at 5", r, 21, 20, 20)
		if st := r.Status(); st.Applied != 20 {
			t.Fatalf("after installing a snapshot at 20 the applied index is %d, want 20: the state machine now holds the snapshot's state", st.Applied)
		}
		if !slices.ContainsFunc(rd.Messages, func(m raft.Message) bool { return m.Type == raft.MsgAppResp && m.Index == 20 }) {
			t.Fatalf("after installing a snapshot at 20 the follower did not tell the leader it now holds up to 20: %v", rd.Messages)
		}
		step(t, r, appMsg(20, 25, 25))
		want(t, "after appends 21–25 on top of the snapshot", r, 21, 25, 25)
	})
	t.Run("conflicting", func(t *testing.T) {
		r := newFollower(t)
		step(t, r, appMsg(0, 30, 10))
		rd := step(t, r, snapMsg(20, 2))
		if rd.Snapshot.Meta.Index != 20 {
			t.Fatalf("a snapshot at 20 term 2, where the log holds an entry of term 1, was not installed")
		}
		want(t, "after a snapshot at 20 term 2 over a log with term 1 at 20", r, 21, 20, 20)
	})
	t.Run("holds-its-last-entry", func(t *testing.T) {
		r := newFollower(t)
		step(t, r, appMsg(0, 30, 10))
		rd := step(t, r, snapMsg(20, 1))
		if !rd.Snapshot.IsEmpty() {
			t.Fatalf("the log already holds the snapshot's last entry (20, term 1), yet the snapshot was installed: entries 21–30, which the leader was told about, are gone")
		}
		want(t, "after a snapshot at 20 whose entry the log holds", r, 1, 30, 20)
	})
	t.Run("stale", func(t *testing.T) {
		r := newFollower(t)
		step(t, r, snapMsg(20, 1))
		step(t, r, appMsg(20, 40, 40))
		if err := r.Compact(35); err != nil {
			t.Fatal(err)
		}
		for _, index := range []uint64{20, 30, 35, 40} {
			rd := step(t, r, snapMsg(index, 1))
			if !rd.Snapshot.IsEmpty() {
				t.Fatalf("an old snapshot at %d (commit index 40) was installed again", index)
			}
			want(t, fmt.Sprintf("after an old snapshot at %d", index), r, 36, 40, 40)
		}
	})
}

// TestSnapshotLeaderRules: peer 1 restarts with entries 1–10 of term 1,
// becomes leader of term 2 and compacts its log up to 8. Peer 3 (played by
// the test) has nothing, so it can only be brought up with a snapshot: the
// leader must send one, naming index 8 and the term of entry 8, and wait
// for it instead of sending it again on every occasion; when it hears the
// snapshot failed it tries again; when peer 3 acknowledges it, appends
// resume after index 8.
func TestSnapshotLeaderRules(t *testing.T) {
	newLeader := func(t *testing.T) *raft.Raft {
		t.Helper()
		r, err := raft.New(peerConfig(1), raft.PersistentState{HardState: raft.HardState{Term: 1, Commit: 10}, Entries: entries(1, 10, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if r.Status().Role == raft.Candidate {
				break
			}
			r.Tick()
		}
		handle(r)
		r.Step(raft.Message{Type: raft.MsgVoteResp, From: 2, To: 1, Term: 2})
		if st := r.Status(); st.Role != raft.Leader || st.Term != 2 {
			t.Fatalf("peer 1 did not become leader of term 2: %+v", st)
		}
		handle(r)
		if err := r.Compact(8); err != nil {
			t.Fatal(err)
		}
		// Peer 3 answers the leader's first probe: it has nothing.
		r.Step(raft.Message{Type: raft.MsgHeartbeatResp, From: 3, To: 1, Term: 2})
		handle(r)
		r.Step(raft.Message{Type: raft.MsgAppResp, From: 3, To: 1, Term: 2, Reject: true, Index: 10, RejectHint: 1})
		return r
	}
	snapsTo3 := func(msgs []raft.Message) []raft.Message {
		var out []raft.Message
		for _, m := range msgs {
			if m.To == 3 && (m.Type == raft.MsgSnap || m.Type == raft.MsgApp) {
				out = append(out, m)
			}
		}
		return out
	}
	heartbeatResp := raft.Message{Type: raft.MsgHeartbeatResp, From: 3, To: 1, Term: 2}

	t.Run("send-and-wait", func(t *testing.T) {
		r := newLeader(t)
		msgs := snapsTo3(handle(r).Messages)
		if len(msgs) != 1 || msgs[0].Type != raft.MsgSnap {
			t.Fatalf("the entries peer 3 needs were compacted away; want one MsgSnap to it, got %v", msgs)
		}
		meta := msgs[0].Snapshot.Meta
		if meta.Index != 8 || meta.Term != 1 || !slices.Equal(meta.Conf.Voters, voters.Voters) {
			t.Fatalf("the snapshot sent says %+v; want index 8, term 1 (the term of entry 8, not the leader's), voters %v", meta, voters.Voters)
		}
		if pr := r.Progress(3); pr.State != raft.StateSnapshot || pr.PendingSnapshot != 8 {
			t.Fatalf("after sending the snapshot, the leader's progress for peer 3 is %v, pending %d; want StateSnapshot, pending 8", pr, pr.PendingSnapshot)
		}
		// Peer 3 is alive but has not answered the snapshot yet.
		r.Step(heartbeatResp)
		if msgs := snapsTo3(handle(r).Messages); len(msgs) != 0 {
			t.Fatalf("a heartbeat answer arrived while the snapshot was on its way, and the leader sent %v: a snapshot can be gigabytes; send it once and wait", msgs)
		}
		// Peer 3 installed it.
		r.Step(raft.Message{Type: raft.MsgAppResp, From: 3, To: 1, Term: 2, Index: 8})
		msgs = snapsTo3(handle(r).Messages)
		if pr := r.Progress(3); pr.State != raft.StateReplicate || pr.Match != 8 {
			t.Fatalf("peer 3 acknowledged the snapshot at 8, but the leader's progress for it is %v", pr)
		}
		if len(msgs) != 1 || msgs[0].Type != raft.MsgApp || msgs[0].Index != 8 || msgs[0].LogTerm != 1 || len(msgs[0].Entries) != 2 {
			t.Fatalf("after the snapshot at 8, want an append of entries 9–10 after (8, term 1); got %v", msgs)
		}
	})
	t.Run("retry-after-failure", func(t *testing.T) {
		r := newLeader(t)
		handle(r)
		r.ReportSnapshot(3, true)
		if pr := r.Progress(3); pr.State != raft.StateProbe {
			t.Fatalf("the transport reported that the snapshot to peer 3 failed, but the leader's progress for it is %v; want Probe, to try again", pr)
		}
		r.Step(heartbeatResp)
		if msgs := snapsTo3(handle(r).Messages); len(msgs) != 1 || msgs[0].Type != raft.MsgSnap {
			t.Fatalf("after a failed snapshot, peer 3 answered a heartbeat; want the snapshot sent again, got %v", msgs)
		}
	})
}
