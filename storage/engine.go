// Package storage holds the ordered key-value engines that the replicated KV
// state machine (package kv) keeps its data in.
//
// Every engine implements one small interface, Engine: point reads, atomic
// write batches, ascending iteration between bounds (prefix and range scans
// with an optional limit), consistent point-in-time snapshots, and Close.
// Dump and Restore turn a snapshot into a byte stream and back, which is what
// a Raft snapshot of the state machine is made of.
//
// The engines are:
//
//   - "memory": an in-memory persistent (copy-on-write) AVL tree. No
//     goroutines, no clocks, no map iteration: the simulator uses it and
//     needs bit-for-bit replayable runs. Snapshots cost O(1).
//   - "bolt": go.etcd.io/bbolt, a single-file copy-on-write B+tree.
//   - "pebble": github.com/cockroachdb/pebble/v2, an LSM tree with a WAL.
//
// Keys are compared as raw bytes (bytes.Compare), which for UTF-8 text is
// code point order. Keys must be non-empty and at most MaxKeySize bytes.
//
// Memory ownership: every engine copies keys and values passed in (Batch
// copies on Put/Delete), and Get always returns a fresh slice the caller
// owns. Iterator.Key and Iterator.Value return slices that may point into the
// engine's memory: they are valid only until the next call to Next or Close
// and must not be modified; copy them to keep them.
package storage

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors returned by every engine. Compare with errors.Is.
var (
	// ErrNotFound: Get found no value for the key.
	ErrNotFound = errors.New("storage: key not found")
	// ErrClosed: the engine, snapshot or iterator was already closed.
	ErrClosed = errors.New("storage: closed")
	// ErrInvalidKey: a batch held an empty key or one longer than MaxKeySize.
	ErrInvalidKey = errors.New("storage: invalid key (empty or longer than MaxKeySize)")
	// ErrValueTooLarge: a batch held a value longer than MaxValueSize.
	ErrValueTooLarge = errors.New("storage: value longer than MaxValueSize")
	// ErrCorrupt: a dump stream is malformed, truncated or fails its checksum.
	ErrCorrupt = errors.New("storage: corrupt dump stream")
)

// Size limits every engine enforces, so that any engine's dump restores
// into any other and a corrupt dump cannot make Restore allocate gigabytes.
const (
	MaxKeySize   = 32 << 10 // bbolt's limit
	MaxValueSize = 64 << 20
)

// Reader is the read side shared by an Engine and its Snapshots.
type Reader interface {
	// Get returns a copy of the value stored under key, or ErrNotFound.
	// An empty stored value comes back as a non-nil empty slice.
	Get(key []byte) ([]byte, error)
	// Iter returns an iterator over the keys in [LowerBound, UpperBound)
	// in ascending byte order, stopping after Limit entries if Limit > 0.
	// The iterator must be closed.
	Iter(opts IterOptions) (Iterator, error)
}

// Engine is an ordered key-value store. It is safe for concurrent use, but
// iterators and snapshots are each for one goroutine. Close every iterator
// and snapshot before closing the engine.
type Engine interface {
	Reader
	// Apply writes every operation of b atomically, in order: readers see
	// all of it or none. With sync the write is durable (fsynced) when
	// Apply returns. Apply does not modify b; the caller may Reset and
	// reuse it.
	Apply(b *Batch, sync bool) error
	// Snapshot returns a consistent read-only view of the engine as of
	// now. Later writes are invisible to it. It must be closed.
	Snapshot() (Snapshot, error)
	// Close releases the engine. Later calls return ErrClosed.
	Close() error
}

// Syncer is implemented by engines whose writes survive a restart: Sync
// makes every write applied so far durable, those applied without sync
// included. The memory engine has none.
type Syncer interface {
	Sync() error
}

// Snapshot is a consistent, read-only, point-in-time view of an engine.
type Snapshot interface {
	Reader
	Close() error
}

// Iterator walks keys in ascending order. Typical use:
//
//	it, err := e.Iter(storage.IterOptions{LowerBound: a, UpperBound: b})
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
type Iterator interface {
	// Next advances to the next entry (the first, on the first call) and
	// reports whether there is one.
	Next() bool
	// Key and Value are the current entry; valid until Next or Close,
	// read-only.
	Key() []byte
	Value() []byte
	// Err is the error that stopped iteration, if any.
	Err() error
	Close() error
}

// IterOptions bounds an iteration. Nil bounds mean unbounded.
type IterOptions struct {
	LowerBound []byte // inclusive
	UpperBound []byte // exclusive
	Limit      int    // at most this many entries; 0 means no limit
}

// PrefixOptions returns the options that iterate over exactly the keys that
// start with prefix.
func PrefixOptions(prefix []byte) IterOptions {
	return IterOptions{LowerBound: prefix, UpperBound: PrefixEnd(prefix)}
}

// PrefixEnd returns the smallest key greater than every key starting with
// prefix, or nil (unbounded) if there is none (prefix empty or all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Options tunes an engine. The zero value is a good default.
type Options struct {
	// CacheSize is pebble's block cache in bytes (default 64 MiB).
	CacheSize int64
	// MmapSize is bbolt's initial mmap size in bytes (default 1 GiB of
	// address space). bbolt blocks writers that must grow the mapping while
	// a read transaction (an open iterator or snapshot) is live, so a large
	// initial mapping keeps long snapshot streams from stalling writes.
	MmapSize int
}

// Engine kinds accepted by Open.
const (
	KindMemory = "memory"
	KindBolt   = "bolt"
	KindPebble = "pebble"
)

var openers = map[string]func(dir string, opts Options) (Engine, error){
	KindMemory: func(string, Options) (Engine, error) { return NewMemory(), nil },
	KindBolt:   OpenBolt,
	KindPebble: OpenPebble,
}

// Kinds returns the engine kinds Open accepts, sorted.
func Kinds() []string {
	kinds := make([]string, 0, len(openers))
	for k := range openers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// Open opens (creating if needed) an engine of the given kind in dir. The
// memory engine ignores dir.
func Open(kind, dir string, opts Options) (Engine, error) {
	open, ok := openers[kind]
	if !ok {
		return nil, fmt.Errorf("storage: unknown engine kind %q (known: %s)", kind, strings.Join(Kinds(), ", "))
	}
	return open(dir, opts)
}

// validKey reports whether an engine accepts k as a key.
func validKey(k []byte) bool { return len(k) > 0 && len(k) <= MaxKeySize }

// limitIter stops an iterator after n entries.
type limitIter struct {
	Iterator
	left int
}

func withLimit(it Iterator, limit int) Iterator {
	if limit <= 0 {
		return it
	}
	return &limitIter{Iterator: it, left: limit}
}

func (l *limitIter) Next() bool {
	if l.left <= 0 {
		return false
	}
	l.left--
	return l.Iterator.Next()
}

// cloneBytes copies b; an empty b becomes a non-nil empty slice.
func cloneBytes(b []byte) []byte {
	return append([]byte{}, b...)
}
