package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testConfig is a short run against the given endpoints.
func testConfig(op Op, endpoints ...string) Config {
	return Config{
		Endpoints: endpoints, Target: TargetMinikv, Op: op, ReadRatio: 0.5,
		Clients: 4, Duration: 200 * time.Millisecond, ValueSize: 64, Keys: 50,
		Timeout: 5 * time.Second, Seed: 1,
	}
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	return res
}

func TestRunPut(t *testing.T) {
	srv := newFakeServer(t)
	res := run(t, testConfig(OpPut, srv.URL))

	require.True(t, res.OK())
	require.Nil(t, res.Preload, "a put run writes no keyspace first")
	require.Nil(t, res.Warmup)
	require.Positive(t, res.Run.Ops)
	require.Equal(t, srv.puts.Load(), res.Run.Ops, "every answered put is counted once")
	require.Equal(t, uint64(res.Run.Ops), res.Run.Latency.Count())
	require.Equal(t, uint64(res.Run.Ops), res.Run.Puts.Count())
	require.Nil(t, res.Run.Gets)
	require.Positive(t, res.Run.Throughput())
	require.LessOrEqual(t, res.Connections, int64(4), "one keep-alive connection per client")

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "op put  clients 4  value 64 B  duration 200ms  endpoints 1")
	require.Regexp(t, `throughput [0-9,]+ ops/s .* errors 0\n`, out.String())
	require.Regexp(t, `latency   p50 \S+  p90 \S+  p99 \S+  p99.9 \S+  max \S+  mean \S+\n`, out.String())
}

func TestRunGetPreloadsTheKeyspace(t *testing.T) {
	srv := newFakeServer(t)
	res := run(t, testConfig(OpGet, srv.URL))

	require.True(t, res.OK())
	require.Equal(t, 50, srv.keys())
	require.Equal(t, int64(50), res.Preload.Ops)
	require.Equal(t, uint64(50), res.Preload.Latency.Count())
	require.Positive(t, res.Run.Ops)
	require.Equal(t, srv.gets.Load(), res.Run.Ops)
	require.Equal(t, int64(50), srv.puts.Load(), "a get run writes only in the preload")

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Regexp(t, `(?m)^preload   50 keys in `, out.String())
}

func TestRunMixed(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(OpMixed, srv.URL)
	cfg.ReadRatio = 0.8
	res := run(t, cfg)

	require.True(t, res.OK())
	require.Positive(t, res.Run.Gets.Count())
	require.Positive(t, res.Run.Puts.Count())
	require.Equal(t, res.Run.Gets.Count()+res.Run.Puts.Count(), res.Run.Latency.Count())
	require.Equal(t, srv.puts.Load()-50, int64(res.Run.Puts.Count()))

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "reads 80%")
	require.Regexp(t, `(?m)^  get     p50 `, out.String())
	require.Regexp(t, `(?m)^  put     p50 `, out.String())
}

func TestRunSpreadsClientsOverEndpoints(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	res := run(t, testConfig(OpPut, a.URL, b.URL))
	require.True(t, res.OK())
	require.Positive(t, a.puts.Load())
	require.Positive(t, b.puts.Load())
	require.Equal(t, a.puts.Load()+b.puts.Load(), res.Run.Ops)
}

// The transport's cap on connections per host leaves one connection for
// every client, even when two endpoints name the same host.
func TestRunSameEndpointTwice(t *testing.T) {
	srv := newFakeServer(t)
	res := run(t, testConfig(OpPut, srv.URL, srv.URL+"/"))
	require.True(t, res.OK())
	require.LessOrEqual(t, res.Connections, int64(4))

	require.Equal(t, 5, maxClientsPerHost(5, []string{srv.URL, srv.URL}))
	require.Equal(t, 3, maxClientsPerHost(5, []string{"http://a:1", "http://a:2"}))
	require.Equal(t, 1, maxClientsPerHost(1, []string{"http://a:1", "http://a:2"}))
}

func TestRunWarmupIsNotMeasured(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(OpPut, srv.URL)
	cfg.Warmup = 100 * time.Millisecond
	res := run(t, cfg)

	require.True(t, res.OK())
	require.Positive(t, res.Warmup.Ops)
	require.Nil(t, res.Warmup.Latency)
	require.Positive(t, res.Run.Ops)
	require.Equal(t, srv.puts.Load(), res.Warmup.Ops+res.Run.Ops)
	require.Equal(t, uint64(res.Run.Ops), res.Run.Latency.Count())
}

