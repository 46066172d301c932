package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// logOf returns a raftLog holding entries with the given terms.
func logOf(terms ...uint64) *raftLog {
	l := newRaftLog()
	l.append(entries(terms...)...)
	return l
}

// log.go: slices handed out earlier (in a Ready, in a message) never see their entries overwritten
// when the log is truncated and rewritten.
func TestLog_TruncationDoesNotAliasHandedOutEntries(t *testing.T) {
	l := logOf(1, 1, 1)
	out := l.slice(1, 4, ^uint64(0))
	l.append(Entry{Term: 2, Index: 2}, Entry{Term: 2, Index: 3})
	require.Equal(t, entries(1, 1, 1), out)
	require.Equal(t, entries(1, 2, 2), l.entries[1:])
	require.Equal(t, uint64(0), l.stable)
}

// log.go: appending at the end of the log costs amortized O(1), not a copy of the whole log.
func TestLog_AppendAtEndDoesNotCopyTheLog(t *testing.T) {
	l := newRaftLog()
	for i := uint64(1); i <= 10_000; i++ {
		l.append(Entry{Term: 1, Index: i})
	}
	allocs := testing.AllocsPerRun(100, func() {
		l.append(Entry{Term: 1, Index: l.lastIndex() + 1})
	})
	require.Less(t, allocs, 0.5, "allocations per append to a 10,000-entry log")
}
