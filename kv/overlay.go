package kv

import (
	"errors"
	"fmt"

	"github.com/minikv-go/minikv/storage"
)

// Apply reads and writes through two layers on top of the engine:
//
//   - overlay holds the writes of the entries already applied in this Apply
//     call. They are queued in one engine batch that is written at the end,
//     so that a whole call is one atomic engine write, and they are kept in
//     a map as well, so that later entries of the same call read them.
//   - txn holds the writes of the command being applied. They reach the
//     overlay only if every op succeeds: a command is all or nothing.
//
// The maps are only ever looked up, never iterated, so Go's random map order
// cannot leak into what gets written: writes reach the batch in the order
// the command made them.

// store is the read-write view that record helpers work on.
type store interface {
	get(key []byte) (value []byte, ok bool, err error)
	put(key, value []byte)
	del(key []byte)
}

type pendingWrite struct {
	value   []byte
	deleted bool
}

// overlay is the engine as of the start of an Apply call plus the writes of
// the commands applied so far in that call.
type overlay struct {
	eng     storage.Reader
	pending map[string]pendingWrite
	batch   storage.Batch
}

func newOverlay(eng storage.Reader) *overlay {
	return &overlay{eng: eng, pending: make(map[string]pendingWrite)}
}

func (o *overlay) get(key []byte) ([]byte, bool, error) {
	if w, ok := o.pending[string(key)]; ok {
		return w.value, !w.deleted, nil
	}
	v, err := o.eng.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("kv: engine get: %w", err)
	}
	return v, true, nil
}

func (o *overlay) put(key, value []byte) {
	o.pending[string(key)] = pendingWrite{value: value}
	o.batch.Put(key, value)
}

func (o *overlay) del(key []byte) {
	o.pending[string(key)] = pendingWrite{deleted: true}
	o.batch.Delete(key)
}

// txn buffers one command's writes over an overlay.
type txn struct {
	o      *overlay
	index  map[string]int // key → position in writes
	writes []txnWrite     // in the order each key was first written
}

type txnWrite struct {
	key, value []byte
	deleted    bool
}

func newTxn(o *overlay) *txn {
	return &txn{o: o, index: make(map[string]int)}
}

func (t *txn) get(key []byte) ([]byte, bool, error) {
	if i, ok := t.index[string(key)]; ok {
		w := &t.writes[i]
		return w.value, !w.deleted, nil
	}
	return t.o.get(key)
}

func (t *txn) put(key, value []byte) { t.set(txnWrite{key: key, value: value}) }

func (t *txn) del(key []byte) { t.set(txnWrite{key: key, deleted: true}) }

func (t *txn) set(w txnWrite) {
	if i, ok := t.index[string(w.key)]; ok {
		t.writes[i] = w // the last write of a key wins, as in the engine batch
		return
	}
	t.index[string(w.key)] = len(t.writes)
	t.writes = append(t.writes, w)
}

// commit moves the writes to the overlay and empties the txn.
func (t *txn) commit() {
	for _, w := range t.writes {
		if w.deleted {
			t.o.del(w.key)
		} else {
			t.o.put(w.key, w.value)
		}
	}
	t.discard()
}

// discard drops the writes.
func (t *txn) discard() {
	clear(t.index)
	clear(t.writes) // drop references so the values can be collected
	t.writes = t.writes[:0]
}

// readRecord returns the stored record of a user key, expired or not.
func readRecord(s store, key []byte) (rec record, ok bool, err error) {
	v, ok, err := s.get(userKey(key))
	if err != nil || !ok {
		return record{}, false, err
	}
	rec, err = decodeRecord(v)
	if err != nil {
		return record{}, false, fmt.Errorf("key %q: %w", key, err)
	}
	return rec, true, nil
}
