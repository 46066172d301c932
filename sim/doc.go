// Package sim is minikv's deterministic simulator: whole Raft clusters in one
// goroutine, driven by one seeded PRNG and one event queue ordered by
// (virtual time, sequence number).
//
// A run holds N nodes — each a raft core, a simulated disk and a replicated
// state machine — a network that delays, drops, duplicates and reorders
// messages and can be partitioned, a nemesis that crashes and restarts nodes
// (losing what was not fsynced, sometimes tearing the last write) and skews
// their clocks, and simulated clients whose history is checked with porcupine
// for linearizability. Invariants (one leader per term, log matching, state
// machine safety, leader completeness) are checked after every event.
//
// Nothing here reads the wall clock, uses the global PRNG, starts a goroutine
// or lets map order leak into behaviour, so a seed replays the same run bit
// for bit; Result.Digest, a hash of every event, proves it.
//
// Two ways in: Run executes one autonomous run (what `minikv sim` does), and
// New returns a *Sim that tests drive by hand (what the labs do): partition
// this node, crash that one, propose here, run for a second of virtual time.
package sim
