package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minikv-go/minikv/raft"
)

func mkEnts(from, to, term uint64) []raft.Entry {
	var es []raft.Entry
	for i := from; i <= to; i++ {
		es = append(es, raft.Entry{Term: term, Index: i, Data: []byte(fmt.Sprintf("e%d/t%d", i, term))})
	}
	return es
}

func open(t *testing.T, dir string, opts Options) (*WAL, raft.PersistentState) {
	t.Helper()
	w, st, err := Open(dir, opts)
	require.NoError(t, err)
	return w, st
}

func reopen(t *testing.T, w *WAL, dir string, opts Options) (*WAL, raft.PersistentState) {
	t.Helper()
	require.NoError(t, w.Close())
	return open(t, dir, opts)
}

func requireState(t *testing.T, want, got raft.PersistentState) {
	t.Helper()
	if len(want.Entries) == 0 {
		want.Entries = nil
	}
	if len(got.Entries) == 0 {
		got.Entries = nil
	}
	require.Equal(t, want, got)
}

func TestOpenEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, st := open(t, dir, Options{})
	requireState(t, raft.PersistentState{}, st)
	w, st = reopen(t, w, dir, Options{})
	requireState(t, raft.PersistentState{}, st)
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Save(raft.HardState{Term: 1}, nil, true), ErrClosed)
}

func TestRoundTripAndOverwrite(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	hs := raft.HardState{Term: 1, Vote: 2, Commit: 0}
	require.NoError(t, w.Save(hs, mkEnts(1, 5, 1), true))
	w, st := reopen(t, w, dir, Options{})
	requireState(t, raft.PersistentState{HardState: hs, Entries: mkEnts(1, 5, 1)}, st)

	// A new leader's entries replace the conflicting suffix from 3 on; the
	// cut must survive recovery even though the new log is shorter.
	hs2 := raft.HardState{Term: 2, Vote: 3, Commit: 2}
	require.NoError(t, w.Save(hs2, mkEnts(3, 4, 2), true))
	// A hard state alone (commit moved).
	hs3 := raft.HardState{Term: 2, Vote: 3, Commit: 4}
	require.NoError(t, w.Save(hs3, nil, true))
	want := raft.PersistentState{HardState: hs3, Entries: append(mkEnts(1, 2, 1), mkEnts(3, 4, 2)...)}
	w, st = reopen(t, w, dir, Options{})
	requireState(t, want, st)

	// Appending continues after recovery.
	require.NoError(t, w.Save(raft.HardState{}, mkEnts(5, 6, 2), true))
	want.Entries = append(want.Entries, mkEnts(5, 6, 2)...)
	w, st = reopen(t, w, dir, Options{})
	requireState(t, want, st)
	require.NoError(t, w.Close())
}

func TestCommitClampedToLog(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	require.NoError(t, w.Save(raft.HardState{Term: 1, Commit: 9}, mkEnts(1, 3, 1), true))
	_, st := reopen(t, w, dir, Options{})
	require.Equal(t, uint64(3), st.HardState.Commit)
}

func TestSaveRejectsGap(t *testing.T) {
	w, _ := open(t, t.TempDir(), Options{})
	defer w.Close()
	require.NoError(t, w.Save(raft.HardState{Term: 1}, mkEnts(1, 3, 1), false))
	require.Error(t, w.Save(raft.HardState{}, mkEnts(5, 6, 1), false))
	require.Error(t, w.Save(raft.HardState{}, []raft.Entry{{Index: 4}, {Index: 6}}, false))
}

func TestSegmentsRoll(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 300}
	w, _ := open(t, dir, opts)
	var want raft.PersistentState
	for i := uint64(1); i <= 60; i++ {
		want.HardState = raft.HardState{Term: 1 + i/20, Vote: 1, Commit: i - 1}
		es := mkEnts(i, i, 1+i/20)
		if i%15 == 0 { // overwrite the last two entries across a boundary now and then
			es = mkEnts(i-2, i, 1+i/20)
		}
		require.NoError(t, w.Save(want.HardState, es, i%3 == 0))
		want.Entries = append(want.Entries[:es[0].Index-1], es...)
	}
	segs := w.Segments()
	require.Greater(t, len(segs), 5)
	require.True(t, slices.IsSorted(segs))
	w, st := reopen(t, w, dir, opts)
	requireState(t, want, st)
	// Reopening with a different segment size changes nothing.
	w, st = reopen(t, w, dir, Options{})
	requireState(t, want, st)
	require.NoError(t, w.Close())
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{SegmentBytes: 1 << 10})
	var want raft.PersistentState
	for i := uint64(1); i <= 64; i++ {
		want.HardState = raft.HardState{Term: 1, Vote: 1, Commit: i}
		require.NoError(t, w.Save(want.HardState, mkEnts(i, i, 1), false))
	}
	want.Entries = mkEnts(1, 64, 1)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Sync()) // nothing new: no fsync
	_, st := reopen(t, w, dir, Options{})
	requireState(t, want, st)
}

