// Package snapshots is lab 4: snapshots and log compaction (paper §7). Read
// chapters/04-snapshots.md first, then run
//
//	go test ./labs/snapshots
//
// The tests keep MIT 6.5840's names (TestSnapshotBasic,
// TestSnapshotInstall..., TestSnapshotAllCrash, TestSnapshotInit) and run on
// the simulator with small snapshot thresholds, so that nodes compact their
// logs every hundred commands or so and lagging followers must be brought up
// to date with the leader's snapshot. Commands are labtest.AppendCmd, which
// the simulator's state machine applies, so every snapshot carries a state
// the simulator can check against the log.
package snapshots
