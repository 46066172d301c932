package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A bad command line exits 2 with one line that says why.
func TestBenchRejectsBadFlags(t *testing.T) {
	ep := "--endpoints=http://127.0.0.1:7100"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{ep, "--op", "scan"}, `unknown operation "scan" (want put, get or mixed)`},
		{[]string{ep, "--target", "redis"}, `unknown target "redis" (want minikv or etcd)`},
		{[]string{ep, "--clients", "0"}, "--clients must be at least 1, not 0"},
		{[]string{ep, "--duration", "-1s"}, "--duration must be positive, not -1s"},
		{[]string{ep, "--duration", "0s"}, "--duration must be positive, not 0s"},
		{[]string{ep, "--warmup", "-1s"}, "--warmup must not be negative"},
		{[]string{ep, "--value-size", "-1"}, "--value-size must not be negative"},
		{[]string{ep, "--keys", "0"}, "--keys must be at least 1"},
		{[]string{ep, "--op", "mixed", "--read-ratio", "1.5"}, "--read-ratio must be between 0 and 1"},
		{[]string{ep, "--read-ratio", "0.9"}, "--read-ratio applies to --op mixed only"},
		{[]string{ep, "--timeout", "-1s"}, "--timeout must not be negative"},
		{[]string{}, "--endpoints is required"},
		{[]string{"--endpoints", " , "}, "--endpoints is required"},
		{[]string{"--endpoints", "ftp://x"}, `endpoint "ftp://x": want http://host:port`},
		{[]string{ep, "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCLI(append([]string{"bench"}, tc.args...)...)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Empty(t, stdout)
		require.True(t, strings.HasPrefix(stderr, "minikv bench: "+tc.want), "%v: %s", tc.args, stderr)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
	}
	code, _, _ := runCLI("bench", "--no-such-flag")
	require.Equal(t, exitUsage, code)
}

// fakeKV answers minikv's PUT and GET /v1/kv/{key}; status, when not 200,
// is what every put gets instead.
func fakeKV(t *testing.T, status int) string {
	var mu sync.Mutex
	data := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut && status != http.StatusOK:
			http.Error(w, `{"error":"not today","code":"unavailable"}`, status)
		case r.Method == http.MethodPut:
			data[key] = body
			_, _ = io.WriteString(w, `{"version":1}`)
		case data[key] == nil:
			http.Error(w, `{"error":"key not found","code":"not_found"}`, http.StatusNotFound)
		default:
			_, _ = w.Write(data[key])
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBenchRuns(t *testing.T) {
	url := fakeKV(t, http.StatusOK)
	code, stdout, stderr := runCLI("bench", "--endpoints", url+","+url, "--op", "mixed", "--keys", "20",
		"--clients", "3", "--duration", "100ms", "--value-size", "16")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "op mixed  clients 3  value 16 B  duration 100ms  endpoints 2")
	require.Regexp(t, `(?m)^preload   20 keys in `, stdout)
	require.Regexp(t, `(?m)^throughput [0-9,]+ ops/s  \([0-9,]+ ops in [0-9.]+s\)  errors 0$`, stdout)
	require.Regexp(t, `(?m)^latency   p50 `, stdout)
	require.Regexp(t, `(?m)^run     0\.[0-9]s/100ms  ops [0-9,]+`, stderr, "progress: plain lines, not a terminal")

	code, stdout, stderr = runCLI("bench", "--endpoints", url, "--duration", "100ms", "--json", "--quiet")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	var res struct {
		OK  bool `json:"ok"`
		Run struct {
			Ops int64 `json:"ops"`
		} `json:"run"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.True(t, res.OK)
	require.Positive(t, res.Run.Ops)
}

// A run with errors prints them and exits 1.
func TestBenchReportsErrors(t *testing.T) {
	url := fakeKV(t, http.StatusServiceUnavailable)
	code, stdout, stderr := runCLI("bench", "--endpoints", url, "--duration", "100ms", "--clients", "2", "--quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stdout, "errors in the run: ")
	require.Regexp(t, `(?m)^  HTTP 503 +[0-9,]+  e\.g\. \{"error":"not today","code":"unavailable"\}$`, stdout)
	require.Regexp(t, `^minikv bench: [0-9]+ requests failed\n$`, stderr)

	// Nothing listening: the leader cannot be found, the run cannot start.
	code, _, stderr = runCLI("bench", "--endpoints", "http://127.0.0.1:1", "--leader-only", "--quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "minikv bench: finding the leader: http://127.0.0.1:1: ")
}
