package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// appsTo returns the appends leader 1 sent to peer `to` after the first n messages.
func (nw *network) appsTo(to uint64, n int) []Message {
	return nw.sentSince(n, func(m Message) bool { return m.From == 1 && m.To == to && m.Type == MsgApp })
}

// progress.go (probe): until it knows where a follower's log matches, the leader has one append in flight.
func TestProgress_ProbePausesAfterOneAppend(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.drop(func(m Message) bool { return m.From == 2 && m.Type == MsgAppResp })
	nw.elect(1)
	pr := nw.peers[1].Progress(2)
	require.Equal(t, StateProbe, pr.State)
	require.True(t, pr.ProbeSent)
	require.Len(t, nw.appsTo(2, 0), 1, "the no-op")

	nw.propose(1, "a", "b", "c")
	require.Len(t, nw.appsTo(2, 0), 1, "paused: nothing more until 2 answers")
	require.Equal(t, StateReplicate, nw.peers[1].Progress(3).State, "3 answered and is streamed to")
	require.Equal(t, uint64(4), nw.peers[1].Progress(3).Match)

	nw.heal()
	nw.tickN(1, 1) // 2 answers the heartbeat: the probe is presumed lost and sent again
	require.Len(t, nw.appsTo(2, 0), 2, "one more append, carrying all four entries")
	require.Len(t, nw.appsTo(2, 0)[1].Entries, 4)
	pr = nw.peers[1].Progress(2)
	require.Equal(t, StateReplicate, pr.State)
	require.Equal(t, uint64(4), pr.Match)
}

// progress.go: in replicate state the leader pipelines appends, but never more than MaxInflightMsgs unacknowledged.
func TestProgress_ReplicateBoundsInflight(t *testing.T) {
	const maxInflight = 3
	nw := newNetwork(t, 3, func(c *Config) {
		c.MaxInflightMsgs = maxInflight
		c.MaxSizePerMsg = 1 // one 1-byte entry per append
	})
	nw.elect(1)
	require.Equal(t, StateReplicate, nw.peers[1].Progress(2).State)

	nw.drop(func(m Message) bool { return m.From == 2 && m.Type == MsgAppResp })
	n := len(nw.sent)
	for range 10 {
		nw.propose(1, "x")
	}
	apps := nw.appsTo(2, n)
	require.Len(t, apps, maxInflight, "the pipeline to 2 is full; the rest waits")
	for i, m := range apps {
		require.Len(t, m.Entries, 1)
		require.Equal(t, uint64(2+i), m.Entries[0].Index)
	}
	require.Len(t, nw.appsTo(3, n), 10, "3 acknowledges, so it gets everything")
	require.Equal(t, uint64(11), nw.status(1).Commit)

	// Acknowledgements flow again: the pipeline drains and refills, still bounded.
	nw.heal()
	nw.tickN(3)
	require.Equal(t, uint64(11), nw.peers[1].Progress(2).Match)
	require.Equal(t, logTerms(nw.peers[1]), logTerms(nw.peers[2]))
}

// progress.go: a follower whose appends were all lost is repaired by the answer to the next heartbeat.
func TestProgress_HeartbeatResponseUnsticksLostAppends(t *testing.T) {
	lost := func(m Message) bool { return m.From == 1 && m.To == 2 && m.Type == MsgApp }
	check := func(t *testing.T, nw *network) {
		nw.heal()
		nw.deliver()
		require.Equal(t, uint64(6), nw.status(1).LastIndex)
		require.Less(t, nw.peers[1].Progress(2).Match, uint64(6), "nothing happens by itself")

		nw.tickN(1, 1)
		require.Equal(t, uint64(6), nw.peers[1].Progress(2).Match, "one heartbeat round trip is enough")
		require.Equal(t, logTerms(nw.peers[1]), logTerms(nw.peers[2]))
	}

	t.Run("replicate: a full pipeline of lost appends", func(t *testing.T) {
		nw := newNetwork(t, 3, func(c *Config) { c.MaxInflightMsgs = 2; c.MaxSizePerMsg = 1 })
		nw.elect(1)
		nw.drop(lost)
		nw.propose(1, "a", "b", "c", "d", "e")
		pr := nw.peers[1].Progress(2)
		require.Equal(t, StateReplicate, pr.State)
		require.Equal(t, uint64(1), pr.Match)
		check(t, nw)
	})

	t.Run("probe: the one probe was lost", func(t *testing.T) {
		nw := newNetwork(t, 3)
		nw.drop(lost)
		nw.elect(1)
		nw.propose(1, "a", "b", "c", "d", "e")
		pr := nw.peers[1].Progress(2)
		require.Equal(t, StateProbe, pr.State)
		require.True(t, pr.ProbeSent)
		check(t, nw)
	})
}
