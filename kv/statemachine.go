package kv

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

// StateMachine is the replicated KV state machine over one storage engine.
//
// Apply (and Restore) must be called by one goroutine at a time. The reads
// (Get, Scan, NextExpiry, Snapshot, Digest) and Applied and Now may be called
// concurrently with it from any goroutine.
type StateMachine struct {
	engine storage.Engine
	limits Limits

	// mu makes every read see the engine and the clock of the same Apply:
	// Apply holds it for writing only around its one engine write (and the
	// fsync, when asked for), Restore for its whole length, and readers hold
	// it for reading while they look at the engine.
	mu     sync.RWMutex
	broken error // set by a failed Restore: nothing works until a good one

	// applied and clock change only with mu held for writing; they are
	// atomics so that Applied and Now never wait.
	applied atomic.Uint64
	clock   atomic.Int64
}

// New returns a state machine over e with the given limits (zero fields take
// their defaults). It reads the applied index and the clock that e holds, so
// a durable engine restarts where it stopped; an empty engine starts at 0 and
// gets its meta record written. New does not take ownership of e: the caller
// closes it after it is done with the state machine.
func New(e storage.Engine, limits Limits) (*StateMachine, error) {
	limits = limits.withDefaults()
	if err := limits.validate(); err != nil {
		return nil, err
	}
	sm := &StateMachine{engine: e, limits: limits}
	m, err := loadMeta(e)
	if errors.Is(err, errNoMeta) {
		if err := requireEmpty(e); err != nil {
			return nil, err
		}
		var b storage.Batch
		b.Put(metaKey, meta{}.encode())
		if err := e.Apply(&b, true); err != nil {
			return nil, fmt.Errorf("kv: new: write meta record: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("kv: new: %w", err)
	}
	sm.applied.Store(m.applied)
	sm.clock.Store(m.clock)
	return sm, nil
}

// Limits returns the limits in force, defaults filled in.
func (sm *StateMachine) Limits() Limits { return sm.limits }

var errNoMeta = errors.New("kv: no meta record (not a kv state)")

func loadMeta(r storage.Reader) (meta, error) {
	v, err := r.Get(metaKey)
	if errors.Is(err, storage.ErrNotFound) {
		return meta{}, errNoMeta
	}
	if err != nil {
		return meta{}, fmt.Errorf("kv: read meta record: %w", err)
	}
	return decodeMeta(v)
}

// requireEmpty refuses an engine that holds data but no meta record: it was
// written by something else, and kv would misread it.
func requireEmpty(e storage.Reader) error {
	it, err := e.Iter(storage.IterOptions{Limit: 1})
	if err != nil {
		return fmt.Errorf("kv: new: %w", err)
	}
	defer it.Close()
	if it.Next() {
		return fmt.Errorf("kv: new: engine holds data but no kv meta record (key %x)", it.Key())
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("kv: new: %w", err)
	}
	return nil
}

// Applied returns the index of the last applied entry.
func (sm *StateMachine) Applied() uint64 { return sm.applied.Load() }

// Durable reports whether the engine keeps its writes across a restart
// once Sync returns (bolt, pebble; not the memory engine).
func (sm *StateMachine) Durable() bool {
	_, ok := sm.engine.(storage.Syncer)
	return ok
}

// Sync makes everything applied so far durable, writes applied without
// sync included, so that a restart finds the engine at Applied() or later.
// It fails on an engine that is not Durable.
func (sm *StateMachine) Sync() error {
	s, ok := sm.engine.(storage.Syncer)
	if !ok {
		return errors.New("kv: sync: the engine keeps nothing across a restart")
	}
	if err := s.Sync(); err != nil {
		return fmt.Errorf("kv: sync: %w", err)
	}
	return nil
}

// Now returns the state machine's clock: the largest command Time applied,
// in Unix nanoseconds.
func (sm *StateMachine) Now() int64 { return sm.clock.Load() }

// usable returns the error of a failed Restore, if any. mu must be held.
func (sm *StateMachine) usable() error {
	if sm.broken != nil {
		return fmt.Errorf("kv: state unusable after a failed restore: %w", sm.broken)
	}
	return nil
}

// Apply applies committed entries, which must follow the applied index
// without a gap, and returns one Result per entry.
//
// The writes of all the entries, the expiry sweeps and the new applied index
// go to the engine in one batch, in one engine Apply call with the given
// sync, so readers see all of it or none, and a crash leaves the engine at
// the state before or after the call. Later entries see the writes of
// earlier ones.
//
// Entries that are not EntryNormal, and empty normal entries (a new leader's
// no-op), only advance the applied index. An entry whose data does not
// decode, or fails Limits.Check, gets CodeInvalid or CodeTooLarge and does
// nothing else. None of that is an error: every replica answers such an
// entry the same way.
//
// An error means nothing was applied: either the entries do not follow the
// applied index (a gap or a replay: a bug in the caller), or the engine
// failed, and the caller must stop.
func (sm *StateMachine) Apply(entries []raft.Entry, sync bool) ([]Result, error) {
	sm.mu.RLock()
	err := sm.usable()
	sm.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	applied := sm.applied.Load()
	for i := range entries {
		if want := applied + 1 + uint64(i); entries[i].Index != want {
			return nil, fmt.Errorf("kv: apply: entry %d of %d has index %d, want %d (applied %d)",
				i, len(entries), entries[i].Index, want, applied)
		}
	}

	a := newApplier(sm.engine, sm.limits, sm.clock.Load())
	results := make([]Result, len(entries))
	for i := range entries {
		r, err := a.applyEntry(&entries[i])
		if err != nil {
			return nil, fmt.Errorf("kv: apply entry %d: %w", entries[i].Index, err)
		}
		results[i] = r
	}
	if err := a.sweepKeys(); err != nil {
		return nil, fmt.Errorf("kv: apply: %w", err)
	}
	if err := a.sweepSessions(); err != nil {
		return nil, fmt.Errorf("kv: apply: %w", err)
	}
	last := entries[len(entries)-1].Index
	a.o.put(metaKey, meta{applied: last, clock: a.now}.encode())

	sm.mu.Lock()
	defer sm.mu.Unlock()
	if err := sm.engine.Apply(&a.o.batch, sync); err != nil {
		return nil, fmt.Errorf("kv: apply entries %d..%d: %w", entries[0].Index, last, err)
	}
	sm.applied.Store(last)
	sm.clock.Store(a.now)
	return results, nil
}

// applier is the state of one Apply call.
type applier struct {
	limits Limits
	o      *overlay
	tx     *txn  // reused by every command of the call
	now    int64 // the clock, advanced by each command's Time
}

func newApplier(eng storage.Reader, limits Limits, now int64) *applier {
	o := newOverlay(eng)
	return &applier{limits: limits, o: o, tx: newTxn(o), now: now}
}

func (a *applier) applyEntry(e *raft.Entry) (Result, error) {
	res := Result{Index: e.Index}
	if e.Type == raft.EntryConfChange {
		a.confChange(e)
		return res, nil
	}
	if e.Type != raft.EntryNormal || len(e.Data) == 0 {
		return res, nil
	}
	cmd, err := decodeEntryCommand(e.Data)
	if err != nil {
		res.Code = CodeInvalid
		return res, nil
	}
	if err := a.limits.Check(&cmd); err != nil {
		res.Code = codeOf(err)
		return res, nil
	}
	// The clock only moves forward: a new leader whose clock is behind the
	// old one's must not make expired keys live again.
	a.now = max(a.now, cmd.Time)
	switch cmd.Kind {
	case CmdTick:
		return res, nil
	case CmdOpenSession:
		return a.openSession(res), nil
	case CmdCloseSession:
		return a.closeSession(res, cmd.Session.ClientID)
	}
	if cmd.Session.ClientID == 0 {
		return a.execOps(res, &cmd)
	}
	return a.sessionOps(res, &cmd)
}
