package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/minikv-go/minikv/raft"
)

// DefaultSegmentBytes is the size past which the WAL starts a new segment.
const DefaultSegmentBytes = 64 << 20

// Options tune a WAL.
type Options struct {
	// SegmentBytes: once the current segment file is at least this large,
	// the next record goes to a new one. Zero means DefaultSegmentBytes.
	SegmentBytes int64
}

// CorruptError is returned by Open when a record that is not part of a torn
// tail is damaged: a bad record followed by intact ones, or any bad record
// in a segment other than the last. Such data was once synced and promised
// to others; the WAL refuses to guess rather than silently lose it.
type CorruptError struct {
	File   string // path of the segment file
	Offset int64  // byte offset of the damaged record in File
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt record in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// ErrClosed is returned by calls on a closed WAL.
var ErrClosed = errors.New("wal: closed")

type segment struct {
	seq   uint64 // 1, 2, 3, ... without gaps
	first uint64 // the log's last index + 1 when the segment was started
}

func (s segment) name() string { return fmt.Sprintf("%016x-%016x.wal", s.seq, s.first) }

func parseSegmentName(name string) (segment, bool) {
	base, ok := strings.CutSuffix(name, ".wal")
	if !ok || len(base) != 33 || base[16] != '-' {
		return segment{}, false
	}
	seq, err1 := strconv.ParseUint(base[:16], 16, 64)
	first, err2 := strconv.ParseUint(base[17:], 16, 64)
	if err1 != nil || err2 != nil {
		return segment{}, false
	}
	return segment{seq: seq, first: first}, true
}

// WAL is Raft's write-ahead log: hard states, entries and snapshot markers
// in a directory of segment files. Its methods may be called from several
// goroutines; they serialise on one mutex.
//
// # Group commit
//
// Save(hs, ents, true) writes and fsyncs one record. Save(hs, ents, false)
// only writes it (to the page cache); Sync then makes every record written
// since the last fsync durable with one fsync. The runner gets its batching
// from two places:
//
//   - Within one Raft group, every proposal that arrived while the previous
//     Ready was being persisted goes into the next Ready, so one Save (and
//     one fsync) carries many entries: the runner drains its proposal queue,
//     calls Propose for each, then takes one Ready.
//   - Across Readies (several Raft groups sharing a disk, or a pipelined
//     runner), the runner calls Save(..., false) for each Ready, then Sync
//     once, and only after Sync returns sends those Readies' messages (and
//     answers their clients). Nothing may leave the node before the Sync
//     that covers it: a vote or an append acknowledgement promises it is on
//     disk.
type WAL struct {
	mu      sync.Mutex
	dir     string
	opts    Options
	segs    []segment // oldest first; the last one is open for appending
	f       *os.File  // the last segment
	size    int64     // bytes in f
	dirty   bool      // bytes written since the last fsync
	st      logState  // what the records say, entries without data
	snapSeq uint64    // segment holding the first copy of the latest snapshot marker
	buf     []byte
	closed  bool
}

// Open opens the WAL in dir, creating dir and an empty WAL if needed, and
// returns what raft.New needs: the last hard state, the latest snapshot's
// metadata and the entries after it.
//
// A torn or corrupt tail of the last segment — an incomplete record, or a
// damaged record after which nothing intact follows — was never synced, so
// never promised: it is dropped and the file truncated to the last intact
// record. Any other damage returns a *CorruptError naming file and offset.
func Open(dir string, opts Options) (*WAL, raft.PersistentState, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, raft.PersistentState{}, err
	}
	w := &WAL{dir: dir, opts: opts}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, raft.PersistentState{}, err
	}
	var st logState
	var validEnd int64
	for i, s := range segs {
		last := i == len(segs)-1
		end, err := w.replaySegment(s, last, &st)
		if err != nil {
			return nil, raft.PersistentState{}, err
		}
		validEnd = end
	}
	ps, err := st.state()
	if err != nil {
		return nil, raft.PersistentState{}, err
	}
	if len(segs) == 0 {
		segs = []segment{{seq: 1, first: 1}}
		f, err := os.OpenFile(filepath.Join(dir, segs[0].name()), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, raft.PersistentState{}, err
		}
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, raft.PersistentState{}, err
		}
		w.f = f
	} else {
		path := filepath.Join(dir, segs[len(segs)-1].name())
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, raft.PersistentState{}, err
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() != validEnd {
			// Drop the torn tail, durably, before anything is appended
			// after it.
			err = f.Truncate(validEnd)
			if err == nil {
				err = f.Sync()
			}
		}
		if err != nil {
			f.Close()
			return nil, raft.PersistentState{}, fmt.Errorf("wal: truncating torn tail of %s: %w", path, err)
		}
		w.f, w.size = f, validEnd
	}
	w.segs = segs
	w.st = logState{hs: st.hs, snap: st.snap, ents: stripData(st.ents)}
	return w, ps, nil
}

