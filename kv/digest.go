package kv

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/minikv-go/minikv/storage"
)

// Digest returns a 64-bit FNV-1a hash of the complete logical state: the
// applied index, the clock, every live user key with its value, version and
// expiry, and every live session with its last sequence number, last-active
// time and recorded result. The simulator compares replicas with it.
//
// It hashes what reads can observe, not the engine's bytes: keys and
// sessions that have expired but not been swept yet are left out, and so
// are the indexes derived from the records. How far the sweeps have got
// depends on how entries were grouped into Apply calls, which may differ
// between replicas that are nevertheless in the same state.
//
// It is deterministic and reads the whole state once, from a consistent
// snapshot.
func (sm *StateMachine) Digest() (uint64, error) {
	s, err := sm.Snapshot()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	h := fnv.New64a()
	var buf []byte
	buf = binary.AppendUvarint(buf, s.Index)
	buf = binary.AppendVarint(buf, s.Clock)
	h.Write(buf)

	ttl := int64(sm.limits.SessionTTL)
	err = digestRange(h, s.snap, prefixRange(prefixSession), func(b []byte, k, v []byte) ([]byte, error) {
		sess, err := decodeSession(v)
		if err != nil {
			return b, fmt.Errorf("session %x: %w", k, err)
		}
		if sessionExpired(sess.lastActive, s.Clock, ttl) {
			return b, nil
		}
		b = append(b, 's')
		b = appendBytes(b, k[1:])
		return append(b, v...), nil // the record is canonical: hash it whole
	})
	if err != nil {
		return 0, fmt.Errorf("kv: digest: %w", err)
	}
	err = digestRange(h, s.snap, storage.IterOptions{LowerBound: []byte{prefixMember}, UpperBound: []byte{prefixRemoved + 1}}, func(b []byte, k, v []byte) ([]byte, error) {
		b = append(b, 'm', k[0])
		b = appendBytes(b, k[1:])
		return appendBytes(b, v), nil
	})
	if err != nil {
		return 0, fmt.Errorf("kv: digest: %w", err)
	}
	err = digestRange(h, s.snap, prefixRange(prefixUser), func(b []byte, k, v []byte) ([]byte, error) {
		rec, err := decodeRecord(v)
		if err != nil {
			return b, fmt.Errorf("key %q: %w", k[1:], err)
		}
		if !rec.live(s.Clock) {
			return b, nil
		}
		b = append(b, 'u')
		b = appendBytes(b, k[1:])
		return appendBytes(b, v), nil
	})
	if err != nil {
		return 0, fmt.Errorf("kv: digest: %w", err)
	}
	return h.Sum64(), nil
}

// digestRange feeds h what fn appends for each entry in opts.
func digestRange(h hash.Hash64, r storage.Reader, opts storage.IterOptions,
	fn func(b, k, v []byte) ([]byte, error)) error {
	it, err := r.Iter(opts)
	if err != nil {
		return err
	}
	defer it.Close()
	var buf []byte
	for it.Next() {
		buf, err = fn(buf[:0], it.Key(), it.Value())
		if err != nil {
			return err
		}
		h.Write(buf)
	}
	return it.Err()
}
