package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/server"
	"github.com/minikv-go/minikv/server/servertest"
	"github.com/stretchr/testify/require"
)

func TestBadRequests(t *testing.T) {
	n := startSingle(t, nil)
	put(t, n.url, "k", "v")
	for _, tc := range []struct {
		method, path, body string
		mention            string // the message names what is wrong
	}{
		{"PUT", "/v1/kv/k?if_version=abc", "x", "if_version"},
		{"PUT", "/v1/kv/k?if_version=-1", "x", "if_version"},
		{"PUT", "/v1/kv/k?ttl=forever", "x", "ttl"},
		{"PUT", "/v1/kv/k?ttl=-1s", "x", "negative"},
		{"PUT", "/v1/kv/k?ttl=1s&ttl=2s", "x", "2 times"},
		{"PUT", "/v1/kv/k?version=3", "x", "version"},
		{"PUT", "/v1/kv/k?a=%zz", "x", "query"},
		{"GET", "/v1/kv/k?consistency=strong", "", "consistency"},
		{"GET", "/v1/kv/k?ttl=1s", "", "ttl"},
		{"DELETE", "/v1/kv/k?ttl=1s", "", "ttl"},
		{"GET", "/v1/kv?limit=-1", "", "limit"},
		{"GET", "/v1/kv?limit=0", "", "limit"},
		{"GET", "/v1/kv?limit=ten", "", "limit"},
		{"GET", "/v1/kv?prefixx=a", "", "prefixx"},
		{"GET", "/v1/cluster?verbose=1", "", "takes none"},
		{"POST", "/v1/batch", "", "empty body"},
		{"POST", "/v1/batch", "{", "JSON"},
		{"POST", "/v1/batch", `{"ops":[]}`, "no ops"},
		{"POST", "/v1/batch", `{"ops":[{"op":"upsert","key":"k"}]}`, "upsert"},
		{"POST", "/v1/batch", `{"ops":[{"op":"put","key":""}]}`, "empty key"},
		{"POST", "/v1/batch", `{"ops":[{"op":"put","key":"k","value":"not base64!"}]}`, "JSON"},
		{"POST", "/v1/batch", `{"ops":[{"op":"get","key":"k","if_version":1}]}`, "conditional"},
		{"POST", "/v1/batch", `{"ops":[{"op":"delete","key":"k","ttl":"1s"}]}`, "ttl"},
		{"POST", "/v1/batch", `{"ops":[{"op":"put","key":"k","ttl":"soon"}]}`, "ttl"},
		{"POST", "/v1/batch", `{"ops":[{"op":"put","key":"k","colour":"red"}]}`, "colour"},
		{"POST", "/v1/batch", `{"ops":[{"op":"put","key":"k"}]} {}`, "more data"},
		{"POST", "/v1/cluster/members", `{"id":0}`, "id"},
		{"POST", "/v1/cluster/members", `{"id":9,"raft":"127.0.0.1:1","name":"x"}`, "name"},
		{"DELETE", "/v1/cluster/members/abc", "", "abc"},
		{"DELETE", "/v1/cluster/members/0", "", "positive"},
		{"POST", "/v1/cluster/transfer-leader", `{"to":"two"}`, "JSON"},
		{"POST", "/v1/cluster/transfer-leader", `{"to":7}`, "not a voter"}, // kv.ErrInvalid from the node
		{"POST", "/v1/cluster/transfer-leader", ``, "no other voter"},
	} {
		req, err := http.NewRequest(tc.method, n.url+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		a := send(t, req)
		e := a.requireError(t, http.StatusBadRequest, "invalid_argument")
		require.Contains(t, e.Error.Message, tc.mention, "%s %s %s", tc.method, tc.path, tc.body)
	}
	require.Equal(t, "v", string(do(t, http.MethodGet, n.url+"/v1/kv/k", nil).body), "no bad request wrote anything")
}

func TestUnknownPathAndMethod(t *testing.T) {
	n := startSingle(t, nil)
	for _, p := range []string{"/", "/v1", "/v1/", "/v2/kv/k", "/v1/kvs/k", "/v1/cluster/", "/v1/batch/", "/healthz/x", "/favicon.ico"} {
		do(t, http.MethodGet, n.url+p, nil).requireError(t, http.StatusNotFound, "not_found")
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/v1/kv/k", "GET, HEAD, PUT, DELETE"},
		{"PATCH", "/v1/kv/k", "GET, HEAD, PUT, DELETE"},
		{"PUT", "/v1/kv", "GET, HEAD"},
		{"GET", "/v1/batch", "POST"},
		{"DELETE", "/v1/cluster", "GET, HEAD"},
		{"GET", "/v1/cluster/members", "POST"},
		{"GET", "/v1/cluster/members/2", "DELETE"},
		{"GET", "/v1/cluster/transfer-leader", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/metrics", "GET, HEAD"},
	} {
		a := do(t, tc.method, n.url+tc.path, nil)
		a.requireError(t, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Equal(t, tc.allow, a.header.Get("Allow"), "%s %s", tc.method, tc.path)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	n := startSingle(t, nil)
	for _, p := range []string{"/healthz", "/health/live", "/readyz", "/health/ready"} {
		a := do(t, http.MethodGet, n.url+p, nil)
		require.Equal(t, http.StatusOK, a.status, p)
		require.JSONEq(t, `{"status":"ok"}`, string(a.body), p)
	}
	put(t, n.url, "k", "v")
	a := do(t, http.MethodGet, n.url+"/metrics", nil)
	require.Equal(t, http.StatusOK, a.status)
	body := string(a.body)
	require.Contains(t, body, "minikv_raft_term")
	require.Regexp(t, `(?m)^minikv_engine_disk_bytes [1-9]`, body, "the engine has files on disk")
	require.Contains(t, body, "minikv_wal_disk_bytes")
	require.Contains(t, body, `minikv_request_duration_seconds_count{api="rest",code="ok",op="kv.put"} 1`)
	require.Contains(t, body, `minikv_request_duration_seconds_count{api="rest",code="ok",op="health.ready"} 2`)

	do(t, http.MethodGet, n.url+"/v1/kv/nope", nil)
	do(t, http.MethodGet, n.url+"/nope", nil)
	body = string(do(t, http.MethodGet, n.url+"/metrics", nil).body)
	require.Contains(t, body, `minikv_request_duration_seconds_count{api="rest",code="not_found",op="kv.get"} 1`)
	require.Contains(t, body, `minikv_request_duration_seconds_count{api="rest",code="not_found",op="unknown"} 1`)
	require.Contains(t, body, `minikv_request_duration_seconds_count{api="rest",code="ok",op="metrics"} 1`)
	require.Empty(t, n.logs.String(), "4xx answers are not logged")
}

func TestNotReadyWithoutQuorum(t *testing.T) {
	// One node of a three-node cluster whose peers never start: it never
	// learns a leader, so it is live but not ready, and writes fail fast.
	l := newListener(t)
	cfg := testConfig(t, 1, l)
	cfg.Cluster.Members = []server.Member{
		{ID: 1, Raft: cfg.Listen.Raft, HTTP: l.url},
		{ID: 2, Raft: servertest.FreeAddr(t)},
		{ID: 3, Raft: servertest.FreeAddr(t)},
	}
	n := start(t, cfg, l)
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, n.url+"/healthz", nil).status)
	e := do(t, http.MethodGet, n.url+"/readyz", nil).requireError(t, http.StatusServiceUnavailable, "unavailable")
	require.Contains(t, e.Error.Message, "no leader")
	a := do(t, http.MethodPut, n.url+"/v1/kv/k", "v")
	a.requireError(t, http.StatusServiceUnavailable, "unavailable")
	require.Equal(t, "1", a.header.Get("Retry-After"))
	require.NotContains(t, n.logs.String(), "health.ready", "a not-ready probe is an answer, not a failure")
	require.Contains(t, n.logs.String(), "kv.put", "a failed write is logged")
}

func TestRequestTimeout(t *testing.T) {
	// Elections are slow here, so that the leader takes a while to notice
	// it has lost its quorum; requests time out sooner.
	nodes := startClusterWith(t, 3, func(cfg *server.Config) {
		cfg.Raft.ElectionTicks = 30
		cfg.Limits.RequestTimeout = server.Duration(100 * time.Millisecond)
	})
	lead, fol := leaderAndFollowers(t, nodes)
	put(t, fol[0].url, "k", "v")
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, lead.url+"/v1/kv/k?consistency=stale", nil).status == http.StatusOK
	}, 5*time.Second, 5*time.Millisecond)
	for _, f := range fol {
		f.stop(t)
	}
	// The write waits for a commit that cannot come, until the timeout.
	e := do(t, http.MethodPut, lead.url+"/v1/kv/k", "v2").requireError(t, http.StatusGatewayTimeout, "timeout")
	require.Contains(t, e.Error.Message, "timeout")
	require.Contains(t, lead.logs.String(), "code=timeout")
	// A stale read needs no one.
	a := do(t, http.MethodGet, lead.url+"/v1/kv/k?consistency=stale", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "v", string(a.body))
}
