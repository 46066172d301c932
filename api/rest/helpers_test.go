package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/api/rest"
	"github.com/minikv-go/minikv/server"
	"github.com/minikv-go/minikv/server/servertest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// testNode is a real node serving the REST API on a real loopback listener.
type testNode struct {
	node *server.Node
	srv  *httptest.Server
	url  string      // http://127.0.0.1:port
	logs *syncBuffer // what the REST handler logged
	once sync.Once
}

// listener is an HTTP listener whose address goes into a node's config
// before the node opens; newServer serves the node's API on it after.
type listener struct {
	ln  net.Listener
	url string
}

func newListener(t *testing.T) listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return listener{ln, "http://" + ln.Addr().String()}
}

// testConfig is a fast-ticking pebble node listening on l.
func testConfig(t *testing.T, id uint64, l listener) server.Config {
	cfg := server.DefaultConfig()
	cfg.ID = id
	cfg.DataDir = t.TempDir()
	cfg.Engine = "pebble"
	cfg.Listen = server.Listen{HTTP: l.ln.Addr().String(), RPC: servertest.FreeAddr(t), Raft: servertest.FreeAddr(t)}
	cfg.Raft.Tick = server.Duration(10 * time.Millisecond)
	return cfg
}

// start opens a node from cfg (validated here) and serves its REST API on
// l. Both stop when the test ends.
func start(t *testing.T, cfg server.Config, l listener) *testNode {
	t.Helper()
	require.NoError(t, cfg.Validate())
	reg := prometheus.NewRegistry()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := server.Open(cfg, reg, quiet)
	require.NoError(t, err)
	tn := &testNode{node: n, url: l.url, logs: &syncBuffer{}}
	h := rest.New(n, rest.Options{Gatherer: reg, Metrics: api.NewMetrics(reg), Logger: slog.New(slog.NewTextHandler(tn.logs, nil))})
	tn.srv = httptest.NewUnstartedServer(h)
	tn.srv.Listener.Close()
	tn.srv.Listener = l.ln
	tn.srv.Start()
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

// stop stops serving and closes the node, once.
func (n *testNode) stop(t *testing.T) {
	n.once.Do(func() {
		n.srv.Close()
		require.NoError(t, n.node.Close())
	})
}

// startSingle starts a single-node cluster and waits until it leads.
func startSingle(t *testing.T, tweak func(*server.Config)) *testNode {
	t.Helper()
	l := newListener(t)
	cfg := testConfig(t, 1, l)
	if tweak != nil {
		tweak(&cfg)
	}
	n := start(t, cfg, l)
	waitLeader(t, n)
	return n
}

// startCluster starts a cluster of size nodes and waits for a leader.
func startCluster(t *testing.T, size int) []*testNode {
	t.Helper()
	return startClusterWith(t, size, nil)
}

// startClusterWith starts a cluster, letting tweak change each node's
// configuration first (its Cluster.Members list is shared by all).
func startClusterWith(t *testing.T, size int, tweak func(*server.Config)) []*testNode {
	t.Helper()
	ls := make([]listener, size)
	cfgs := make([]server.Config, size)
	var members []server.Member
	for i := range size {
		ls[i] = newListener(t)
		cfgs[i] = testConfig(t, uint64(i+1), ls[i])
		members = append(members, server.Member{ID: uint64(i + 1), Raft: cfgs[i].Listen.Raft, HTTP: ls[i].url, RPC: cfgs[i].Listen.RPC})
	}
	nodes := make([]*testNode, size)
	for i := range size {
		cfgs[i].Cluster.Members = members
		if tweak != nil {
			tweak(&cfgs[i])
		}
		nodes[i] = start(t, cfgs[i], ls[i])
	}
	servers := make([]*server.Node, len(nodes))
	for i, n := range nodes {
		servers[i] = n.node
	}
	servertest.WaitAgreedLeader(t, servers...)
	return nodes
}

func waitLeader(t *testing.T, n *testNode) {
	t.Helper()
	require.Eventually(t, func() bool {
		ok, _ := n.node.Ready()
		return ok && n.node.Status().Role == "leader"
	}, 10*time.Second, 10*time.Millisecond)
}

// leaderAndFollowers splits a cluster by role, as the nodes see it now.
func leaderAndFollowers(t *testing.T, nodes []*testNode) (*testNode, []*testNode) {
	t.Helper()
	var lead *testNode
	var fol []*testNode
	for _, n := range nodes {
		if n.node.Status().Role == "leader" {
			lead = n
		} else {
			fol = append(fol, n)
		}
	}
	require.NotNil(t, lead, "a leader")
	return lead, fol
}

// answer is an HTTP answer, body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; body may be nil, a string, []byte or any value to
// send as JSON.
func do(t *testing.T, method, url string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	return send(t, req)
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, b}
}

// decode decodes a JSON answer of status want into v.
func (a answer) decode(t *testing.T, want int, v any) {
	t.Helper()
	require.Equal(t, want, a.status, "body: %s", a.body)
	require.Equal(t, "application/json", a.header.Get("Content-Type"))
	require.NoError(t, json.Unmarshal(a.body, v), "body: %s", a.body)
}

// apiErr is the JSON of an error answer.
type apiErr struct {
	Error struct {
		Code     string  `json:"code"`
		Message  string  `json:"message"`
		Op       *int    `json:"op"`
		Key      *string `json:"key"`
		Expected *uint64 `json:"expected"`
		Actual   *uint64 `json:"actual"`
		Leader   uint64  `json:"leader"`
	} `json:"error"`
}

// requireError checks that a is a JSON error of status and code, and
// returns it.
func (a answer) requireError(t *testing.T, status int, code string) apiErr {
	t.Helper()
	var e apiErr
	a.decode(t, status, &e)
	require.Equal(t, code, e.Error.Code, "body: %s", a.body)
	require.NotEmpty(t, e.Error.Message)
	return e
}

// put stores value under the (already escaped) key path and returns the
// new version.
func put(t *testing.T, base, key, value string) uint64 {
	t.Helper()
	var out struct{ Version uint64 }
	do(t, http.MethodPut, base+"/v1/kv/"+key, value).decode(t, http.StatusOK, &out)
	require.NotZero(t, out.Version)
	return out.Version
}

func (n *testNode) id() string { return fmt.Sprint(n.node.ID()) }

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
