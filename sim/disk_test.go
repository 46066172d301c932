package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/minikv-go/minikv/raft"
	"github.com/stretchr/testify/require"
)

func entries(lo, hi, term uint64) []raft.Entry {
	var out []raft.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, raft.Entry{Index: i, Term: term, Data: []byte{byte(i)}})
	}
	return out
}

// A synced record survives a crash; an unsynced one does not.
func TestDiskCrashKeepsOnlySynced(t *testing.T) {
	var d disk
	d.write(encodeRecord(raft.HardState{Term: 1, Vote: 2}, entries(1, 3, 1)))
	d.sync()
	d.write(encodeRecord(raft.HardState{}, entries(4, 5, 1)))
	d.crash(rand.New(rand.NewPCG(1, 1)), false)
	st, _, err := loadState(d.recover())
	require.NoError(t, err)
	require.Equal(t, raft.HardState{Term: 1, Vote: 2}, st.HardState)
	require.Len(t, st.Entries, 3)
}

// A crash may tear the unsynced tail anywhere; recovery keeps every synced
// record, drops the torn one, and new records written after recovery are
// readable again (the torn bytes were cut off).
func TestDiskTornTailEveryOffset(t *testing.T) {
	var base disk
	base.write(encodeRecord(raft.HardState{Term: 1}, entries(1, 2, 1)))
	base.sync()
	base.write(encodeRecord(raft.HardState{Term: 2}, entries(3, 4, 2)))
	full := len(base.data)
	for cut := base.synced; cut <= full; cut++ {
		d := disk{data: append([]byte(nil), base.data[:cut]...), synced: base.synced}
		st, _, err := loadState(d.recover())
		require.NoError(t, err, "cut at %d", cut)
		if cut == full {
			require.Len(t, st.Entries, 4)
		} else {
			require.Len(t, st.Entries, 2, "cut at %d", cut)
		}
		d.write(encodeRecord(raft.HardState{Term: 3}, entries(uint64(len(st.Entries))+1, uint64(len(st.Entries))+1, 3)))
		d.sync()
		st2, _, err := loadState(d.recover())
		require.NoError(t, err)
		require.Len(t, st2.Entries, len(st.Entries)+1, "a record written after recovery must be readable (cut at %d)", cut)
		require.Equal(t, uint64(3), st2.HardState.Term)
	}
}

// A later record that starts inside the log replaces the suffix.
func TestLoadStateTruncatesConflictingSuffix(t *testing.T) {
	var d disk
	d.write(encodeRecord(raft.HardState{Term: 1}, entries(1, 5, 1)))
	d.write(encodeRecord(raft.HardState{Term: 2}, entries(3, 3, 2)))
	st, _, err := loadState(d.recover())
	require.NoError(t, err)
	require.Len(t, st.Entries, 3)
	require.Equal(t, uint64(2), st.Entries[2].Term)
}
