package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// deriveSigningKey computes the SigV4 signing key. The secret is never used
// directly: it is mixed with the date, then the region, then the service,
// then the constant "aws4_request", each step an HMAC-SHA256 keyed by the
// previous result:
//
//	kDate    = HMAC("AWS4" + secret, yyyymmdd)
//	kRegion  = HMAC(kDate, region)
//	kService = HMAC(kRegion, "s3")
//	kSigning = HMAC(kService, "aws4_request")
//
// A key is therefore only good for one day, one region and one service.
func deriveSigningKey(secret string, c credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.date)
	k = hmacSHA256(k, c.region)
	k = hmacSHA256(k, c.service)
	return hmacSHA256(k, c.terminal)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// keyCacheSize bounds the signing-key cache. A server sees one entry per
// (access key, day, region) in use, so a few dozen cover any real load;
// when the cache is full the oldest entry is replaced.
const keyCacheSize = 64

type keyID struct {
	secret, date, region, service, terminal string
}

// keyCache memoises deriveSigningKey: four HMACs per request are cheap, but
// not free, and every request of a day by one key derives the same value.
// The zero value is ready to use and safe for concurrent use.
type keyCache struct {
	mu    sync.Mutex
	keys  map[keyID][]byte
	order [keyCacheSize]keyID // ring of the ids in insertion order
	next  int
}

func (kc *keyCache) get(secret string, c credential) []byte {
	id := keyID{secret, c.date, c.region, c.service, c.terminal}
	kc.mu.Lock()
	k, ok := kc.keys[id]
	kc.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, c)
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if _, ok := kc.keys[id]; ok {
		return k
	}
	if kc.keys == nil {
		kc.keys = make(map[keyID][]byte, keyCacheSize)
	}
	if len(kc.keys) >= keyCacheSize {
		delete(kc.keys, kc.order[kc.next])
	}
	kc.keys[id] = k
	kc.order[kc.next] = id
	kc.next = (kc.next + 1) % keyCacheSize
	return k
}

func (kc *keyCache) len() int {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	return len(kc.keys)
}
