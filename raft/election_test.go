package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// §5.1: if a message carries a term greater than ours, adopt it and become a follower.
func TestRule_HigherTermConvertsToFollower(t *testing.T) {
	msgs := []Message{
		{Type: MsgApp},
		{Type: MsgHeartbeat},
		{Type: MsgVote},
		{Type: MsgAppResp},
		{Type: MsgHeartbeatResp},
		{Type: MsgVoteResp, Reject: true},
		{Type: MsgPreVoteResp, Reject: true},
	}
	// setup returns a cluster whose peer 1 has the given role.
	setup := func(t *testing.T, role Role) *network {
		if role == Leader {
			nw := newNetwork(t, 3)
			nw.elect(1)
			return nw
		}
		var opts []func(*Config)
		if role == PreCandidate {
			opts = append(opts, withPreVote)
		}
		nw := newNetwork(t, 3, opts...)
		nw.isolate(1) // so the campaign never ends
		nw.campaign(1)
		return nw
	}
	for _, role := range []Role{Leader, Candidate, PreCandidate} {
		for _, m := range msgs {
			t.Run(role.String()+"/"+m.Type.String(), func(t *testing.T) {
				nw := setup(t, role)
				r := nw.peers[1]
				requireRole(t, role, r.Status().Role)
				term := r.Status().Term

				m.From, m.To, m.Term = 2, 1, term+1
				r.Step(m)

				st := r.Status()
				requireRole(t, Follower, st.Role)
				require.Equal(t, term+1, st.Term)
				if m.Type == MsgApp || m.Type == MsgHeartbeat {
					require.Equal(t, uint64(2), st.Lead, "an append or heartbeat names the new leader")
				} else {
					require.Equal(t, None, st.Lead)
				}
			})
		}
	}
}

// §5.1: a message with a stale term is refused (Figure 2: reply false if term < currentTerm).
func TestRule_LowerTermMessagesRejected(t *testing.T) {
	// A follower in term 3 with log [1:1 2:2].
	st := PersistentState{HardState: HardState{Term: 3, Vote: 3}, Entries: entries(1, 2)}
	stale := []Message{
		{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 2, LogTerm: 2, Entries: []Entry{{Term: 2, Index: 3}}, Commit: 3},
		{Type: MsgHeartbeat, From: 2, To: 1, Term: 2, Commit: 2},
		{Type: MsgVote, From: 2, To: 1, Term: 2, Index: 9, LogTerm: 2},
	}

	t.Run("plain: dropped without a word", func(t *testing.T) {
		r := newPeer(t, 1, []uint64{1, 2, 3}, st)
		for _, m := range stale {
			r.Step(m)
			require.Empty(t, drain(t, r), "%s", m)
		}
		require.Equal(t, []uint64{1, 2}, logTerms(r))
		s := r.Status()
		require.Equal(t, uint64(3), s.Term)
		require.Equal(t, uint64(3), s.Vote)
		require.Equal(t, uint64(0), s.Commit)
	})

	for _, opt := range []struct {
		name string
		set  func(*Config)
	}{{"PreVote", withPreVote}, {"CheckQuorum", withCheckQuorum}} {
		t.Run(opt.name+": stale leader is told the new term", func(t *testing.T) {
			r := newPeer(t, 1, []uint64{1, 2, 3}, st, opt.set)
			for _, m := range stale[:2] {
				r.Step(m)
				msgs := drain(t, r)
				require.Len(t, msgs, 1, "%s", m)
				require.Equal(t, MsgAppResp, msgs[0].Type)
				require.Equal(t, uint64(2), msgs[0].To)
				require.Equal(t, uint64(3), msgs[0].Term, "the answer carries our term")
			}
			require.Equal(t, []uint64{1, 2}, logTerms(r), "the stale append was not accepted")
			require.Equal(t, uint64(0), r.Status().Commit)
		})
	}

	t.Run("PreVote: stale leader steps down after a partition", func(t *testing.T) {
		nw := newNetwork(t, 3, withPreVote)
		nw.elect(1)
		nw.isolate(1)
		until(t, func() bool { return nw.status(2).Role == Leader || nw.status(3).Role == Leader },
			func() { nw.tickN(1, 2, 3) }) // 2 and 3 elect one of them
		newLeader := uint64(2)
		if nw.status(3).Role == Leader {
			newLeader = 3
		}
		newTerm := nw.status(newLeader).Term
		require.Greater(t, newTerm, uint64(1))
		requireRole(t, Leader, nw.status(1).Role, "1 has not noticed yet")
		require.Equal(t, uint64(1), nw.status(1).Term)

		nw.heal()
		nw.tick(1) // 1's heartbeat, in term 1, reaches 2 and 3
		nw.deliver()

		requireRole(t, Follower, nw.status(1).Role)
		require.Equal(t, newTerm, nw.status(1).Term)
		requireRole(t, Leader, nw.status(newLeader).Role)
		require.Equal(t, newTerm, nw.status(newLeader).Term)
	})
}