func TestRunCountsHTTPErrors(t *testing.T) {
	srv := newFakeServer(t, func(f *fakeServer) { f.failEvery = 3 })
	res := run(t, testConfig(OpPut, srv.URL))

	require.False(t, res.OK())
	require.Positive(t, res.Run.Ops)
	kinds := res.Run.Errors.Kinds()
	require.Len(t, kinds, 1)
	require.Equal(t, "HTTP 503", kinds[0].Kind)
	require.Positive(t, kinds[0].Count)
	require.Contains(t, kinds[0].Example, `"code":"unavailable"`)
	require.Equal(t, uint64(res.Run.Ops), res.Run.Latency.Count(), "failed requests are not in the latencies")

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "errors in the run: ")
	require.Regexp(t, `(?m)^  HTTP 503 +[0-9,]+  e\.g\. \{"error":"no leader"`, out.String())
}

func TestRunChecksWhatItReads(t *testing.T) {
	srv := newFakeServer(t, func(f *fakeServer) { f.corrupt = true })
	res := run(t, testConfig(OpGet, srv.URL))
	require.False(t, res.OK())
	require.Zero(t, res.Run.Ops)
	kinds := res.Run.Errors.Kinds()
	require.Len(t, kinds, 1)
	require.Equal(t, "wrong answer", kinds[0].Kind)
	require.Equal(t, "read 65 bytes, not the 64 written", kinds[0].Example)
}

func TestRunCountsNetworkErrors(t *testing.T) {
	srv := newFakeServer(t)
	url := srv.URL
	srv.Close() // nothing listens there any more

	res := run(t, testConfig(OpPut, url))
	require.False(t, res.OK())
	require.Zero(t, res.Run.Ops)
	require.Nil(t, res.Run.Latency)
	require.Positive(t, res.Run.Errors.Total())
	require.Equal(t, "connection refused", res.Run.Errors.Kinds()[0].Kind)

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "latency   no successful requests")
}

func TestRunStopsAfterAFailedPreload(t *testing.T) {
	srv := newFakeServer(t, func(f *fakeServer) { f.failEvery = 2 })
	res := run(t, testConfig(OpGet, srv.URL))
	require.False(t, res.OK())
	require.Positive(t, res.Preload.Errors.Total())
	require.Nil(t, res.Run)
	require.Zero(t, srv.gets.Load())

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "not run: the preload failed")
	require.Regexp(t, `(?m)^preload   [0-9]+ of 50 keys in `, out.String())
	require.Contains(t, out.String(), "errors in the preload: ")
}

func TestRunTimesOut(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then a client that hangs up cancels r's context
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	cfg := testConfig(OpPut, slow.URL)
	cfg.Timeout = 20 * time.Millisecond
	res := run(t, cfg)
	require.False(t, res.OK())
	require.Equal(t, "timeout", res.Run.Errors.Kinds()[0].Kind)
}

func TestRunInterrupted(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(OpPut, srv.URL)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := Run(ctx, cfg)
	require.NoError(t, err)
	require.True(t, res.Interrupted)
	require.False(t, res.OK())
	require.Zero(t, res.Errors(), "requests cut short by the interrupt are not the server's errors")
	require.Positive(t, res.Run.Ops)

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "interrupted after ")
}

func TestRunLeaderOnly(t *testing.T) {
	leader := newFakeServer(t)
	follower := newFakeServer(t, func(f *fakeServer) { f.role, f.leaderURL = "follower", leader.URL })

	// The leader is among the endpoints: found by its role.
	cfg := testConfig(OpPut, follower.URL, leader.URL)
	cfg.LeaderOnly = true
	res := run(t, cfg)
	require.True(t, res.OK())
	require.Equal(t, []string{leader.URL}, res.Endpoints)
	require.Equal(t, res.Run.Ops, leader.puts.Load())
	require.Zero(t, follower.puts.Load())

	// Only a follower is given: it names the leader's address.
	cfg.Endpoints = []string{follower.URL}
	res = run(t, cfg)
	require.Equal(t, []string{leader.URL}, res.Endpoints)

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "leader-only "+leader.URL)

	// Nobody answers: the run does not start.
	cfg.Endpoints = []string{"http://127.0.0.1:1"}
	_, err := Run(context.Background(), cfg)
	require.ErrorContains(t, err, "finding the leader: http://127.0.0.1:1: ")
}

func TestRunEtcd(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(OpMixed, srv.URL)
	cfg.Target = TargetEtcd
	res := run(t, cfg)
	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Equal(t, 50, srv.keys())
	require.Positive(t, res.Run.Gets.Count())
	require.Positive(t, res.Run.Puts.Count())
	require.Equal(t, srv.gets.Load(), int64(res.Run.Gets.Count()))

	// etcd answers a range over an absent key with no kvs.
	f := &failure{}
	require.ErrorAs(t, etcdProtocol{}.checkGet([]byte(`{"header":{}}`), nil), &f)
	require.Equal(t, "not found", f.kind)
}

