package raft

import "fmt"

// raftLog is the in-memory log of one peer and three marks on it:
//
//	stable    entries up to here are known to be on disk
//	committed entries up to here are known to be replicated on a quorum
//	applied   entries up to here were handed to the state machine
//
// applied ≤ committed always. The committed prefix never changes.
type raftLog struct {
	// entries[0] is a sentinel standing for "the entry before the first one":
	// index 0 and term 0 for a fresh log. Real entries start at entries[1].
	entries   []Entry
	stable    uint64
	committed uint64
	applied   uint64
}

func newRaftLog() *raftLog {
	return &raftLog{entries: []Entry{{}}}
}

func (l *raftLog) offset() uint64    { return l.entries[0].Index }
func (l *raftLog) lastIndex() uint64 { return l.offset() + uint64(len(l.entries)) - 1 }
func (l *raftLog) lastTerm() uint64  { return l.entries[len(l.entries)-1].Term }

// term returns the term of the entry at index i, and false when the log does
// not hold that index.
func (l *raftLog) term(i uint64) (uint64, bool) {
	if i < l.offset() || i > l.lastIndex() {
		return 0, false
	}
	return l.entries[i-l.offset()].Term, true
}

func (l *raftLog) matchTerm(i, term uint64) bool {
	t, ok := l.term(i)
	return ok && t == term
}

// slice returns the entries with indices in [lo, hi), at most maxSize bytes of
// data (but always at least one entry when lo < hi).
func (l *raftLog) slice(lo, hi, maxSize uint64) []Entry {
	if lo <= l.offset() || hi > l.lastIndex()+1 || lo > hi {
		panic(fmt.Sprintf("raft: slice [%d,%d) out of log (%d,%d]", lo, hi, l.offset(), l.lastIndex()))
	}
	ents := l.entries[lo-l.offset() : hi-l.offset()]
	var size uint64
	for n, e := range ents {
		size += uint64(len(e.Data))
		if n > 0 && size > maxSize {
			return ents[:n:n]
		}
	}
	return ents[:len(ents):len(ents)]
}

// isUpToDate reports whether a log ending at (lastIndex, lastTerm) is at least
// as up to date as ours: a later last term wins; with equal last terms the
// longer log wins (§5.4.1).
func (l *raftLog) isUpToDate(lastIndex, lastTerm uint64) bool {
	// LAB 1 BEGIN: the election restriction (§5.4.1)
	// STUB: return true
	return lastTerm > l.lastTerm() || (lastTerm == l.lastTerm() && lastIndex >= l.lastIndex())
	// LAB 1 END
}

// append adds entries that directly follow the log, or replace a suffix of
// it. Entries from index ents[0].Index on are discarded first.
func (l *raftLog) append(ents ...Entry) {
	if len(ents) == 0 {
		return
	}
	first := ents[0].Index
	if first <= l.committed {
		panic(fmt.Sprintf("raft: truncating committed entry %d (committed %d)", first, l.committed))
	}
	if first > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: gap: appending %d after last %d", first, l.lastIndex()))
	}
	keep := first - l.offset()
	if keep < uint64(len(l.entries)) {
		// Truncating: the three-index slice forces a copy, so slices handed
		// out earlier (in a Ready or a message) never see their entries
		// overwritten by the new suffix.
		l.entries = append(l.entries[:keep:keep], ents...)
	} else {
		// Appending at the end: slices handed out are capped (see slice), so
		// growing in place is safe and costs no copy of the log.
		l.entries = append(l.entries, ents...)
	}
	if l.stable >= first {
		l.stable = first - 1
	}
}

