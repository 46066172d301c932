package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is the engine on go.etcd.io/bbolt: one file, dir/data.bolt, holding
// one bucket. Every Apply is one bbolt read-write transaction.
//
// Apply always fsyncs, whatever its sync argument: bbolt's NoSync mode can
// leave a file that does not open after a crash, which would be worse than
// slow. Iterators and snapshots each hold a bbolt read transaction until
// closed; see Options.MmapSize for why that matters.
type Bolt struct {
	mu     sync.RWMutex // guards closed against Close racing other calls
	db     *bolt.DB
	closed bool
}

var boltBucket = []byte("kv")

// OpenBolt opens (or creates) a bbolt engine in dir.
func OpenBolt(dir string, opts Options) (Engine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: bolt: %w", err)
	}
	mmap := opts.MmapSize
	if mmap == 0 {
		mmap = 1 << 30
	}
	db, err := bolt.Open(filepath.Join(dir, "data.bolt"), 0o644, &bolt.Options{
		InitialMmapSize: mmap,
		FreelistType:    bolt.FreelistMapType,
		Timeout:         time.Second, // the file is locked by another open: fail, don't hang
	})
	if err != nil {
		return nil, fmt.Errorf("storage: bolt: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: bolt: %w", err)
	}
	return &Bolt{db: db}, nil
}

// Get implements Reader.
func (e *Bolt) Get(key []byte) ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	var val []byte
	err := e.db.View(func(tx *bolt.Tx) error {
		var err error
		val, err = boltGet(tx, key)
		return err
	})
	return val, err
}

// boltGet uses a cursor rather than Bucket.Get so that an empty value is
// told apart from a missing key without relying on nil-ness.
func boltGet(tx *bolt.Tx, key []byte) ([]byte, error) {
	k, v := tx.Bucket(boltBucket).Cursor().Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, ErrNotFound
	}
	return cloneBytes(v), nil
}

// Sync implements Syncer. Every Apply has fsynced already.
func (e *Bolt) Sync() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	return nil
}

// Apply implements Engine; it always fsyncs (see Bolt).
func (e *Bolt) Apply(b *Batch, _ bool) error {
	if err := b.validate(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	return e.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		return b.each(func(del bool, k, v []byte) error {
			if del {
				return bk.Delete(k)
			}
			return bk.Put(k, v) // bbolt copies k and v before commit
		})
	})
}

// Iter implements Reader. The iterator holds a read transaction, so it sees
// the engine as of this call.
func (e *Bolt) Iter(opts IterOptions) (Iterator, error) {
	s, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	it := newBoltIter(s.tx, opts)
	it.owned = s.tx
	return withLimit(it, opts.Limit), nil
}

// Snapshot implements Engine with a bbolt read transaction.
func (e *Bolt) Snapshot() (Snapshot, error) { return e.snapshot() }

func (e *Bolt) snapshot() (*boltSnapshot, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	tx, err := e.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("storage: bolt: %w", err)
	}
	return &boltSnapshot{tx: tx}, nil
}

// Close implements Engine. bbolt waits for open read transactions, so
// close iterators and snapshots first.
func (e *Bolt) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.closed = true
	return e.db.Close()
}

type boltSnapshot struct {
	tx *bolt.Tx // nil once closed
}

func (s *boltSnapshot) Get(key []byte) ([]byte, error) {
	if s.tx == nil {
		return nil, ErrClosed
	}
	return boltGet(s.tx, key)
}

func (s *boltSnapshot) Iter(opts IterOptions) (Iterator, error) {
	if s.tx == nil {
		return nil, ErrClosed
	}
	return withLimit(newBoltIter(s.tx, opts), opts.Limit), nil
}

func (s *boltSnapshot) Close() error {
	if s.tx == nil {
		return ErrClosed
	}
	err := s.tx.Rollback()
	s.tx = nil
	return err
}

type boltIter struct {
	c       *bolt.Cursor
	lower   []byte
	upper   []byte
	started bool
	done    bool
	closed  bool
	k, v    []byte
	owned   *bolt.Tx // the transaction to end on Close, if the iterator owns it
}

func newBoltIter(tx *bolt.Tx, opts IterOptions) *boltIter {
	it := &boltIter{c: tx.Bucket(boltBucket).Cursor(), lower: opts.LowerBound}
	if opts.UpperBound != nil {
		it.upper = cloneBytes(opts.UpperBound)
	}
	if opts.LowerBound != nil {
		it.lower = cloneBytes(opts.LowerBound)
	}
	return it
}

func (it *boltIter) Next() bool {
	if it.closed || it.done {
		return false
	}
	var k, v []byte
	switch {
	case it.started:
		k, v = it.c.Next()
	case it.lower != nil:
		k, v = it.c.Seek(it.lower)
	default:
		k, v = it.c.First()
	}
	it.started = true
	if k == nil || (it.upper != nil && bytes.Compare(k, it.upper) >= 0) {
		it.done, it.k, it.v = true, nil, nil
		return false
	}
	it.k, it.v = k, v
	if it.v == nil {
		it.v = []byte{}
	}
	return true
}

func (it *boltIter) Key() []byte   { return it.k }
func (it *boltIter) Value() []byte { return it.v }
func (it *boltIter) Err() error    { return nil }

func (it *boltIter) Close() error {
	if it.closed {
		return ErrClosed
	}
	it.closed, it.k, it.v = true, nil, nil
	if it.owned != nil {
		return it.owned.Rollback()
	}
	return nil
}