// §5.2: a follower that hears from no leader for an election timeout becomes a candidate.
func TestRule_FollowerStartsElectionAfterTimeout(t *testing.T) {
	peers := []uint64{1, 2, 3}
	r := newPeer(t, 1, peers, PersistentState{HardState: HardState{Term: 1}, Entries: entries(1)})
	cfg := testConfig(1, peers)
	for range cfg.ElectionTick - 1 {
		r.Tick()
	}
	requireRole(t, Follower, r.Status().Role, "the timeout is at least ElectionTick")
	require.Empty(t, drain(t, r))

	for i := cfg.ElectionTick - 1; r.Status().Role == Follower; i++ {
		require.Less(t, i, 2*cfg.ElectionTick, "the timeout is below 2*ElectionTick")
		r.Tick()
	}
	requireRole(t, Candidate, r.Status().Role)
	require.Equal(t, uint64(2), r.Status().Term, "a new election is in a new term")
	msgs := drain(t, r)
	require.Len(t, msgs, 2)
	for i, m := range msgs {
		require.Equal(t, Message{Type: MsgVote, From: 1, To: peers[i+1], Term: 2, Index: 1, LogTerm: 1}, m)
	}

	// Hearing from a leader resets the timer: a follower kept informed never campaigns.
	r = newPeer(t, 1, peers, PersistentState{})
	for range 10 * cfg.ElectionTick {
		r.Tick()
		r.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 1})
		drain(t, r)
	}
	requireRole(t, Follower, r.Status().Role)
	require.Equal(t, uint64(2), r.Status().Lead)
}

// §5.2: election timeouts are drawn at random, here from [ElectionTick, 2*ElectionTick).
func TestRule_ElectionTimeoutIsRandomized(t *testing.T) {
	const electionTick = 10
	peers := []uint64{1, 2, 3}
	seen := map[int]int{}
	for id := uint64(1); id <= 3; id++ {
		for seed := uint64(1); seed <= 10; seed++ {
			r := newPeer(t, id, peers, PersistentState{}, withSeed(seed))
			// An isolated peer campaigns again and again; each time it waits a
			// newly drawn timeout.
			for draw := range 5 {
				ticks, term := 0, r.Status().Term
				until(t, func() bool { return r.Status().Term != term }, func() { r.Tick(); ticks++ })
				drain(t, r)
				require.GreaterOrEqual(t, ticks, electionTick, "peer %d seed %d draw %d", id, seed, draw)
				require.Less(t, ticks, 2*electionTick, "peer %d seed %d draw %d", id, seed, draw)
				seen[ticks]++
			}
		}
	}
	require.Greater(t, len(seen), electionTick/2, "timeouts should spread over the range: %v", seen)
}

// §5.2: a candidate votes for itself, and that vote is persisted.
func TestRule_CandidateVotesForItself(t *testing.T) {
	r := newPeer(t, 2, []uint64{1, 2, 3}, PersistentState{})
	until(t, func() bool { return r.Status().Role != Follower }, r.Tick)
	require.Equal(t, uint64(2), r.Status().Vote)
	rd := r.Ready()
	require.Equal(t, HardState{Term: 1, Vote: 2}, rd.HardState)
	require.True(t, rd.MustSync)
	for _, m := range rd.Messages {
		require.NotEqual(t, uint64(2), m.To, "no vote request to itself")
	}
	require.Len(t, rd.Messages, 2)
	r.Advance(rd)

	// Its own vote is enough in a cluster of one.
	solo := newPeer(t, 1, []uint64{1}, PersistentState{})
	until(t, func() bool { return solo.Status().Role != Follower }, solo.Tick)
	requireRole(t, Leader, solo.Status().Role)
	require.Equal(t, uint64(1), solo.Status().Vote)
}

