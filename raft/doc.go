// Package raft is minikv's consensus core: one Raft peer written as a pure,
// deterministic state machine.
//
// The core owns no goroutines, clocks, sockets or files. Everything happens
// through a few method calls:
//
//   - Tick advances logical time by one tick (elections and heartbeats are
//     counted in ticks, never in wall-clock time);
//   - Step feeds in one message received from another peer;
//   - Propose asks the leader to append a command to the log.
//
// Their effects are collected in a Ready batch: hard state and entries to
// persist, messages to send, committed entries to apply. The caller must
//
//  1. persist Ready.HardState and Ready.Entries (fsync when Ready.MustSync),
//  2. only then send Ready.Messages,
//  3. apply Ready.CommittedEntries to its state machine, in order,
//  4. call Advance.
//
// and must not ask for the next Ready before calling Advance. That contract
// (see ready.go) is what makes crash safety explainable, and it is what lets
// the simulator in package sim run a whole cluster in one goroutine,
// replayable from one seed.
//
// One file per concern, each the subject of a chapter:
//
//	raft.go         the peer: roles, terms, Step dispatch, Tick
//	election.go     elections, PreVote, CheckQuorum (§5.2, §5.4.1, thesis §9.6)
//	replication.go  appends, heartbeats, commitment (§5.3, §5.4.2, Figure 8)
//	log.go          the in-memory log and what is stable, committed, applied
//	progress.go     the leader's view of each follower: probe, replicate, inflights
//	ready.go        the persist → send → apply → advance contract
//	encoding.go     the binary form of entries, hard state and messages
package raft
