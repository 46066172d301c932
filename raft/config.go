package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Config describes one peer. Times are in ticks; the caller decides how long
// a tick is (the simulator uses virtual milliseconds, a real node a ticker).
type Config struct {
	// ID identifies this peer; it must be non-zero and unique in the cluster.
	ID uint64
	// Peers lists the voters the cluster was first started with. A peer
	// added later passes the same list, under a new ID of its own (IDs are
	// never reused): it learns the current configuration, and its own
	// membership, from the log or a snapshot.
	Peers []uint64

	// ElectionTick is the minimum number of ticks a follower waits without
	// hearing from a leader before it starts an election. The real timeout is
	// drawn at random from [ElectionTick, 2*ElectionTick) every time the timer
	// resets, so that candidates rarely split the vote (§5.2).
	ElectionTick int
	// HeartbeatTick is the number of ticks between leader heartbeats. It must
	// be well below ElectionTick.
	HeartbeatTick int

	// PreVote makes a peer ask "would you vote for me?" before it raises its
	// term, so a peer that was cut off cannot disrupt a healthy cluster when it
	// returns (thesis §9.6).
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a quorum
	// for an election timeout, and makes followers ignore vote requests while
	// they have heard from a leader recently.
	CheckQuorum bool
	// DisableLeaderNoop stops a new leader from appending an empty entry at the
	// start of its term. With the no-op a leader commits earlier terms' entries
	// promptly (§8); some test harnesses count indices and expect none.
	DisableLeaderNoop bool

	// LeaseReads lets a leader answer ReadIndex without a round of
	// heartbeats, trusting its CheckQuorum lease. Safe only if no peer's
	// clock runs much slower than another's (see read.go); needs CheckQuorum.
	LeaseReads bool

	// MaxInflightMsgs bounds how many appends the leader pipelines to one
	// follower before it waits for acknowledgements.
	MaxInflightMsgs int
	// MaxSizePerMsg bounds the bytes of entry data in one append (at least one
	// entry is always sent).
	MaxSizePerMsg uint64

	// Rand is the only source of randomness the peer uses. The simulator passes
	// a source derived from its seed, so runs replay exactly.
	Rand *rand.Rand
}

func (c *Config) validate() error {
	if c.ID == None {
		return errors.New("raft: config: ID must be non-zero")
	}
	if len(c.Peers) == 0 || slices.Contains(c.Peers, None) {
		return fmt.Errorf("raft: config: Peers %v must list the cluster's first voters", c.Peers)
	}
	if c.LeaseReads && !c.CheckQuorum {
		return errors.New("raft: config: LeaseReads needs CheckQuorum")
	}
	if c.HeartbeatTick <= 0 {
		return errors.New("raft: config: HeartbeatTick must be positive")
	}
	if c.ElectionTick <= c.HeartbeatTick {
		return errors.New("raft: config: ElectionTick must be greater than HeartbeatTick")
	}
	if c.Rand == nil {
		return errors.New("raft: config: Rand must be set (pass a seeded source)")
	}
	if c.MaxInflightMsgs <= 0 {
		c.MaxInflightMsgs = 256
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = 1 << 20
	}
	return nil
}

// PersistentState is what a peer finds on its disk when it starts: the last
// hard state it saved, the metadata of its latest snapshot (if any), and the
// log entries after that snapshot. A brand-new peer passes the zero value.
type PersistentState struct {
	HardState HardState
	Snapshot  SnapshotMeta
	Entries   []Entry
}