// §5.2: each server votes for at most one candidate in a given term, even across a restart.
func TestRule_OneVotePerTerm(t *testing.T) {
	nw := newNetwork(t, 3)
	vote := func(from uint64) (granted bool) {
		t.Helper()
		n := len(nw.sent)
		nw.send(Message{Type: MsgVote, From: from, To: 3, Term: 1})
		resp := nw.sentSince(n, func(m Message) bool { return m.From == 3 && m.Type == MsgVoteResp })
		require.Len(t, resp, 1)
		require.Equal(t, from, resp[0].To)
		return !resp[0].Reject
	}

	require.True(t, vote(1), "the first candidate of term 1 gets the vote")
	require.False(t, vote(2), "a second candidate in the same term does not")
	require.True(t, vote(1), "a retransmitted request from the same candidate is granted again")

	nw.crash(3)
	nw.restart(3)
	require.Equal(t, uint64(1), nw.status(3).Term)
	require.Equal(t, uint64(1), nw.status(3).Vote)
	require.False(t, vote(2), "the vote survives a restart")
}

// §5.2: a candidate that receives votes from a majority becomes leader.
func TestRule_CandidateWinsWithMajority(t *testing.T) {
	nw := newNetwork(t, 5)
	nw.isolate(4)
	nw.isolate(5)
	nw.campaign(1) // votes from 1, 2, 3: a majority of 5
	requireRole(t, Leader, nw.status(1).Role)
	for _, id := range []uint64{2, 3} {
		require.Equal(t, uint64(1), nw.status(id).Lead, "peer %d follows the winner", id)
	}

	nw = newNetwork(t, 5)
	nw.isolate(3)
	nw.isolate(4)
	nw.isolate(5)
	nw.campaign(1) // votes from 1 and 2 only
	requireRole(t, Candidate, nw.status(1).Role, "two votes of five are not a majority")
}

// §5.2: a candidate that hears from a leader of its own term steps down.
func TestRule_CandidateStepsDownOnLeaderAppend(t *testing.T) {
	for _, typ := range []MessageType{MsgApp, MsgHeartbeat} {
		t.Run(typ.String(), func(t *testing.T) {
			nw := newNetwork(t, 3)
			// 1 and 2 both stand in term 1; 3 hears from 1 first and votes for it.
			nw.timeout(1)
			nw.timeout(2)
			// Hold back the leader's messages to 2, and the refusals that would
			// make 2 give up its candidacy.
			nw.drop(func(m Message) bool {
				return m.To == 2 && (m.Type == MsgVoteResp || m.From == 1 && (m.Type == MsgApp || m.Type == MsgHeartbeat))
			})
			nw.deliver()
			if typ == MsgHeartbeat {
				nw.tick(1)
				nw.deliver()
			}
			requireRole(t, Leader, nw.status(1).Role)
			requireRole(t, Candidate, nw.status(2).Role)
			require.Equal(t, uint64(1), nw.status(2).Term)

			// The leader's message, held back until now, arrives.
			lost := nw.sentSince(0, func(m Message) bool { return m.From == 1 && m.To == 2 && m.Type == typ })
			require.NotEmpty(t, lost)
			nw.heal()
			nw.send(lost[0])

			s := nw.status(2)
			requireRole(t, Follower, s.Role)
			require.Equal(t, uint64(1), s.Term)
			require.Equal(t, uint64(1), s.Lead)
		})
	}
}

