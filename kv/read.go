package kv

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/minikv-go/minikv/storage"
)

// Reads are served from the local state, as of the last Apply. Making them
// linearizable is the caller's job: get a read index from raft (ReadIndex),
// wait until Applied() >= that index, then read. A stale read skips that.
// Either way, expired keys are never returned, even before the sweep has
// deleted them, and a read never sees half of an Apply call.

// Item is one key as read.
type Item struct {
	Key       []byte
	Value     []byte // nil if empty
	Version   uint64 // log index of the entry that last wrote the key
	ExpiresAt int64  // Unix nanoseconds; 0 = never
}

// Scan limits.
const (
	DefaultScanLimit = 1000
	MaxScanLimit     = 10000
)

// ScanRequest selects keys in ascending byte order.
type ScanRequest struct {
	Prefix []byte // only keys with this prefix
	Start  []byte // first key to return (inclusive), e.g. the previous page's Next
	End    []byte // exclusive upper bound; empty = end of the prefix (or of the keyspace)
	Limit  int    // most items to return; 0 = DefaultScanLimit; capped at MaxScanLimit
}

// ScanResult is one page of a scan.
type ScanResult struct {
	Items []Item
	Next  []byte // pass as Start to get the next page; nil when there is none
}

// Get returns the live item stored under key, or ErrNotFound.
func (sm *StateMachine) Get(key []byte) (Item, error) {
	if err := sm.checkKey(key); err != nil {
		return Item{}, err
	}
	sm.mu.RLock()
	defer sm.mu.RUnlock()
	if err := sm.usable(); err != nil {
		return Item{}, err
	}
	v, err := sm.engine.Get(userKey(key))
	if errors.Is(err, storage.ErrNotFound) {
		return Item{}, fmt.Errorf("kv: get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("kv: get %q: %w", key, err)
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return Item{}, fmt.Errorf("kv: get %q: %w", key, err)
	}
	if !rec.live(sm.clock.Load()) {
		return Item{}, fmt.Errorf("kv: get %q: %w", key, ErrNotFound)
	}
	return Item{Key: cloneOrNil(key), Value: rec.value, Version: rec.version, ExpiresAt: rec.expiresAt}, nil
}

func (sm *StateMachine) checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > sm.limits.MaxKeyBytes {
		return fmt.Errorf("%w: key is %d bytes, limit %d", ErrTooLarge, len(key), sm.limits.MaxKeyBytes)
	}
	return nil
}

// Scan returns live items with req.Prefix in [req.Start, req.End), in
// ascending key order, at most req.Limit of them. Start and End are clamped
// to the prefix, so a Start below the prefix begins at the prefix, and an
// empty range returns no items. Next is the first key after the page.
func (sm *StateMachine) Scan(req ScanRequest) (ScanResult, error) {
	limit := req.Limit
	switch {
	case limit < 0:
		return ScanResult{}, fmt.Errorf("%w: negative scan limit %d", ErrInvalid, limit)
	case limit == 0:
		limit = DefaultScanLimit
	case limit > MaxScanLimit:
		limit = MaxScanLimit
	}
	lower, upper := scanBounds(req)
	if upper != nil && bytes.Compare(lower, upper) >= 0 {
		return ScanResult{}, nil
	}
	opts := storage.IterOptions{LowerBound: userKey(lower), UpperBound: []byte{prefixUser + 1}}
	if upper != nil {
		opts.UpperBound = userKey(upper)
	}

	// The iterator is a consistent view of the engine as of its creation;
	// taking it and the clock under the lock pairs them, and the lock can be
	// released while the scan runs.
	sm.mu.RLock()
	if err := sm.usable(); err != nil {
		sm.mu.RUnlock()
		return ScanResult{}, err
	}
	now := sm.clock.Load()
	it, err := sm.engine.Iter(opts)
	sm.mu.RUnlock()
	if err != nil {
		return ScanResult{}, fmt.Errorf("kv: scan: %w", err)
	}
	defer it.Close()

	var res ScanResult
	for it.Next() {
		rec, err := decodeRecord(it.Value())
		if err != nil {
			return ScanResult{}, fmt.Errorf("kv: scan: key %q: %w", it.Key()[1:], err)
		}
		rec.value = cloneOrNil(rec.value) // the iterator's value is valid until Next
		if !rec.live(now) {
			continue
		}
		key := cloneOrNil(it.Key()[1:])
		if len(res.Items) == limit {
			res.Next = key // the first live key after the page
			break
		}
		res.Items = append(res.Items, Item{Key: key, Value: rec.value, Version: rec.version, ExpiresAt: rec.expiresAt})
	}
	if err := it.Err(); err != nil {
		return ScanResult{}, fmt.Errorf("kv: scan: %w", err)
	}
	return res, nil
}

// scanBounds returns the user-key range [lower, upper) of req; a nil upper
// is unbounded.
func scanBounds(req ScanRequest) (lower, upper []byte) {
	lower = req.Prefix
	if bytes.Compare(req.Start, lower) > 0 {
		lower = req.Start
	}
	if len(req.Prefix) > 0 {
		upper = storage.PrefixEnd(req.Prefix)
	}
	if len(req.End) > 0 && (upper == nil || bytes.Compare(req.End, upper) < 0) {
		upper = req.End
	}
	return lower, upper
}