// writeRecords saves a sequence with an overwrite and a hard-state-only
// record into one segment, returning the segment path, the file size after
// each record and the expected state after each number of records.
func writeRecords(t *testing.T, dir string) (string, []int64, []raft.PersistentState) {
	w, _ := open(t, dir, Options{})
	path := filepath.Join(dir, w.Segments()[0])
	var cur raft.PersistentState
	states := []raft.PersistentState{cur}
	bounds := []int64{0}
	save := func(hs raft.HardState, es []raft.Entry) {
		require.NoError(t, w.Save(hs, es, true))
		if !hs.IsEmpty() {
			cur.HardState = hs
		}
		if len(es) > 0 {
			cur.Entries = append(slices.Clone(cur.Entries[:es[0].Index-1]), es...)
		}
		cur.HardState.Commit = min(cur.HardState.Commit, uint64(len(cur.Entries)))
		states = append(states, cur)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		bounds = append(bounds, fi.Size())
	}
	save(raft.HardState{Term: 1, Vote: 1}, mkEnts(1, 3, 1))
	save(raft.HardState{Term: 1, Vote: 1, Commit: 2}, mkEnts(4, 4, 1))
	save(raft.HardState{Term: 2, Vote: 2, Commit: 2}, mkEnts(3, 4, 2)) // cut 3..4
	save(raft.HardState{Term: 2, Vote: 2, Commit: 4}, nil)
	save(raft.HardState{}, mkEnts(5, 5, 2))
	require.NoError(t, w.Close())
	return path, bounds, states
}

// TestTornTailEveryOffset cuts the segment at every byte offset within the
// last few records: recovery must return exactly the complete records, and
// a record appended after recovery must be readable on the next open.
func TestTornTailEveryOffset(t *testing.T) {
	path, bounds, states := writeRecords(t, t.TempDir())
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	n := len(bounds) - 1
	for cut := bounds[n-3]; cut <= bounds[n]; cut++ {
		complete := 0
		for complete < n && bounds[complete+1] <= cut {
			complete++
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(path)), full[:cut], 0o640))
		w, st, err := Open(dir, Options{})
		require.NoError(t, err, "cut at %d", cut)
		requireState(t, states[complete], st)

		want := states[complete]
		next := uint64(len(want.Entries)) + 1
		want.HardState = raft.HardState{Term: 7, Vote: 3, Commit: next}
		want.Entries = append(slices.Clone(want.Entries), mkEnts(next, next, 7)...)
		require.NoError(t, w.Save(want.HardState, mkEnts(next, next, 7), true))
		require.NoError(t, w.Close())
		w, st, err = Open(dir, Options{})
		require.NoError(t, err, "cut at %d, after append", cut)
		requireState(t, want, st)
		require.NoError(t, w.Close())
	}
}

// TestTornTailZeros: a crash can leave the file longer than what was written,
// filled with zeros; that is a torn tail too.
func TestTornTailZeros(t *testing.T) {
	dir := t.TempDir()
	path, bounds, states := writeRecords(t, dir)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 4096))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	w, st := open(t, dir, Options{})
	requireState(t, states[len(states)-1], st)
	require.NoError(t, w.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, bounds[len(bounds)-1], fi.Size(), "the tail is truncated")
}

