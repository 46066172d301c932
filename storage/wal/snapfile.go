package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoSnapshot is returned by SnapshotFiles.Latest when there is none.
var ErrNoSnapshot = errors.New("wal: no snapshot")

// SnapshotFiles keeps a state machine's snapshots in a directory, one file
// per snapshot named <index>-<term>.snap (16 hex digits each, so names sort
// by index). A file holds the snapshot stream followed by its crc32c (4
// bytes, little endian).
//
// The order that makes a snapshot durable: write the stream to a temp file,
// fsync it, rename it into place, fsync the directory (Commit) — only then
// record it in the WAL (WAL.SaveSnapshot), compact the log (WAL.Compact) and
// remove the older snapshot files (Prune). A crash at any point leaves the
// snapshot the WAL names on disk, never half a file under a .snap name; a
// leftover temp file is ignored and removed.
//
// Commit must not remove the older files itself: until the WAL records the
// new snapshot, recovery starts from the old one, and a peer may be sent it.
type SnapshotFiles struct {
	dir string
}

const (
	snapSuffix = ".snap"
	tmpSuffix  = ".snap.tmp"
)

// OpenSnapshotFiles opens (creating if needed) the snapshot directory dir
// and removes temp files a crash left behind.
func OpenSnapshotFiles(dir string) (*SnapshotFiles, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil {
				return nil, err
			}
		}
	}
	return &SnapshotFiles{dir: dir}, nil
}

func snapName(index, term uint64) string {
	return fmt.Sprintf("%016x-%016x%s", index, term, snapSuffix)
}

func parseSnapName(name string) (index, term uint64, ok bool) {
	base, found := strings.CutSuffix(name, snapSuffix)
	if !found || len(base) != 33 || base[16] != '-' {
		return 0, 0, false
	}
	i, err1 := strconv.ParseUint(base[:16], 16, 64)
	t, err2 := strconv.ParseUint(base[17:], 16, 64)
	return i, t, err1 == nil && err2 == nil
}

// SnapshotWriter streams one snapshot to a temp file. Call Commit to make it
// the latest snapshot, or Abort to throw it away.
type SnapshotWriter struct {
	sf          *SnapshotFiles
	index, term uint64
	f           *os.File
	bw          *bufio.Writer
	crc         hash.Hash32
	done        bool
}

// Create starts writing the snapshot at index (whose term is term).
func (sf *SnapshotFiles) Create(index, term uint64) (*SnapshotWriter, error) {
	f, err := os.CreateTemp(sf.dir, "*"+tmpSuffix)
	if err != nil {
		return nil, err
	}
	return &SnapshotWriter{sf: sf, index: index, term: term, f: f,
		bw: bufio.NewWriterSize(f, 256<<10), crc: crc32.New(castagnoli)}, nil
}

// Write appends p to the snapshot stream.
func (w *SnapshotWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("wal: snapshot writer already finished")
	}
	n, err := w.bw.Write(p)
	w.crc.Write(p[:n])
	return n, err
}

// Commit fsyncs the file, renames it to its final name and fsyncs the
// directory. When it returns nil the snapshot survives any crash. Older
// snapshots stay until Prune.
func (w *SnapshotWriter) Commit() error {
	if w.done {
		return errors.New("wal: snapshot writer already finished")
	}
	w.done = true
	tmp := w.f.Name()
	err := binary.Write(w.bw, binary.LittleEndian, w.crc.Sum32())
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(w.sf.dir, snapName(w.index, w.term))
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: commit snapshot %s: %w", final, err)
	}
	return syncDir(w.sf.dir)
}

// Abort throws the snapshot away.
func (w *SnapshotWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

type snapFile struct {
	index, term uint64
	name        string
}

func (sf *SnapshotFiles) list() ([]snapFile, error) {
	des, err := os.ReadDir(sf.dir)
	if err != nil {
		return nil, err
	}
	var out []snapFile
	for _, de := range des {
		if i, t, ok := parseSnapName(de.Name()); ok && de.Type().IsRegular() {
			out = append(out, snapFile{i, t, de.Name()})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].index < out[b].index })
	return out, nil
}

// Prune removes the snapshots older than index: call it once the WAL
// records the snapshot at index.
func (sf *SnapshotFiles) Prune(index uint64) error {
	files, err := sf.list()
	if err != nil {
		return err
	}
	removed := false
	for _, f := range files {
		if f.index < index {
			if err := os.Remove(filepath.Join(sf.dir, f.name)); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		return syncDir(sf.dir)
	}
	return nil
}

// Latest opens the snapshot with the highest index for reading. The reader
// checks the checksum as it reaches the end of the stream: a damaged file
// makes the final Read fail instead of returning io.EOF.
func (sf *SnapshotFiles) Latest() (index, term uint64, r io.ReadCloser, err error) {
	files, err := sf.list()
	if err != nil {
		return 0, 0, nil, err
	}
	if len(files) == 0 {
		return 0, 0, nil, ErrNoSnapshot
	}
	last := files[len(files)-1]
	r, _, err = sf.openFile(last.name)
	if err != nil {
		return 0, 0, nil, err
	}
	return last.index, last.term, r, nil
}

// Open opens the snapshot at index (whose term is term) for reading, and
// returns the size of its stream. Like Latest's, the reader checks the
// checksum at the end.
func (sf *SnapshotFiles) Open(index, term uint64) (io.ReadCloser, int64, error) {
	return sf.openFile(snapName(index, term))
}

func (sf *SnapshotFiles) openFile(name string) (io.ReadCloser, int64, error) {
	path := filepath.Join(sf.dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < 4 {
		err = fmt.Errorf("wal: snapshot %s: too short (%d bytes)", path, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	size := fi.Size() - 4
	return &snapReader{f: f, path: path,
		r: bufio.NewReaderSize(io.LimitReader(f, size), 256<<10), crc: crc32.New(castagnoli)}, size, nil
}

type snapReader struct {
	f    *os.File
	path string
	r    io.Reader
	crc  hash.Hash32
	ok   bool // the checksum was checked and matched
}

func (s *snapReader) Read(p []byte) (int, error) {
	if s.ok {
		return 0, io.EOF
	}
	n, err := s.r.Read(p)
	s.crc.Write(p[:n])
	if err == io.EOF {
		var sum [4]byte
		if _, rerr := io.ReadFull(s.f, sum[:]); rerr != nil {
			return n, fmt.Errorf("wal: snapshot %s: reading checksum: %w", s.path, rerr)
		}
		if binary.LittleEndian.Uint32(sum[:]) != s.crc.Sum32() {
			return n, fmt.Errorf("wal: snapshot %s: checksum mismatch", s.path)
		}
		s.ok = true
	}
	return n, err
}

func (s *snapReader) Close() error { return s.f.Close() }