func stripData(es []raft.Entry) []raft.Entry {
	out := make([]raft.Entry, len(es))
	for i, e := range es {
		out[i] = raft.Entry{Term: e.Term, Index: e.Index, Type: e.Type}
	}
	return out
}

func listSegments(dir string) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, de := range des {
		if s, ok := parseSegmentName(de.Name()); ok && de.Type().IsRegular() {
			segs = append(segs, s)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("wal: segment %d is missing between %s and %s in %s",
				segs[i-1].seq+1, segs[i-1].name(), segs[i].name(), dir)
		}
	}
	return segs, nil
}

// replaySegment applies the records of segment s to st and returns the
// offset just past its last intact record.
func (w *WAL) replaySegment(s segment, last bool, st *logState) (int64, error) {
	path := filepath.Join(w.dir, s.name())
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	off := 0
	for off < len(b) {
		typ, payload, size, ferr := readFrame(b[off:])
		if ferr != frameOK {
			// Where could the next record start? After a header that checks
			// out, right after its payload; after a damaged header, anywhere.
			next := off + 1
			if ferr == frameBadData {
				next = off + size
			}
			if !last {
				return 0, &CorruptError{File: path, Offset: int64(off), Reason: ferr.String() + " in a segment that is not the last"}
			}
			if at := intactFrameAt(b, next); at >= 0 && ferr != frameShortHeader && ferr != frameShortData {
				return 0, &CorruptError{File: path, Offset: int64(off),
					Reason: fmt.Sprintf("%s, followed by an intact record at offset %d", ferr, at)}
			}
			return int64(off), nil // torn tail
		}
		rec, err := decodeRecord(typ, payload)
		if err != nil {
			return 0, &CorruptError{File: path, Offset: int64(off), Reason: "undecodable record: " + err.Error()}
		}
		advanced, err := st.apply(rec)
		if err != nil {
			return 0, &CorruptError{File: path, Offset: int64(off), Reason: err.Error()}
		}
		if advanced {
			w.snapSeq = s.seq
		}
		off += size
	}
	return int64(off), nil
}

// Save appends one record holding hs (unless empty) and ents, which replace
// the log from ents[0].Index on — a conflicting suffix is cut, and stays cut
// after recovery. With sync it also fsyncs (everything written so far);
// without, the record is durable only after a later Sync or Save(..., true).
func (w *WAL) Save(hs raft.HardState, ents []raft.Entry, sync bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if hs.IsEmpty() && len(ents) == 0 {
		if sync {
			return w.syncLocked()
		}
		return nil
	}
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			return fmt.Errorf("wal: save: entry index %d follows %d", ents[i].Index, ents[i-1].Index)
		}
	}
	if len(ents) > 0 {
		if f, last := ents[0].Index, w.st.lastIndex(); f > last+1 || f <= w.st.snap.Index {
			return fmt.Errorf("wal: save: entries start at %d, but the log holds (%d, %d]", f, w.st.snap.Index, last)
		}
	}
	var typ byte = recEntries
	w.buf = append(w.buf[:0], make([]byte, headerSize)...) // room for the header
	if len(ents) == 0 {
		typ = recHardState
		w.buf = raft.AppendHardState(w.buf, hs)
	} else {
		w.buf = encodeEntries(w.buf, hs, ents)
	}
	if n := len(w.buf) - headerSize; n > maxPayload {
		return fmt.Errorf("wal: save: record of %d bytes is too large", n)
	}
	sealFrame(w.buf, typ)
	if err := w.writeLocked(w.buf); err != nil {
		return err
	}
	if len(ents) > 0 {
		_ = w.st.appendEntries(stripData(ents)) // checked above
	}
	if !hs.IsEmpty() {
		w.st.hs = hs
	}
	if sync {
		return w.syncLocked()
	}
	return nil
}

// Sync makes every record written so far durable with one fsync.
func (w *WAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.syncLocked()
}

