package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
	"github.com/minikv-go/minikv/server/servertest"
	"github.com/stretchr/testify/require"
)

// The tests run real nodes (server.Open, in process) and reach into the
// kv only to count the keys of the documented layout (see doc.go).
const (
	chunksPrefix  = "\x00s3/d/"
	pendingPrefix = "\x00s3/p/"
	queuePrefix   = "\x00s3/g/"
	partsPrefix   = "\x00s3/q/"
)

func nodeConfig(t testing.TB, engine string) server.Config {
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Engine = engine
	cfg.Listen = server.Listen{HTTP: servertest.FreeAddr(t), RPC: servertest.FreeAddr(t), Raft: servertest.FreeAddr(t)}
	cfg.Raft.Tick = server.Duration(10 * time.Millisecond)
	return cfg
}

var quiet = slog.New(slog.DiscardHandler)

func waitLeader(t testing.TB, n *server.Node) {
	t.Helper()
	require.Eventually(t, func() bool { ok, _ := n.Ready(); return ok && n.Status().Role == "leader" }, 10*time.Second, 5*time.Millisecond)
}

// clock is the store's clock in tests: real time plus an offset the test
// moves forward to age things.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type env struct {
	t     testing.TB
	node  *server.Node
	kv    server.Internal
	s     *store.Store
	clock *clock
	opts  store.Options
	ctx   context.Context
}

// Test sizes: small chunks and inline limit, so that every path runs
// with little data.
const (
	testChunk  = 64 << 10
	testInline = 4 << 10
)

func newEnv(t testing.TB, opts ...func(*store.Options)) *env {
	return newEnvEngine(t, "memory", opts...)
}

func newEnvEngine(t testing.TB, engine string, opts ...func(*store.Options)) *env {
	cfg := nodeConfig(t, engine)
	require.NoError(t, cfg.Validate())
	n, err := server.Open(cfg, nil, quiet)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	waitLeader(t, n)
	e := &env{t: t, node: n, kv: n.Internal(), clock: &clock{}, ctx: context.Background()}
	e.opts = store.Options{ChunkSize: testChunk, InlineMax: testInline, Now: e.clock.Now}
	for _, o := range opts {
		o(&e.opts)
	}
	e.s = store.New(e.kv, e.opts)
	return e
}

func (e *env) bucket(name string) string {
	require.NoError(e.t, e.s.CreateBucket(e.ctx, name))
	return name
}

func (e *env) put(bucket, key string, data []byte) store.ObjectMeta {
	e.t.Helper()
	m, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: bucket, Key: key, Body: bytes.NewReader(data), Size: int64(len(data))})
	require.NoError(e.t, err)
	return m
}

func (e *env) get(bucket, key string, rng *store.Range) []byte {
	e.t.Helper()
	_, body, err := e.s.GetObject(e.ctx, bucket, key, rng)
	require.NoError(e.t, err)
	defer body.Close()
	b, err := io.ReadAll(body)
	require.NoError(e.t, err)
	return b
}

// count returns the number of kv keys under prefix.
func (e *env) count(prefix string) int {
	e.t.Helper()
	n := 0
	req := kv.ScanRequest{Prefix: []byte(prefix), Limit: 1000}
	for {
		res, err := e.kv.Scan(e.ctx, req, false)
		require.NoError(e.t, err)
		n += len(res.Items)
		if res.Next == nil {
			return n
		}
		req.Start = res.Next
	}
}

// gc runs the collector and returns the chunks it deleted.
func (e *env) gc() int {
	e.t.Helper()
	n, err := e.s.CollectGarbage(e.ctx)
	require.NoError(e.t, err)
	return n
}

// gcAfterGrace moves the clock past GCGrace and collects.
func (e *env) gcAfterGrace() int {
	e.clock.Advance(store.DefaultGCGrace + time.Second)
	return e.gc()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// failingReader yields n bytes of data, then fails.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
