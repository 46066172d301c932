// Package wal is the durable home of a Raft peer's state on a real node:
// the write-ahead log of hard states and entries (WAL), and the state
// machine's snapshot files (SnapshotFiles).
//
// It is the real-disk twin of the simulator's disk (sim/disk.go): the same
// record discipline — length, checksum, payload; the binary forms of
// raft.AppendEntry, raft.AppendHardState and raft.AppendSnapshotMeta — and
// the same recovery rule for a torn tail, with what a real disk adds:
// segment files, a header checksum, fsync, group commit, compaction.
//
// # Files
//
// A WAL directory holds segment files named <seq>-<first>.wal (16 hex digits
// each): seq counts 1, 2, 3... without gaps, first is the log's last index +
// 1 when the segment was started. Records go to the last segment; once it
// holds Options.SegmentBytes the WAL fsyncs it and starts the next one,
// which begins with the latest snapshot marker and hard state, so that any
// suffix of the segments is a complete WAL. The record frame is described in
// record.go.
//
// # How a runner uses it
//
//	w, st, err := wal.Open(dir, wal.Options{})  // st goes to raft.New
//	for each Ready rd:
//	    if !rd.Snapshot.IsEmpty() {              // installed from the leader
//	        write rd.Snapshot's data with SnapshotFiles.Create/Commit
//	        w.SaveSnapshot(rd.Snapshot.Meta)
//	    }
//	    w.Save(rd.HardState, rd.Entries, rd.MustSync)
//	    send rd.Messages; apply rd.CommittedEntries; Advance
//	after the state machine wrote a snapshot at index i (SnapshotFiles):
//	    w.SaveSnapshot(meta); w.Compact(i - entriesKeptForSlowFollowers)
//
// See WAL for group commit (many proposals per fsync).
//
// # Recovery
//
// Open replays every segment. A damaged record at the end of the last
// segment, with nothing intact after it, is a write that was cut by the
// crash and never fsynced, so never acknowledged: it is dropped and the file
// truncated. A damaged record anywhere else is data that was once durable;
// Open refuses it with a *CorruptError naming the file and offset.
package wal