// maybeAppend is the follower's side of AppendEntries (§5.3): if our log has
// an entry at prevIndex with prevTerm, make the log match the leader's ents
// (dropping any conflicting suffix, keeping entries that already match) and
// return the last index the leader now knows we hold.
func (l *raftLog) maybeAppend(prevIndex, prevTerm, commit uint64, ents []Entry) (lastNew uint64, ok bool) {
	// LAB 2 BEGIN: the follower's consistency check and conflict resolution (§5.3)
	// STUB: return 0, false
	if !l.matchTerm(prevIndex, prevTerm) {
		return 0, false
	}
	lastNew = prevIndex + uint64(len(ents))
	for i, e := range ents {
		if !l.matchTerm(e.Index, e.Term) {
			// First entry we lack or that conflicts: everything from here on
			// comes from the leader. Entries that already match are kept, so a
			// stale, reordered append never truncates newer entries.
			l.append(ents[i:]...)
			break
		}
	}
	l.commitTo(min(commit, lastNew))
	return lastNew, true
	// LAB 2 END
}

// conflictHint tells a leader where to retry after we rejected an append at
// index: the first index of the conflicting term, or just past our last entry
// when our log is too short (the "fast backup" of §5.3).
func (l *raftLog) conflictHint(index uint64) (hintIndex, hintTerm uint64) {
	if index > l.lastIndex() {
		return l.lastIndex() + 1, 0
	}
	t, _ := l.term(index)
	i := index
	for i > l.offset()+1 && i > l.committed+1 {
		if pt, _ := l.term(i - 1); pt != t {
			break
		}
		i--
	}
	return i, t
}

// lastIndexOfTerm returns the last index of an entry with term t, or 0.
func (l *raftLog) lastIndexOfTerm(t uint64) uint64 {
	for i := len(l.entries) - 1; i > 0; i-- {
		if l.entries[i].Term == t {
			return l.entries[i].Index
		}
		if l.entries[i].Term < t {
			break
		}
	}
	return 0
}

func (l *raftLog) commitTo(i uint64) {
	if i > l.committed {
		if i > l.lastIndex() {
			panic(fmt.Sprintf("raft: commit %d beyond last index %d", i, l.lastIndex()))
		}
		l.committed = i
	}
}

// unstable returns the entries not yet known to be on disk.
func (l *raftLog) unstable() []Entry {
	if l.stable >= l.lastIndex() {
		return nil
	}
	return l.slice(l.stable+1, l.lastIndex()+1, ^uint64(0))
}

// stableTo records that the entry (i, t) reached the disk.
func (l *raftLog) stableTo(i, t uint64) {
	if l.matchTerm(i, t) && i > l.stable {
		l.stable = i
	}
}

// compact drops the entries up to and including i, which must be applied:
// a snapshot now stands for them. The entry at i stays as the sentinel, so
// its term is still known (the leader needs it to send appends after it).
func (l *raftLog) compact(i uint64) {
	if i <= l.offset() {
		return
	}
	if i > l.applied {
		panic(fmt.Sprintf("raft: compacting to %d beyond applied %d", i, l.applied))
	}
	t, _ := l.term(i)
	// A fresh array, so the compacted prefix can be garbage-collected.
	ents := make([]Entry, 1, l.lastIndex()-i+1)
	ents[0] = Entry{Index: i, Term: t}
	l.entries = append(ents, l.entries[i-l.offset()+1:]...)
}

// restoreSnapshot throws the whole log away for a snapshot of the leader's:
// the log now starts after meta.Index, everything up to it counts as
// committed, on disk (the snapshot is persisted in the same Ready) and
// handed to the state machine (it applies the snapshot before anything
// else).
func (l *raftLog) restoreSnapshot(meta SnapshotMeta) {
	l.entries = []Entry{{Index: meta.Index, Term: meta.Term}}
	l.committed, l.stable, l.applied = meta.Index, meta.Index, meta.Index
}

// toApply returns committed entries not yet applied.
func (l *raftLog) toApply() []Entry {
	if l.applied >= l.committed {
		return nil
	}
	return l.slice(l.applied+1, l.committed+1, ^uint64(0))
}

func (l *raftLog) appliedTo(i uint64) {
	if i > l.committed {
		panic(fmt.Sprintf("raft: applied %d beyond commit %d", i, l.committed))
	}
	// A snapshot installed while a Ready was out may have moved applied
	// past what that Ready carried.
	l.applied = max(l.applied, i)
}
