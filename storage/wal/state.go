package wal

import (
	"fmt"

	"github.com/minikv-go/minikv/raft"
)

// logState is what the records read so far say: the last hard state, the
// latest snapshot and the log after it. Recovery builds one from the
// records on disk; the WAL keeps one (without entry data) while it writes,
// so that it refuses to write what recovery would refuse to read.
type logState struct {
	hs   raft.HardState
	snap raft.SnapshotMeta
	ents []raft.Entry // consecutive; ents[0].Index is normally snap.Index+1
}

func (s *logState) lastIndex() uint64 {
	if n := len(s.ents); n > 0 {
		return s.ents[n-1].Index
	}
	return s.snap.Index
}

// appendEntries applies one Save's entries: they replace the log from
// es[0].Index on.
func (s *logState) appendEntries(es []raft.Entry) error {
	for len(es) > 0 && es[0].Index <= s.snap.Index {
		es = es[1:] // already covered by the snapshot
	}
	if len(es) == 0 {
		return nil
	}
	f := es[0].Index
	if len(s.ents) == 0 {
		// Either right after a snapshot or at the start of a compacted WAL,
		// whose first segment may begin past its first snapshot marker; the
		// final check in state() catches a real gap.
		s.ents = append([]raft.Entry(nil), es...)
		return nil
	}
	base, last := s.ents[0].Index, s.lastIndex()
	switch {
	case f > last+1:
		return fmt.Errorf("entries start at %d but the log ends at %d", f, last)
	case f <= base:
		s.ents = append(s.ents[:0], es...)
	default:
		s.ents = append(s.ents[:f-base], es...)
	}
	return nil
}

// applySnapshot records that the snapshot meta stands for the log up to
// meta.Index. As in the paper (§7): if the log holds meta.Index with the same
// term, the entries after it stay; otherwise the whole log is replaced.
func (s *logState) applySnapshot(meta raft.SnapshotMeta) bool {
	if meta.Index <= s.snap.Index {
		return false // an older marker, or the copy at a segment's head
	}
	if n := len(s.ents); n > 0 {
		base, last := s.ents[0].Index, s.lastIndex()
		switch {
		case meta.Index > last:
			s.ents = nil
		case meta.Index < base:
			// The entry is not here to compare (compacted WAL): keep all.
		case s.ents[meta.Index-base].Term == meta.Term:
			s.ents = append([]raft.Entry(nil), s.ents[meta.Index-base+1:]...)
		default:
			s.ents = nil
		}
	}
	s.snap = meta
	return true
}

// state checks the recovered log and returns it in the form raft.New takes.
func (s *logState) state() (raft.PersistentState, error) {
	if len(s.ents) > 0 && s.ents[0].Index != s.snap.Index+1 {
		return raft.PersistentState{}, fmt.Errorf("wal: the log starts at index %d but the snapshot ends at %d: segments are missing",
			s.ents[0].Index, s.snap.Index)
	}
	st := raft.PersistentState{HardState: s.hs, Snapshot: s.snap, Entries: s.ents}
	// The commit index is a hint that may run ahead of a log whose unsynced
	// tail was lost; raft recomputes it.
	st.HardState.Commit = min(st.HardState.Commit, s.lastIndex())
	st.HardState.Commit = max(st.HardState.Commit, s.snap.Index)
	return st, nil
}

// apply applies one record; advanced says whether it moved the snapshot.
func (s *logState) apply(r record) (advanced bool, err error) {
	switch r.typ {
	case recSnapshot:
		return s.applySnapshot(r.snap), nil
	case recHardState:
		s.hs = r.hs
	case recEntries:
		if err := s.appendEntries(r.entries); err != nil {
			return false, err
		}
		if r.hasHS {
			s.hs = r.hs
		}
	}
	return false, nil
}
