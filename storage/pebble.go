package storage

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble is the engine on github.com/cockroachdb/pebble/v2 (an LSM tree with
// a write-ahead log) in dir. Apply with sync=false writes the WAL without
// waiting for fsync: a crash may lose the last such writes but never leaves
// the store inconsistent.
type Pebble struct {
	mu     sync.RWMutex // guards closed: pebble panics on use after Close
	db     *pebble.DB
	cache  *pebble.Cache
	closed bool
}

// quietLogger keeps pebble's informational messages out of test and server
// output; errors still go to the default logger.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(f string, args ...any) { pebble.DefaultLogger.Errorf(f, args...) }
func (quietLogger) Fatalf(f string, args ...any) { pebble.DefaultLogger.Fatalf(f, args...) }

// OpenPebble opens (or creates) a pebble engine in dir.
func OpenPebble(dir string, opts Options) (Engine, error) {
	size := opts.CacheSize
	if size == 0 {
		size = 64 << 20
	}
	cache := pebble.NewCache(size)
	db, err := pebble.Open(dir, pebbleOptions(cache))
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("storage: pebble: %w", err)
	}
	return &Pebble{db: db, cache: cache}, nil
}

// pebbleOptions tunes pebble for what minikv stores: small kv values, and
// S3 chunks of up to 1 MiB written once and deleted whole.
func pebbleOptions(cache *pebble.Cache) *pebble.Options {
	o := &pebble.Options{
		Cache:  cache,
		Logger: quietLogger{},
		// The default 4 MiB memtable flushes a dozen times a second under
		// S3 writes, and every flush feeds compactions.
		MemTableSize:                32 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       2,
		L0StopWritesThreshold:       1000,
		FormatMajorVersion:          pebble.FormatValueSeparation,
	}
	// Large values go to blob files that compactions move by reference
	// instead of rewriting (WiscKey's key-value separation): an S3 chunk
	// is then written about twice (pebble's log and its blob file), not
	// once per LSM level.
	o.Experimental.EnableColumnarBlocks = func() bool { return true }
	o.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           4 << 10,
			MaxBlobReferenceDepth: 10,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	return o
}

// Get implements Reader.
func (e *Pebble) Get(key []byte) ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	return pebbleGet(e.db.Get(key))
}

func pebbleGet(v []byte, closer interface{ Close() error }, err error) ([]byte, error) {
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: pebble: %w", err)
	}
	out := cloneBytes(v) // v is only valid until closer.Close
	return out, closer.Close()
}

// Apply implements Engine.
func (e *Pebble) Apply(b *Batch, sync bool) error {
	if err := b.validate(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	pb := e.db.NewBatchWithSize(b.Size() + 16*b.Len())
	defer pb.Close()
	_ = b.each(func(del bool, k, v []byte) error {
		if del {
			return pb.Delete(k, nil)
		}
		return pb.Set(k, v, nil) // pebble copies k and v into the batch
	})
	wo := pebble.NoSync
	if sync {
		wo = pebble.Sync
	}
	if err := e.db.Apply(pb, wo); err != nil {
		return fmt.Errorf("storage: pebble: %w", err)
	}
	return nil
}

// Sync implements Syncer: it fsyncs pebble's log, which holds every write
// applied without sync since the last flush.
func (e *Pebble) Sync() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	if err := e.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("storage: pebble: sync: %w", err)
	}
	return nil
}

// Iter implements Reader. Pebble iterators see the engine as of creation.
func (e *Pebble) Iter(opts IterOptions) (Iterator, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	return newPebbleIter(e.db.NewIter, opts)
}

// Snapshot implements Engine with a pebble snapshot.
func (e *Pebble) Snapshot() (Snapshot, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	return &pebbleSnapshot{snap: e.db.NewSnapshot()}, nil
}

// Close implements Engine. Close iterators and snapshots first.
func (e *Pebble) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.closed = true
	err := e.db.Close()
	e.cache.Unref()
	if err != nil {
		return fmt.Errorf("storage: pebble: %w", err)
	}
	return nil
}

type pebbleSnapshot struct {
	snap *pebble.Snapshot // nil once closed
}

func (s *pebbleSnapshot) Get(key []byte) ([]byte, error) {
	if s.snap == nil {
		return nil, ErrClosed
	}
	return pebbleGet(s.snap.Get(key))
}

func (s *pebbleSnapshot) Iter(opts IterOptions) (Iterator, error) {
	if s.snap == nil {
		return nil, ErrClosed
	}
	return newPebbleIter(s.snap.NewIter, opts)
}

func (s *pebbleSnapshot) Close() error {
	if s.snap == nil {
		return ErrClosed
	}
	err := s.snap.Close()
	s.snap = nil
	return err
}

type pebbleIter struct {
	it      *pebble.Iterator // nil once closed
	started bool
	valid   bool
	err     error
}

func newPebbleIter(newIter func(*pebble.IterOptions) (*pebble.Iterator, error), opts IterOptions) (Iterator, error) {
	po := &pebble.IterOptions{}
	// pebble requires the bounds to stay unchanged while the iterator lives.
	if opts.LowerBound != nil {
		po.LowerBound = cloneBytes(opts.LowerBound)
	}
	if opts.UpperBound != nil {
		po.UpperBound = cloneBytes(opts.UpperBound)
	}
	it, err := newIter(po)
	if err != nil {
		return nil, fmt.Errorf("storage: pebble: %w", err)
	}
	return withLimit(&pebbleIter{it: it}, opts.Limit), nil
}

func (p *pebbleIter) Next() bool {
	if p.it == nil || p.err != nil {
		return false
	}
	if p.started {
		p.valid = p.it.Next()
	} else {
		p.started = true
		p.valid = p.it.First()
	}
	if !p.valid {
		if err := p.it.Error(); err != nil {
			p.err = fmt.Errorf("storage: pebble: %w", err)
		}
	}
	return p.valid
}

func (p *pebbleIter) Key() []byte {
	if !p.valid {
		return nil
	}
	return p.it.Key()
}

func (p *pebbleIter) Value() []byte {
	if !p.valid {
		return nil
	}
	v, err := p.it.ValueAndErr()
	if err != nil {
		p.err = fmt.Errorf("storage: pebble: %w", err)
		return nil
	}
	if v == nil {
		v = []byte{}
	}
	return v
}

func (p *pebbleIter) Err() error { return p.err }

func (p *pebbleIter) Close() error {
	if p.it == nil {
		return ErrClosed
	}
	err := p.it.Close()
	p.it, p.valid = nil, false
	return err
}
