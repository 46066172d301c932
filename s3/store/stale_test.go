package store_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

// laggingKV is the kv of a leader whose state machine is behind the log:
// it has just been elected, or has not applied its latest commits yet.
// Its stale (local) reads of the frozen keys return what they held when
// they were frozen; linearizable reads wait for the state to catch up,
// and see the truth.
type laggingKV struct {
	store.KV
	mu     sync.Mutex
	frozen map[string]*kv.Item // nil: the key was absent
}

func (l *laggingKV) freeze(t *testing.T, k string) {
	it, err := l.KV.Get(context.Background(), []byte(k), false)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.frozen[k] = &it
	case errors.Is(err, kv.ErrNotFound):
		l.frozen[k] = nil
	default:
		require.NoError(t, err)
	}
}

func (l *laggingKV) Get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	l.mu.Lock()
	it, ok := l.frozen[string(key)]
	l.mu.Unlock()
	if !stale || !ok {
		return l.KV.Get(ctx, key, stale)
	}
	if it == nil {
		return kv.Item{}, kv.ErrNotFound
	}
	return *it, nil
}

const (
	bucketPrefix = "\x00s3/b/"
	objectPrefix = "\x00s3/o/"
)

// A write reads the bucket and the record it replaces without a read
// barrier; its command's conditions make that safe. These are the answers
// a lagging leader must still get right.
func TestWritesOnALaggingLeaderAnswerAsIfUpToDate(t *testing.T) {
	e := newEnv(t)
	lag := &laggingKV{KV: e.kv, frozen: map[string]*kv.Item{}}
	s := store.New(lag, e.opts)
	put := func(bucket, key string, data []byte, ifNoneMatch, ifMatch string) (store.ObjectMeta, error) {
		return s.PutObject(e.ctx, store.PutInput{Bucket: bucket, Key: key, Body: bytes.NewReader(data), Size: int64(len(data)),
			IfNoneMatch: ifNoneMatch, IfMatch: ifMatch})
	}

	// A bucket created just now, which the lagging state does not show.
	lag.freeze(t, bucketPrefix+"fresh")
	e.bucket("fresh")
	_, err := put("fresh", "k", []byte("v"), "", "")
	require.NoError(t, err, "the bucket exists: a stale 'no' must be confirmed")

	// A bucket deleted just now, which the lagging state still shows.
	e.bucket("gone")
	lag.freeze(t, bucketPrefix+"gone")
	require.NoError(t, e.s.DeleteBucket(e.ctx, "gone"))
	_, err = put("gone", "k", []byte("v"), "", "")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)

	// An object deleted just now: create-only must succeed.
	e.put("fresh", "deleted", []byte("old"))
	lag.freeze(t, objectPrefix+"fresh/deleted")
	require.NoError(t, e.s.DeleteObject(e.ctx, "fresh", "deleted"))
	_, err = put("fresh", "deleted", []byte("new"), "*", "")
	require.NoError(t, err, "If-None-Match: * on a key deleted before the write")
	require.Equal(t, []byte("new"), e.get("fresh", "deleted", nil))

	// An object replaced just now: If-Match on the new ETag succeeds, on
	// the old one fails, and an unconditional write replaces the newest.
	old := e.put("fresh", "replaced", []byte("first"))
	lag.freeze(t, objectPrefix+"fresh/replaced")
	cur := e.put("fresh", "replaced", randomBytes(3*testChunk, 1)) // chunked: its data must be queued when replaced
	_, err = put("fresh", "replaced", []byte("second"), "", `"`+old.ETag+`"`)
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	m, err := put("fresh", "replaced", []byte("third"), "", `"`+cur.ETag+`"`)
	require.NoError(t, err)
	require.Equal(t, []byte("third"), e.get("fresh", "replaced", nil))
	require.Equal(t, 3, e.gcAfterGrace(), "the replaced object's chunks, not the stale record's, were queued")

	// An object created just now: If-Match on it succeeds, and
	// create-only fails.
	lag.freeze(t, objectPrefix+"fresh/new")
	n := e.put("fresh", "new", []byte("created"))
	_, err = put("fresh", "new", []byte("again"), "*", "")
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = put("fresh", "new", []byte("matched"), "", `"`+n.ETag+`"`)
	require.NoError(t, err)
	require.NotEqual(t, m.ETag, n.ETag)
}