// §5.2: when nobody wins, candidates time out and start a new election in a new term.
func TestRule_SplitVoteRetriesWithNewTerm(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.isolate(3)
	nw.timeout(1)
	nw.timeout(2)
	nw.deliver() // 1 and 2 each refuse the other: one vote each, no majority
	for _, id := range []uint64{1, 2} {
		requireRole(t, Candidate, nw.status(id).Role)
		require.Equal(t, uint64(1), nw.status(id).Term)
	}

	// The first whose (randomized) timer fires tries again in term 2.
	until(t, func() bool { return nw.status(1).Term > 1 || nw.status(2).Term > 1 }, func() { nw.tick(1, 2) })
	retrying := uint64(1)
	if nw.status(2).Term == 2 {
		retrying = 2
	}
	requireRole(t, Candidate, nw.status(retrying).Role)
	require.Equal(t, uint64(2), nw.status(retrying).Term)

	nw.deliver()
	requireRole(t, Leader, nw.status(retrying).Role, "the retry wins: the other candidate is in term 1")
	require.Equal(t, uint64(2), nw.status(retrying).Term)
}

// §5.4.1: a vote is denied to a candidate whose log is less up to date than the voter's.
func TestRule_VoteDeniedToLessUpToDateLog(t *testing.T) {
	// The voter's log is [1:1 2:2 3:2]: last index 3, last term 2.
	voter := PersistentState{HardState: HardState{Term: 2}, Entries: entries(1, 2, 2)}
	cases := []struct {
		name             string
		lastIndex, lastT uint64
		granted          bool
	}{
		{"lower last term, longer log", 5, 1, false},
		{"same last term, shorter log", 2, 2, false},
		{"same last term, same length", 3, 2, true},
		{"same last term, longer log", 4, 2, true},
		{"higher last term, shorter log", 1, 3, true},
	}
	for _, typ := range []MessageType{MsgVote, MsgPreVote} {
		for _, c := range cases {
			t.Run(typ.String()+"/"+c.name, func(t *testing.T) {
				r := newPeer(t, 1, []uint64{1, 2, 3}, voter)
				r.Step(Message{Type: typ, From: 2, To: 1, Term: 3, Index: c.lastIndex, LogTerm: c.lastT})
				msgs := drain(t, r)
				require.Len(t, msgs, 1)
				require.Equal(t, uint64(2), msgs[0].To)
				require.Equal(t, !c.granted, msgs[0].Reject)
				if typ == MsgVote && c.granted {
					require.Equal(t, uint64(2), r.Status().Vote)
				} else {
					require.Equal(t, None, r.Status().Vote)
				}
			})
		}
	}
}

// Thesis §9.6: a pre-candidate keeps its term however long it is cut off, so its return does not depose the leader.
func TestRule_PreVoteDoesNotIncrementTerm(t *testing.T) {
	run := func(t *testing.T, opts []func(*Config), progress bool) {
		nw := newNetwork(t, 3, opts...)
		nw.elect(1)
		term := nw.status(1).Term
		nw.isolate(3)
		for i := range 50 * nw.cfgs[3].ElectionTick {
			nw.tick()
			nw.deliver()
			if progress && i%7 == 0 {
				nw.propose(1, "x")
			}
			require.Equal(t, term, nw.status(3).Term, "tick %d", i)
		}
		requireRole(t, PreCandidate, nw.status(3).Role, "it keeps asking, in vain")

		nw.heal()
		// The worst moment to come back: 3's next pre-vote is the first thing the others hear.
		n := len(nw.sent)
		until(t, func() bool { return len(nw.sentSince(n, func(m Message) bool { return m.From == 3 })) > 0 },
			func() { nw.tick(3) })
		nw.deliver()
		nw.tickN(2 * nw.cfgs[1].ElectionTick)

		requireRole(t, Leader, nw.status(1).Role, "the leader is undisturbed")
		require.Equal(t, term, nw.status(1).Term)
		requireRole(t, Follower, nw.status(3).Role)
		require.Equal(t, uint64(1), nw.status(3).Lead)
		require.Equal(t, nw.status(1).LastIndex, nw.status(3).LastIndex, "and 3 catches up")
	}

	t.Run("cluster moved on while it was away", func(t *testing.T) {
		run(t, []func(*Config){withPreVote}, true)
	})
	t.Run("idle cluster, PreVote and CheckQuorum", func(t *testing.T) {
		run(t, []func(*Config){withPreVote, withCheckQuorum}, false)
	})
	t.Run("idle cluster, PreVote alone", func(t *testing.T) {
		run(t, []func(*Config){withPreVote}, false)
	})
}

