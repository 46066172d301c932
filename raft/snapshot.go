package raft

import "fmt"

// Snapshots and log compaction (paper §7).
//
// The state machine, not the core, owns snapshots: it decides when to take
// one, stores it, and hands its bytes to whoever sends a MsgSnap. The core
// only needs to know where the log now starts, and what a snapshot at an
// index must record. The sequence on a peer that compacts its own log:
//
//	meta, _ := r.SnapshotMeta(applied)   // what the snapshot stands for
//	data := stateMachine.Snapshot()
//	persist(meta, data)                  // durably, before the next step
//	r.Compact(meta.Index)                // drop the entries it replaces
//
// A follower that lags behind the compacted log gets the leader's snapshot
// (MsgSnap) instead of entries; its next Ready carries it in Ready.Snapshot,
// to persist and to restore the state machine from before anything else.

// SnapshotMeta returns the metadata a snapshot of the state after applying
// index must carry. index must be applied and still in the log.
func (r *Raft) SnapshotMeta(index uint64) (SnapshotMeta, error) {
	if index > r.log.applied {
		return SnapshotMeta{}, fmt.Errorf("raft: snapshot at %d: only %d applied", index, r.log.applied)
	}
	t, ok := r.log.term(index)
	if !ok {
		return SnapshotMeta{}, fmt.Errorf("raft: snapshot at %d: not in the log (first index %d)", index, r.log.offset()+1)
	}
	return SnapshotMeta{Index: index, Term: t, Conf: r.confAt(index)}, nil
}

// Compact drops log entries up to and including index, which a snapshot the
// caller has persisted now stands for.
func (r *Raft) Compact(index uint64) error {
	if index > r.log.applied {
		return fmt.Errorf("raft: compact to %d: only %d applied", index, r.log.applied)
	}
	if index > r.log.offset() {
		r.compactConfs(index)
		r.log.compact(index)
	}
	return nil
}

// snapshotMeta describes the snapshot the log now starts after.
func (r *Raft) snapshotMeta() SnapshotMeta {
	return SnapshotMeta{Index: r.log.offset(), Term: r.log.entries[0].Term, Conf: r.snapConf}
}

// sendSnapshot sends the leader's snapshot to a peer whose next entry was
// compacted away.
func (r *Raft) sendSnapshot(to uint64, pr *Progress) bool {
	// LAB 4 BEGIN: send the snapshot to a follower behind the compacted log
	// STUB: return false
	meta := r.snapshotMeta()
	r.send(Message{To: to, Type: MsgSnap, Snapshot: &Snapshot{Meta: meta}})
	pr.becomeSnapshot(meta.Index)
	return true
	// LAB 4 END
}

// handleSnapshot is the follower's side of InstallSnapshot.
func (r *Raft) handleSnapshot(m Message) {
	if m.Snapshot == nil {
		return
	}
	// LAB 4 BEGIN: install a leader's snapshot, or recognise it is not needed
	// STUB: r.send(Message{To: m.From, Type: MsgAppResp, Index: r.log.committed})
	meta := m.Snapshot.Meta
	switch {
	case meta.Index <= r.log.committed:
		// We already have everything it holds (a stale or duplicate snapshot).
		r.send(Message{To: m.From, Type: MsgAppResp, Index: r.log.committed})
	case r.log.matchTerm(meta.Index, meta.Term):
		// Our log already holds the snapshot's last entry: keep the log,
		// just learn that it is committed.
		r.log.commitTo(meta.Index)
		r.send(Message{To: m.From, Type: MsgAppResp, Index: meta.Index})
	default:
		r.log.restoreSnapshot(meta)
		r.snapConf, r.confs = meta.Conf, nil
		r.setConf(meta.Conf)
		r.pendingSnapshot = m.Snapshot
		r.send(Message{To: m.From, Type: MsgAppResp, Index: meta.Index})
	}
	// LAB 4 END
}

// ReportSnapshot tells the leader how sending a snapshot to peer id ended.
// A transport calls it with failed=true when the stream broke, so the leader
// tries again instead of waiting for an answer that will not come.
func (r *Raft) ReportSnapshot(id uint64, failed bool) {
	pr := r.prs[id]
	if r.role != Leader || pr == nil || pr.State != StateSnapshot || !failed {
		return
	}
	pr.becomeProbe()
}