// TestCorruptMiddle flips every byte of an earlier record in turn: Open must
// refuse with an error naming the file and the record's offset.
func TestCorruptMiddle(t *testing.T) {
	path, bounds, _ := writeRecords(t, t.TempDir())
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, rec := range []int{0, 2} {
		for at := bounds[rec]; at < bounds[rec+1]; at++ {
			dir := t.TempDir()
			bad := slices.Clone(full)
			bad[at] ^= 0x41
			p := filepath.Join(dir, filepath.Base(path))
			require.NoError(t, os.WriteFile(p, bad, 0o640))
			_, _, err := Open(dir, Options{})
			var ce *CorruptError
			require.True(t, errors.As(err, &ce), "flip at %d: got %v", at, err)
			require.Equal(t, p, ce.File)
			require.Equal(t, bounds[rec], ce.Offset, "flip at %d", at)
			require.Contains(t, err.Error(), p)
		}
	}
	// The same flip in the last record is a torn tail: dropped.
	dir := t.TempDir()
	path2, bounds2, states2 := writeRecords(t, dir)
	bad, err := os.ReadFile(path2)
	require.NoError(t, err)
	bad[bounds2[len(bounds2)-2]+20] ^= 0x41
	require.NoError(t, os.WriteFile(path2, bad, 0o640))
	w, st := open(t, dir, Options{})
	requireState(t, states2[len(states2)-2], st)
	require.NoError(t, w.Close())
}

func TestCorruptEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 200}
	w, _ := open(t, dir, opts)
	for i := uint64(1); i <= 30; i++ {
		require.NoError(t, w.Save(raft.HardState{Term: 1, Commit: i}, mkEnts(i, i, 1), false))
	}
	segs := w.Segments()
	require.NoError(t, w.Close())
	require.Greater(t, len(segs), 3)

	// A torn tail in a segment that is not the last is corruption.
	p := filepath.Join(dir, segs[1])
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(p, fi.Size()-1))
	_, _, err = Open(dir, opts)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce), "got %v", err)
	require.Equal(t, p, ce.File)

	// A missing segment is refused too.
	require.NoError(t, os.Remove(p))
	_, _, err = Open(dir, opts)
	require.ErrorContains(t, err, "missing")
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 256}
	w, _ := open(t, dir, opts)
	hs := raft.HardState{Term: 3, Vote: 1}
	require.NoError(t, w.Save(hs, nil, false)) // only in the first segment
	all := mkEnts(1, 200, 3)
	for i := range all {
		require.NoError(t, w.Save(raft.HardState{}, all[i:i+1], false))
	}
	before := len(w.Segments())
	require.Error(t, w.Compact(150), "no snapshot yet")

	meta := raft.SnapshotMeta{Index: 150, Term: 3, Conf: raft.ConfState{Voters: []uint64{1, 2, 3}}}
	require.NoError(t, w.SaveSnapshot(meta))
	require.NoError(t, w.Compact(150))
	after := w.Segments()
	require.Less(t, len(after), before/2, "old segments removed")
	hs.Commit = 150
	want := raft.PersistentState{HardState: hs, Snapshot: meta, Entries: all[150:]}
	w, st := reopen(t, w, dir, opts)
	requireState(t, want, st)
	require.Equal(t, after, w.Segments())

	// Keep going after a compacted reopen: more entries, another snapshot.
	more := mkEnts(201, 260, 4)
	for i := range more {
		require.NoError(t, w.Save(raft.HardState{Term: 4, Vote: 2, Commit: more[i].Index}, more[i:i+1], i%10 == 0))
	}
	meta2 := raft.SnapshotMeta{Index: 240, Term: 4, Conf: meta.Conf}
	require.NoError(t, w.SaveSnapshot(meta2))
	require.NoError(t, w.Compact(230)) // keep some entries for slow followers
	want = raft.PersistentState{HardState: raft.HardState{Term: 4, Vote: 2, Commit: 260}, Snapshot: meta2, Entries: more[40:]}
	w, st = reopen(t, w, dir, opts)
	requireState(t, want, st)
	require.NoError(t, w.Close())
}

// TestInstalledSnapshot: a snapshot from the leader that the log does not
// match replaces the whole log.
func TestInstalledSnapshot(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	require.NoError(t, w.Save(raft.HardState{Term: 1, Vote: 1}, mkEnts(1, 10, 1), true))
	meta := raft.SnapshotMeta{Index: 20, Term: 3, Conf: raft.ConfState{Voters: []uint64{1, 2}}}
	require.NoError(t, w.SaveSnapshot(meta))
	require.NoError(t, w.Save(raft.HardState{Term: 3, Commit: 20}, mkEnts(21, 22, 3), true))
	w, st := reopen(t, w, dir, Options{})
	requireState(t, raft.PersistentState{HardState: raft.HardState{Term: 3, Commit: 20}, Snapshot: meta, Entries: mkEnts(21, 22, 3)}, st)

	// A snapshot inside the log whose term does not match drops the log too.
	meta2 := raft.SnapshotMeta{Index: 21, Term: 4}
	require.NoError(t, w.SaveSnapshot(meta2))
	w, st = reopen(t, w, dir, Options{})
	requireState(t, raft.PersistentState{HardState: raft.HardState{Term: 3, Commit: 21}, Snapshot: meta2}, st)
	require.NoError(t, w.Close())
}