func TestRunEtcdLeaderOnly(t *testing.T) {
	leader := newFakeServer(t)
	follower := newFakeServer(t, func(f *fakeServer) { f.role = "follower" })
	cfg := testConfig(OpPut, follower.URL, leader.URL)
	cfg.Target, cfg.LeaderOnly = TargetEtcd, true
	res := run(t, cfg)
	require.True(t, res.OK())
	require.Equal(t, []string{leader.URL}, res.Endpoints)
	require.Zero(t, follower.puts.Load())
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Endpoints = nil }, "no endpoints"},
		{func(c *Config) { c.Clients = 0 }, "clients must be at least 1"},
		{func(c *Config) { c.Duration = -time.Second }, "duration must be positive"},
		{func(c *Config) { c.Op = "scan" }, `unknown operation "scan"`},
		{func(c *Config) { c.Target = "redis" }, `unknown target "redis"`},
		{func(c *Config) { c.ReadRatio = 1.5 }, "read ratio must be between 0 and 1"},
		{func(c *Config) { c.Endpoints = []string{"ftp://x"} }, `endpoint "ftp://x": want http://host:port`},
	} {
		cfg := testConfig(OpPut, "http://127.0.0.1:1")
		tc.change(&cfg)
		_, err := Run(context.Background(), cfg)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7100":         "http://127.0.0.1:7100",
		"http://127.0.0.1:7100/": "http://127.0.0.1:7100",
		" https://kv.example ":   "https://kv.example",
	} {
		got, err := NormalizeEndpoint(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestRunJSON(t *testing.T) {
	srv := newFakeServer(t, func(f *fakeServer) { f.failEvery = 5 })
	cfg := testConfig(OpGet, srv.URL)
	cfg.Keys = 1 // the preload's only put succeeds: the first request is no 5th
	res := run(t, cfg)

	b, err := json.Marshal(res)
	require.NoError(t, err)
	var got struct {
		Op      string
		OK      bool
		Errors  int64
		Preload struct{ Ops int64 }
		Run     struct {
			Ops       int64
			OpsPerSec float64                               `json:"ops_per_s"`
			Latency   struct{ P50, P99, P999, Max float64 } `json:"latency_ms"`
		}
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "get", got.Op)
	require.True(t, got.OK, string(b))
	require.Equal(t, int64(1), got.Preload.Ops)
	require.Positive(t, got.Run.Ops)
	require.Positive(t, got.Run.OpsPerSec)
	require.LessOrEqual(t, got.Run.Latency.P50, got.Run.Latency.P99)
	require.LessOrEqual(t, got.Run.Latency.P999, got.Run.Latency.Max)
}

func TestProgressLines(t *testing.T) {
	srv := newFakeServer(t)
	var out bytes.Buffer
	cfg := testConfig(OpGet, srv.URL)
	cfg.Warmup = 50 * time.Millisecond
	cfg.Progress = &Progress{W: &out, Interval: 20 * time.Millisecond}
	res := run(t, cfg)
	require.True(t, res.OK())

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Regexp(t, `(?m)^preload 50/50  ops 50  [0-9,]+ ops/s  errors 0$`, out.String(), "the preload ends with its final line")
	require.Regexp(t, `^run     0\.[0-9]s/250ms  ops [0-9,]+  [0-9,]+ ops/s  errors 0$`, lines[len(lines)-1])
	require.NotContains(t, out.String(), "\r", "no terminal: plain lines")
}

func TestProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{W: &out, Terminal: true, Interval: time.Hour}
	stop := p.show(phaseView{name: "run", total: 10 * time.Second, counts: func() (int64, int64) { return 1234, 5 }})
	stop()
	stop() // twice is harmless
	require.Regexp(t, `^\r.*run     \[\.{20}\] 0\.0s/10s  ops 0  0 ops/s  errors 0\x1b\[K\n$`, out.String(), "counts start from the phase's start")

	v := phaseView{name: "run", warmup: time.Second, total: 10 * time.Second}
	require.Equal(t, "run     [##########..........] 5.0s/10s  ops 12,345  2,468 ops/s  errors 0", p.format(v, 5*time.Second, 12345, 0, 2468.4))
	require.Equal(t, "warmup  [#...................] 0.5s/10s  ops 0  0 ops/s  errors 0", p.format(v, 500*time.Millisecond, 0, 0, 0))
	v = phaseView{name: "preload", totalOps: 10000}
	require.Equal(t, "preload [###########.........] 5,500/10,000  ops 5,000  7 ops/s  errors 500", p.format(v, time.Second, 5000, 500, 7))
}
