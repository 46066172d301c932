package persistence_test

import (
	"math/rand/v2"
	"testing"

	"github.com/minikv-go/minikv/raft"
)

// TestVoteSurvivesRestart: a peer that granted its vote in a term, crashed
// and restarted must refuse another candidate in that term — otherwise two
// leaders could be elected in one term. This drives one raft core directly:
// "the disk" is exactly what its Ready said to persist.
func TestVoteSurvivesRestart(t *testing.T) {
	peers := []uint64{1, 2, 3}
	config := func(incarnation uint64) raft.Config {
		return raft.Config{ID: 3, Peers: peers, ElectionTick: 10, HeartbeatTick: 1, Rand: rand.New(rand.NewPCG(3, incarnation))}
	}
	var disk raft.PersistentState
	persist := func(rd raft.Ready) {
		if !rd.HardState.IsEmpty() {
			disk.HardState = rd.HardState
		}
		if len(rd.Entries) > 0 {
			disk.Entries = append(disk.Entries[:rd.Entries[0].Index-1], rd.Entries...)
		}
	}
	answer := func(r *raft.Raft, to uint64) raft.Message {
		t.Helper()
		rd := r.Ready()
		persist(rd)
		r.Advance(rd)
		for _, m := range rd.Messages {
			if m.To == to && m.Type == raft.MsgVoteResp {
				return m
			}
		}
		t.Fatalf("no vote response to %d in %v", to, rd.Messages)
		return raft.Message{}
	}

	r, err := raft.New(config(1), disk)
	if err != nil {
		t.Fatal(err)
	}
	r.Step(raft.Message{Type: raft.MsgVote, From: 1, To: 3, Term: 5})
	if m := answer(r, 1); m.Reject {
		t.Fatalf("a fresh peer refused its vote to candidate 1 in term 5")
	}

	// Crash, and restart from the disk.
	r, err = raft.New(config(2), disk)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.Term != 5 || st.Vote != 1 {
		t.Fatalf("after restart: term %d, vote %d; want term 5, vote 1 (Ready must persist them, restore must load them)", st.Term, st.Vote)
	}
	r.Step(raft.Message{Type: raft.MsgVote, From: 2, To: 3, Term: 5})
	if m := answer(r, 2); !m.Reject {
		t.Fatalf("after a restart the peer voted again in term 5, for candidate 2: two leaders are now possible")
	}
}