func FuzzDecodeFrames(f *testing.F) {
	var b []byte
	b = appendFrame(b, recHardState, raft.AppendHardState(nil, raft.HardState{Term: 1, Vote: 2, Commit: 3}))
	b = appendFrame(b, recEntries, encodeEntries(nil, raft.HardState{Term: 1}, mkEnts(1, 3, 1)))
	b = appendFrame(b, recSnapshot, raft.AppendSnapshotMeta(nil, raft.SnapshotMeta{Index: 2, Term: 1, Conf: raft.ConfState{Voters: []uint64{1}}}))
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add(encodeEntries(nil, raft.HardState{}, mkEnts(4, 5, 2)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeFrames(data)
		if n < 0 || n > len(data) || (err == nil && n != len(data)) {
			t.Fatalf("DecodeFrames = %d, %v for %d bytes", n, err, len(data))
		}
		_ = intactFrameAt(data, 0)
		// The checksums keep random bytes out of the decoders; feed them
		// directly too.
		for typ := byte(0); typ <= 4; typ++ {
			var st logState
			if r, err := decodeRecord(typ, data); err == nil {
				_, _ = st.apply(r)
			}
		}
	})
}

// TestTornLastSegmentEveryOffset cuts the last of several segments at every
// offset, down to an empty file (a crash right after a roll): recovery keeps
// everything in the earlier segments and a prefix of the last one.
func TestTornLastSegmentEveryOffset(t *testing.T) {
	src := t.TempDir()
	opts := Options{SegmentBytes: 300}
	w, _ := open(t, src, opts)
	all := mkEnts(1, 40, 2)
	for i := range all {
		require.NoError(t, w.Save(raft.HardState{Term: 2, Vote: 1, Commit: uint64(i)}, all[i:i+1], false))
	}
	segs := w.Segments()
	require.NoError(t, w.Close())
	require.Greater(t, len(segs), 2)
	lastSeg, ok := parseSegmentName(segs[len(segs)-1])
	require.True(t, ok)
	files := map[string][]byte{}
	for _, s := range segs {
		b, err := os.ReadFile(filepath.Join(src, s))
		require.NoError(t, err)
		files[s] = b
	}
	last := files[segs[len(segs)-1]]
	for cut := 0; cut <= len(last); cut++ {
		dir := t.TempDir()
		for name, b := range files {
			if name == segs[len(segs)-1] {
				b = b[:cut]
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o640))
		}
		w, st, err := Open(dir, opts)
		require.NoError(t, err, "cut at %d", cut)
		n := len(st.Entries)
		require.GreaterOrEqual(t, uint64(n), lastSeg.first-1, "cut at %d", cut)
		require.Equal(t, all[:n], st.Entries)
		require.Equal(t, uint64(2), st.HardState.Term)
		es := mkEnts(uint64(n)+1, uint64(n)+1, 5)
		require.NoError(t, w.Save(raft.HardState{Term: 5}, es, true))
		require.NoError(t, w.Close())
		w, st, err = Open(dir, opts)
		require.NoError(t, err)
		require.Equal(t, append(slices.Clone(all[:n]), es...), st.Entries)
		require.NoError(t, w.Close())
	}
}

// frameBounds returns the offset of every record in a segment file's bytes,
// followed by the file's length.
func frameBounds(t *testing.T, b []byte) []int64 {
	t.Helper()
	bounds := []int64{0}
	for off := 0; off < len(b); {
		_, _, size, ferr := readFrame(b[off:])
		require.Equal(t, frameOK, ferr, "at %d", off)
		off += size
		bounds = append(bounds, int64(off))
	}
	return bounds
}