// Thesis §9.6: once a majority grants the pre-vote, the peer runs a real election in term+1.
func TestRule_PreVoteGrantedThenRealElection(t *testing.T) {
	nw := newNetwork(t, 3, withPreVote)
	nw.timeout(1)
	s := nw.status(1)
	requireRole(t, PreCandidate, s.Role)
	require.Equal(t, uint64(0), s.Term, "a pre-candidate keeps its term")
	require.Equal(t, None, s.Vote, "and votes for nobody yet")

	// Deliver only the pre-votes and their answers.
	nw.drop(func(m Message) bool { return m.Type == MsgVote })
	nw.deliver()
	for _, id := range []uint64{2, 3} {
		require.Equal(t, uint64(0), nw.status(id).Term, "a pre-vote does not move the voter's term")
		require.Equal(t, None, nw.status(id).Vote, "nor use up its vote")
	}
	requireRole(t, Candidate, nw.status(1).Role, "the pre-vote was granted")
	require.Equal(t, uint64(1), nw.status(1).Term)

	var types []MessageType
	for _, m := range nw.sentSince(0, func(m Message) bool { return m.From == 1 }) {
		types = append(types, m.Type)
		require.Equal(t, uint64(1), m.Term)
	}
	require.Equal(t, []MessageType{MsgPreVote, MsgPreVote, MsgVote, MsgVote}, types)

	// Now the real election.
	nw.heal()
	for _, m := range nw.sentSince(0, func(m Message) bool { return m.Type == MsgVote }) {
		nw.send(m)
	}
	requireRole(t, Leader, nw.status(1).Role)
	require.Equal(t, uint64(1), nw.status(1).Term)
}

// Thesis §6.2 / §9.6 (CheckQuorum): a leader that cannot reach a quorum for an election timeout steps down.
func TestRule_LeaderStepsDownWithoutQuorum(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum)
	nw.elect(1)
	et := nw.cfgs[1].ElectionTick
	nw.tickN(5 * et) // a healthy cluster: nobody steps down
	requireRole(t, Leader, nw.status(1).Role)
	term := nw.status(1).Term

	nw.isolate(1)
	nw.tickN(2*et, 1)
	s := nw.status(1)
	requireRole(t, Follower, s.Role)
	require.Equal(t, term, s.Term, "stepping down does not start a new term")
	require.Equal(t, None, s.Lead)
	_, _, err := nw.peers[1].Propose([]byte("x"))
	require.ErrorAs(t, err, new(*NotLeaderError))

	// Without CheckQuorum the same leader never notices.
	nw = newNetwork(t, 3)
	nw.elect(1)
	nw.isolate(1)
	nw.tickN(10*et, 1)
	requireRole(t, Leader, nw.status(1).Role)
}

// Thesis §4.2.3 (CheckQuorum): a follower that heard from a leader within the election timeout ignores vote requests.
func TestRule_FollowerIgnoresVotesWhileLeaderIsAlive(t *testing.T) {
	for _, typ := range []MessageType{MsgVote, MsgPreVote} {
		t.Run(typ.String(), func(t *testing.T) {
			nw := newNetwork(t, 3, withCheckQuorum)
			nw.elect(1)
			nw.tickN(1) // a heartbeat
			last := nw.status(3)
			// Two terms ahead, so the request stays ahead even if 3 campaigns below.
			req := Message{Type: typ, From: 2, To: 3, Term: last.Term + 2, Index: last.LastIndex, LogTerm: last.LastTerm}

			n := len(nw.sent)
			nw.send(req)
			require.Empty(t, nw.sentSince(n, func(m Message) bool { return m.From == 3 }), "no answer at all")
			s := nw.status(3)
			require.Equal(t, last.Term, s.Term)
			require.Equal(t, uint64(1), s.Lead)

			// Once 3 has heard nothing for an election timeout, it listens.
			for range nw.cfgs[3].ElectionTick {
				nw.tick(3) // only 3's clock moves: no heartbeats
			}
			n = len(nw.sent)
			nw.drop(func(m Message) bool { return m.From == 3 }) // keep 2 from acting on the answer
			nw.send(req)
			resp := nw.sentSince(n, func(m Message) bool { return m.From == 3 })
			require.Len(t, resp, 1)
			require.False(t, resp[0].Reject)
		})
	}
}
