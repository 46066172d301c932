package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage/wal"
)

// Durable is implemented by a state machine that keeps what it applied
// across a crash once Sync returns: one on an on-disk engine, which
// persists the applied index with the data.
//
// Such a state machine needs no snapshot file for its own restarts, so the
// runner takes its snapshots without writing the state out: it captures a
// point-in-time view (cheap: an engine snapshot), syncs the state machine,
// records the snapshot in the WAL and keeps the view open. A snapshot file
// is written from the view only when a follower needs one. A snapshot of a
// large store costs one fsync instead of a copy of the store.
type Durable interface {
	Sync() error
}

// views holds the point-in-time views of a durable state machine's recent
// snapshots, by index, until the log moves past them. It is the
// transport's SnapshotStore: Open streams the snapshot file, writing it
// from the view first if there is none. The loop adds and drops views; the
// transport's goroutines write files from them.
type views struct {
	files   *wal.SnapshotFiles
	metrics *Metrics

	mu      sync.Mutex
	byIndex map[uint64]*view
	closed  atomic.Bool // Stop: a file being written gives up

	writing sync.Mutex // one file written at a time
}

type view struct {
	meta    raft.SnapshotMeta
	snap    Snapshot
	users   int  // files being written from it
	dropped bool // closed once the last user is done
}

func newViews(files *wal.SnapshotFiles, m *Metrics) *views {
	return &views{files: files, metrics: m, byIndex: map[uint64]*view{}}
}

// add keeps snap as the view of the snapshot meta describes.
func (vs *views) add(meta raft.SnapshotMeta, snap Snapshot) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if old := vs.byIndex[meta.Index]; old != nil {
		vs.dropLocked(old)
	}
	vs.byIndex[meta.Index] = &view{meta: meta, snap: snap}
}

// has reports whether there is a view of the snapshot meta describes.
func (vs *views) has(meta raft.SnapshotMeta) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.byIndex[meta.Index]
	return v != nil && v.meta.Term == meta.Term
}

// dropBelow closes the views of snapshots before index: no MsgSnap will
// name them again.
func (vs *views) dropBelow(index uint64) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	for i, v := range vs.byIndex {
		if i < index {
			vs.dropLocked(v)
		}
	}
}

// closeAll closes every view (the node stops); a file being written from
// one stops at its next write.
func (vs *views) closeAll() {
	vs.closed.Store(true)
	vs.dropBelow(^uint64(0))
}

func (vs *views) dropLocked(v *view) {
	delete(vs.byIndex, v.meta.Index)
	v.dropped = true
	if v.users == 0 {
		v.snap.Close()
	}
}

// acquire returns the view of meta, which the caller must release.
func (vs *views) acquire(meta raft.SnapshotMeta) (*view, bool) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.byIndex[meta.Index]
	if v == nil || v.meta.Term != meta.Term {
		return nil, false
	}
	v.users++
	return v, true
}

func (vs *views) release(v *view) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v.users--
	if v.dropped && v.users == 0 {
		v.snap.Close()
	}
}

// Open implements transport.SnapshotStore.
func (vs *views) Open(meta raft.SnapshotMeta) (io.ReadCloser, int64, error) {
	rc, size, err := vs.files.Open(meta.Index, meta.Term)
	if !errors.Is(err, fs.ErrNotExist) {
		return rc, size, err
	}
	if err := vs.writeFile(meta); err != nil {
		return nil, 0, err
	}
	return vs.files.Open(meta.Index, meta.Term)
}

// writeFile writes the snapshot file of meta from its view.
func (vs *views) writeFile(meta raft.SnapshotMeta) error {
	vs.writing.Lock()
	defer vs.writing.Unlock()
	if rc, _, err := vs.files.Open(meta.Index, meta.Term); err == nil {
		return rc.Close() // written for another follower meanwhile
	}
	v, ok := vs.acquire(meta)
	if !ok {
		return fmt.Errorf("runner: snapshot %d (term %d): no file and no view to write one from", meta.Index, meta.Term)
	}
	defer vs.release(v)
	w, err := vs.files.Create(meta.Index, meta.Term)
	if err != nil {
		return err
	}
	size, err := v.snap.WriteTo(stopWriter{w, &vs.closed})
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	vs.metrics.snapshotFileWritten(size)
	return nil
}

// Receive implements transport.SnapshotStore: a snapshot from the leader
// is written to its file before the core hears of it.
func (vs *views) Receive(meta raft.SnapshotMeta, r io.Reader) error {
	w, err := vs.files.Create(meta.Index, meta.Term)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

var errStopping = errors.New("runner: the node is stopping")

// stopWriter fails once the node stops, so that writing a large snapshot
// file does not hold up Stop.
type stopWriter struct {
	w       io.Writer
	stopped *atomic.Bool
}

func (s stopWriter) Write(p []byte) (int, error) {
	if s.stopped.Load() {
		return 0, errStopping
	}
	return s.w.Write(p)
}