// TestDamageBeforeIntactRecordsInLastSegment is the rule that tells a torn
// write from corruption, in the one segment where a torn write can happen:
// the last. A crash only damages the end of what was written, so a damaged
// record with an intact, checksummed record after it was once whole and
// written before data that reached the disk: most likely synced and
// promised, and now gone bad. Open must refuse it, naming the file and the
// damaged record, and leave the file as it was, rather than truncate the
// damaged record and the intact ones after it. The same damage in the final
// record is a torn tail and is dropped.
func TestDamageBeforeIntactRecordsInLastSegment(t *testing.T) {
	src := t.TempDir()
	opts := Options{SegmentBytes: 400}
	w, _ := open(t, src, opts)
	all := mkEnts(1, 40, 3)
	for i := range all {
		require.NoError(t, w.Save(raft.HardState{Term: 3, Vote: 1, Commit: uint64(i)}, all[i:i+1], i%4 == 0))
	}
	segs := w.Segments()
	require.NoError(t, w.Close())
	require.Greater(t, len(segs), 2)
	files := map[string][]byte{}
	for _, s := range segs {
		b, err := os.ReadFile(filepath.Join(src, s))
		require.NoError(t, err)
		files[s] = b
	}
	lastName := segs[len(segs)-1]
	last := files[lastName]
	bounds := frameBounds(t, last)
	nrec := len(bounds) - 1
	require.GreaterOrEqual(t, nrec, 4, "the last segment needs records to damage")

	// try writes the WAL with the last segment replaced by seg and opens it.
	try := func(seg []byte) (string, raft.PersistentState, error) {
		dir := t.TempDir()
		for name, b := range files {
			if name == lastName {
				b = seg
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o640))
		}
		w, st, err := Open(dir, opts)
		if err == nil {
			require.NoError(t, w.Close())
		}
		return filepath.Join(dir, lastName), st, err
	}
	damages := []struct {
		name   string
		damage func(b []byte, start, end int64)
	}{
		{"flip header byte", func(b []byte, start, _ int64) { b[start+2] ^= 0x10 }},
		{"flip payload byte", func(b []byte, _, end int64) { b[end-1] ^= 0x10 }},
		{"zeroed record", func(b []byte, start, end int64) { clear(b[start:end]) }},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			for rec := 0; rec < nrec; rec++ {
				start, end := bounds[rec], bounds[rec+1]
				bad := slices.Clone(last)
				d.damage(bad, start, end)
				path, st, err := try(bad)
				if rec == nrec-1 {
					// Nothing intact after it: a torn tail, dropped and cut off.
					require.NoError(t, err, "damaged final record")
					require.Equal(t, all[:len(st.Entries)], st.Entries)
					require.Equal(t, uint64(len(all)-1), uint64(len(st.Entries)), "only the final record is lost")
					fi, err := os.Stat(path)
					require.NoError(t, err)
					require.Equal(t, start, fi.Size(), "the torn tail is truncated")
					continue
				}
				if err == nil {
					after, rerr := os.ReadFile(path)
					require.NoError(t, rerr)
					t.Fatalf("record %d of %d in the last segment damaged, intact records after it: Open accepted it, "+
						"recovered %d of %d entries and cut the segment from %d to %d bytes",
						rec, nrec, len(st.Entries), len(all), len(bad), len(after))
				}
				var ce *CorruptError
				require.True(t, errors.As(err, &ce), "record %d of %d: got %v", rec, nrec, err)
				require.Equal(t, path, ce.File)
				require.Equal(t, start, ce.Offset, "record %d", rec)
				require.Contains(t, ce.Reason, "followed by an intact record")
				after, rerr := os.ReadFile(path)
				require.NoError(t, rerr)
				require.Equal(t, bad, after, "a refused Open must not truncate or rewrite the segment")
			}
		})
	}
	// A crash after the damage adds a torn record at the end: the intact
	// records between the damage and the torn tail still prove corruption.
	t.Run("damage, intact, then torn", func(t *testing.T) {
		bad := slices.Clone(last[:bounds[nrec]-5])
		bad[bounds[1]+headerSize] ^= 0x01
		_, st, err := try(bad)
		if err == nil {
			t.Fatalf("record 1 damaged, intact records, then a torn one: Open accepted it and recovered %d of %d entries",
				len(st.Entries), len(all))
		}
		var ce *CorruptError
		require.True(t, errors.As(err, &ce), "got %v", err)
		require.Equal(t, bounds[1], ce.Offset)
	})
}
