package kv

import (
	"fmt"
	"io"

	"github.com/minikv-go/minikv/storage"
)

// Snapshot is a consistent, point-in-time copy of the whole state: user
// data, sessions, the applied index and the clock. It is what a Raft
// snapshot of this state machine is made of. Close it when done: it pins
// the engine's state as of its creation.
type Snapshot struct {
	Index uint64 // the applied index it captures
	Clock int64  // the clock it captures
	snap  storage.Snapshot
}

// Snapshot captures the state as of the last Apply.
func (sm *StateMachine) Snapshot() (*Snapshot, error) {
	sm.mu.RLock()
	defer sm.mu.RUnlock()
	if err := sm.usable(); err != nil {
		return nil, err
	}
	s, err := sm.engine.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("kv: snapshot: %w", err)
	}
	return &Snapshot{Index: sm.applied.Load(), Clock: sm.clock.Load(), snap: s}, nil
}

// WriteTo writes the snapshot as a storage.Dump stream, which Restore reads.
// It returns the number of bytes written.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	if err := storage.Dump(s.snap, cw); err != nil {
		return cw.n, fmt.Errorf("kv: write snapshot %d: %w", s.Index, err)
	}
	return cw.n, nil
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.snap.Close() }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore replaces the whole state with a stream written by
// Snapshot.WriteTo. Afterwards Applied() is the snapshot's index and Now()
// its clock. Like Apply, it must not run concurrently with Apply; readers
// wait while it runs.
//
// Restore is not atomic: it clears the engine before loading the stream. If
// it fails (a broken stream, or one that is not a kv snapshot because it
// lacks the meta record) the state is unusable: Apply, reads and Snapshot
// return an error until a later Restore succeeds.
func (sm *StateMachine) Restore(r io.Reader) error {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if err := storage.Restore(sm.engine, r); err != nil {
		sm.broken = err
		return fmt.Errorf("kv: restore: %w", err)
	}
	m, err := loadMeta(sm.engine)
	if err != nil {
		sm.broken = err
		return fmt.Errorf("kv: restore: %w", err)
	}
	sm.broken = nil
	sm.applied.Store(m.applied)
	sm.clock.Store(m.clock)
	return nil
}
