package kv

import (
	"fmt"
	"math"

	"github.com/minikv-go/minikv/storage"
)

// Keys with a TTL expire by the state machine's clock, never by a replica's
// own: expiresAt = clock + TTL, where the clock is the largest command Time
// applied (so normally the Time of the command that wrote the key). A key
// with expiresAt <= Now() is absent for every read and every condition from
// that moment on, on every replica at the same log index.
//
// Deleting expired keys from the engine is separate and lazy: each Apply
// sweeps up to sweepLimit of them, found through the TTL index, in the same
// batch as its entries. Because reads filter by the clock, how far the sweep
// has got is invisible, and Digest ignores it. When no writes come, the
// leader proposes a CmdTick once its clock passes NextExpiry, which moves
// the clock forward and lets the sweep run.

// sweepLimit bounds the keys, and separately the sessions, one Apply call
// deletes, so that a mass expiry cannot stall the apply loop.
const sweepLimit = 1000

// collectKeys returns copies of the keys in opts (an iterator's keys are
// only valid until Next, and bbolt wants no read transaction open while
// the caller goes on).
func collectKeys(r storage.Reader, opts storage.IterOptions) ([][]byte, error) {
	it, err := r.Iter(opts)
	if err != nil {
		return nil, fmt.Errorf("kv: engine iter: %w", err)
	}
	defer it.Close()
	var keys [][]byte
	for it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("kv: engine iter: %w", err)
	}
	return keys, nil
}

// upTo is the exclusive index bound that covers every time <= t.
func upTo(prefix byte, t int64) []byte {
	if t == math.MaxInt64 {
		return []byte{prefix + 1}
	}
	return timeBound(prefix, t+1)
}

// sweepKeys deletes keys that expired at the current clock. It looks at the
// engine as of the start of the call; keys that expire after being written
// in this same call are left for the next one.
func (a *applier) sweepKeys() error {
	keys, err := collectKeys(a.o.eng, storage.IterOptions{
		LowerBound: []byte{prefixTTL},
		UpperBound: upTo(prefixTTL, a.now),
		Limit:      sweepLimit,
	})
	if err != nil {
		return fmt.Errorf("sweep expired keys: %w", err)
	}
	for _, k := range keys {
		if _, ok, err := a.o.get(k); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("sweep expired keys: %w", err)
			}
			continue // already removed by an entry of this call
		}
		expiresAt, key, err := parseTTLKey(k)
		if err != nil {
			return fmt.Errorf("sweep expired keys: %w", err)
		}
		rec, ok, err := readRecord(a.o, key)
		if err != nil {
			return fmt.Errorf("sweep expired keys: %w", err)
		}
		if ok && rec.expiresAt == expiresAt {
			a.o.del(userKey(key))
		}
		a.o.del(k)
	}
	return nil
}

// NextExpiry returns the earliest expiry time among keys still in the
// engine, or false if no key has a TTL. It can be at or before Now() while
// the sweep has a backlog. The leader proposes a CmdTick when its own clock
// passes it, so that TTLs fire (and the sweep runs) without writes.
func (sm *StateMachine) NextExpiry() (int64, bool) {
	sm.mu.RLock()
	defer sm.mu.RUnlock()
	if sm.usable() != nil {
		return 0, false
	}
	keys, err := collectKeys(sm.engine, storage.IterOptions{
		LowerBound: []byte{prefixTTL}, UpperBound: []byte{prefixTTL + 1}, Limit: 1,
	})
	if err != nil || len(keys) == 0 {
		return 0, false
	}
	expiresAt, _, err := parseTTLKey(keys[0])
	if err != nil {
		return 0, false
	}
	return expiresAt, true
}
