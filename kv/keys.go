package kv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/minikv-go/minikv/storage"
)

// The engine key layout. The first byte of every engine key says what the
// record is; user keys live under their own prefix, so no user key can ever
// collide with an internal record.
//
//	0x00                                 meta: format, applied index, clock
//	0x01 clientID(8)                     session: last seq, last active, last result
//	0x02 lastActive(8) clientID(8)       session-activity index (empty value)
//	0x03 expiresAt(8) userKey            TTL index (empty value)
//	0x04 userKey                         user record: version, expiresAt, value
//	0x05 nodeID(8)                       cluster member: its configuration change's context
//	0x06 nodeID(8)                       a removed member's id (ids are never reused)
//
// Numbers in keys are 8-byte big-endian, so the engine's byte order is
// numeric order: the sweeps find the oldest sessions and the earliest
// expiries by iterating from the start of their index. Times in keys are
// never negative (Limits.Check rejects negative times).
const (
	prefixMeta     byte = 0x00
	prefixSession  byte = 0x01
	prefixActivity byte = 0x02
	prefixTTL      byte = 0x03
	prefixUser     byte = 0x04
	prefixMember   byte = 0x05
	prefixRemoved  byte = 0x06
)

var metaKey = []byte{prefixMeta}

func userKey(key []byte) []byte {
	k := make([]byte, 0, 1+len(key))
	return append(append(k, prefixUser), key...)
}

func memberKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixMember}, id)
}

func removedKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixRemoved}, id)
}

func sessionKey(clientID uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixSession}, clientID)
}

func activityKey(lastActive int64, clientID uint64) []byte {
	k := make([]byte, 0, 17)
	k = append(k, prefixActivity)
	k = binary.BigEndian.AppendUint64(k, uint64(lastActive))
	return binary.BigEndian.AppendUint64(k, clientID)
}

func ttlKey(expiresAt int64, key []byte) []byte {
	k := make([]byte, 0, 9+len(key))
	k = append(k, prefixTTL)
	k = binary.BigEndian.AppendUint64(k, uint64(expiresAt))
	return append(k, key...)
}

// timeBound is the index key prefix|t: every index key of a time below t
// sorts before it.
func timeBound(prefix byte, t int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefix}, uint64(t))
}

// prefixRange is the iteration over every key with one prefix byte.
func prefixRange(prefix byte) storage.IterOptions {
	return storage.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}}
}

// parseActivityKey and parseTTLKey undo activityKey and ttlKey.
func parseActivityKey(k []byte) (lastActive int64, clientID uint64, err error) {
	if len(k) != 17 || k[0] != prefixActivity {
		return 0, 0, fmt.Errorf("%w: bad session-activity key %x", errCorrupt, k)
	}
	return int64(binary.BigEndian.Uint64(k[1:9])), binary.BigEndian.Uint64(k[9:]), nil
}

func parseTTLKey(k []byte) (expiresAt int64, key []byte, err error) {
	if len(k) < 10 || k[0] != prefixTTL {
		return 0, nil, fmt.Errorf("%w: bad TTL index key %x", errCorrupt, k)
	}
	return int64(binary.BigEndian.Uint64(k[1:9])), k[9:], nil
}

// meta is the state machine's own bookkeeping, written by every Apply in the
// same engine batch as the data, so it is always consistent with it.
type meta struct {
	applied uint64 // index of the last applied entry
	clock   int64  // largest command Time applied
}

const metaFormat = 1

func (m meta) encode() []byte {
	b := []byte{metaFormat}
	b = binary.AppendUvarint(b, m.applied)
	return binary.AppendVarint(b, m.clock)
}

func decodeMeta(b []byte) (meta, error) {
	d := &decoder{b: b}
	var m meta
	if f := d.byte(); d.err == nil && f != metaFormat {
		return m, fmt.Errorf("%w: meta record format %d", errCorrupt, f)
	}
	m.applied = d.uvarint()
	m.clock = d.varint()
	if err := d.finish(); err != nil {
		return m, fmt.Errorf("%w: meta record: %v", errCorrupt, err)
	}
	return m, nil
}

// record is a user key's value in the engine.
type record struct {
	version   uint64 // log index of the entry that last wrote the key
	expiresAt int64  // Unix nanoseconds; 0 = never
	value     []byte // nil if empty
}

// live reports whether the record has not expired at clock now.
func (r *record) live(now int64) bool { return !expired(r.expiresAt, now) }

// expired reports whether something that expires at expiresAt (0 = never)
// is gone at clock now.
func expired(expiresAt, now int64) bool { return expiresAt != 0 && expiresAt <= now }

// expiryAt is when a key put at clock now with ttl expires: 0 for no ttl,
// saturating instead of overflowing.
func expiryAt(now int64, ttl int64) int64 {
	if ttl <= 0 {
		return 0
	}
	if now > math.MaxInt64-ttl {
		return math.MaxInt64
	}
	return now + ttl
}

func (r *record) encode() []byte {
	b := make([]byte, 0, uvarintLen(r.version)+varintLen(r.expiresAt)+len(r.value))
	b = binary.AppendUvarint(b, r.version)
	b = binary.AppendVarint(b, r.expiresAt)
	return append(b, r.value...)
}

// decodeRecord decodes a stored record. Its value aliases b: engines'
// Get returns a copy the caller owns, but an iterator's value must be
// copied before the iterator moves.
func decodeRecord(b []byte) (record, error) {
	d := &decoder{b: b, alias: true}
	var r record
	r.version = d.uvarint()
	r.expiresAt = d.varint()
	r.value = d.rest()
	if d.err != nil {
		return r, fmt.Errorf("%w: user record: %v", errCorrupt, d.err)
	}
	return r, nil
}