// SaveSnapshot records, durably, that the state machine's snapshot at
// meta.Index is safe on disk (write the snapshot file first, see
// SnapshotFiles). Recovery then starts from it: entries up to meta.Index are
// dropped, and if the log does not hold meta.Index with meta.Term (a
// snapshot installed from the leader), the whole log is. Compact can then
// remove the segments the snapshot made useless.
func (w *WAL) SaveSnapshot(meta raft.SnapshotMeta) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if meta.Index <= w.st.snap.Index {
		return nil // nothing new
	}
	if err := w.writeLocked(appendFrame(nil, recSnapshot, raft.AppendSnapshotMeta(nil, meta))); err != nil {
		return err
	}
	if err := w.syncLocked(); err != nil {
		return err
	}
	w.st.applySnapshot(meta)
	w.snapSeq = w.segs[len(w.segs)-1].seq
	return nil
}

// Compact removes the oldest segments that only hold entries at or below
// index, which must not exceed the latest snapshot saved with SaveSnapshot.
// A runner that keeps some entries for slow followers passes a lower index.
// The current segment is never removed; a segment is removable once a later
// one has started, so small compactions wait for the next roll.
func (w *WAL) Compact(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if index > w.st.snap.Index {
		return fmt.Errorf("wal: compact to %d: the latest snapshot is at %d", index, w.st.snap.Index)
	}
	n := 0
	// Segment k holds only entries ≤ segs[k+1].first-1. It may go if that
	// is ≤ index and a later segment holds the snapshot marker (every
	// segment starts with the hard state, so none is needed for that).
	for n+1 < len(w.segs) && w.segs[n+1].first-1 <= index && w.segs[n].seq < w.snapSeq {
		n++
	}
	if n == 0 {
		return nil
	}
	if err := w.syncLocked(); err != nil {
		return err
	}
	for k := 0; k < n; k++ { // oldest first: a crash leaves a suffix
		if err := os.Remove(filepath.Join(w.dir, w.segs[k].name())); err != nil {
			return fmt.Errorf("wal: compact: %w", err)
		}
	}
	w.segs = append([]segment(nil), w.segs[n:]...)
	return syncDir(w.dir)
}

// Close syncs and closes the WAL.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	err := w.syncLocked()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Segments returns the names of the segment files, oldest first.
func (w *WAL) Segments() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, len(w.segs))
	for i, s := range w.segs {
		names[i] = s.name()
	}
	return names
}

func (w *WAL) syncLocked() error {
	if !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and a retry can falsely succeed: never trust this file again.
		w.closed = true
		w.f.Close()
		return fmt.Errorf("wal: fsync: %w (the WAL is closed; reopen to recover)", err)
	}
	w.dirty = false
	return nil
}

// writeLocked appends one framed record to the current segment, first
// rolling to a new segment if this one is full.
func (w *WAL) writeLocked(frame []byte) error {
	if w.size >= w.opts.SegmentBytes {
		if err := w.rollLocked(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(frame)
	w.size += int64(n)
	w.dirty = w.dirty || n > 0
	if err != nil {
		// A partial record is a torn tail for recovery, but appending after
		// it would turn it into corruption in the middle: stop here.
		w.closed = true
		w.f.Close()
		return fmt.Errorf("wal: write: %w (the WAL is closed; reopen to recover)", err)
	}
	return nil
}

// rollLocked fsyncs the current segment and starts the next one, beginning
// with the latest snapshot marker and hard state so that it does not need
// the segments before it for those.
func (w *WAL) rollLocked() error {
	if err := w.syncLocked(); err != nil {
		return err
	}
	s := segment{seq: w.segs[len(w.segs)-1].seq + 1, first: w.st.lastIndex() + 1}
	f, err := os.OpenFile(filepath.Join(w.dir, s.name()), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("wal: new segment: %w", err)
	}
	var head []byte
	if w.st.snap.Index > 0 {
		head = appendFrame(head, recSnapshot, raft.AppendSnapshotMeta(nil, w.st.snap))
	}
	if !w.st.hs.IsEmpty() {
		head = appendFrame(head, recHardState, raft.AppendHardState(nil, w.st.hs))
	}
	if _, err := f.Write(head); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(w.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(filepath.Join(w.dir, s.name()))
		return fmt.Errorf("wal: new segment: %w", err)
	}
	w.f.Close()
	w.f, w.size, w.dirty = f, int64(len(head)), false
	w.segs = append(w.segs, s)
	return nil
}

// syncDir fsyncs a directory, so that files created, renamed or removed in
// it stay so after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: fsync directory %s: %w", dir, err)
	}
	return nil
}

var _ io.Closer = (*WAL)(nil)
