package rest

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/stretchr/testify/require"
)

func TestParseRequest(t *testing.T) {
	req, err := parseRequest("PUT", "/v1/kv/a/b c", "if_version=0&ttl=1m30s", []byte("v"))
	require.NoError(t, err)
	require.Equal(t, "kv.put", req.route.op)
	require.Equal(t, kv.Command{Kind: kv.CmdOps, Ops: []kv.Op{
		{Type: kv.OpPut, Key: []byte("a/b c"), Value: []byte("v"), CheckVersion: true, TTL: 90 * time.Second},
	}}, req.cmd)

	req, err = parseRequest("PUT", "/v1/kv/k", "", nil)
	require.NoError(t, err)
	require.Nil(t, req.cmd.Ops[0].Value, "an empty body is an empty value")
	require.False(t, req.cmd.Ops[0].CheckVersion, "no if_version, no condition")

	req, err = parseRequest("HEAD", "/v1/kv/k", "consistency=stale", nil)
	require.NoError(t, err)
	require.Equal(t, "kv.get", req.route.op)
	require.True(t, req.stale)

	req, err = parseRequest("GET", "/v1/kv", "prefix=p&start=p1&end=p9&limit=99999", nil)
	require.NoError(t, err)
	require.Equal(t, kv.ScanRequest{Prefix: []byte("p"), Start: []byte("p1"), End: []byte("p9"), Limit: kv.MaxScanLimit}, req.scan)

	req, err = parseRequest("DELETE", "/v1/cluster/members/12", "", nil)
	require.NoError(t, err)
	require.EqualValues(t, 12, req.id)

	req, err = parseRequest("POST", "/v1/cluster/transfer-leader", "", []byte(" \n"))
	require.NoError(t, err)
	require.Zero(t, req.id, "no body: pick a voter")

	_, err = parseRequest("GET", "/v1/kv/k", "consistency=stale;x", nil)
	var e *apiError
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusBadRequest, e.Status)
}

// FuzzParseRequest feeds parsing whatever a client could send: it never
// panics, answers bad input with a 4xx, and what it accepts is a request
// its route can serve.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []struct{ method, path, query, body string }{
		{"PUT", "/v1/kv/a/b", "if_version=3&ttl=30s", "value"},
		{"GET", "/v1/kv/k", "consistency=stale", ""},
		{"DELETE", "/v1/kv/k", "if_version=0", ""},
		{"GET", "/v1/kv", "prefix=a&start=b&end=c&limit=10", ""},
		{"POST", "/v1/batch", "", `{"ops":[{"op":"put","key":"k","value":"dg==","if_version":0,"ttl":"1s"},{"op":"get","key":"k"},{"op":"delete","key_base64":"/w=="}]}`},
		{"POST", "/v1/batch", "", `{"ops":[{"op":"get","key":"k","if_version":1}]}`},
		{"POST", "/v1/cluster/members", "", `{"id":4,"raft":"127.0.0.1:1","http":"http://127.0.0.1:2","rpc":""}`},
		{"DELETE", "/v1/cluster/members/4", "", ""},
		{"POST", "/v1/cluster/transfer-leader", "", `{"to":2}`},
		{"GET", "/healthz", "", ""},
		{"PATCH", "/v1/kv/k", "", ""},
		{"GET", "/nope", "a=%zz&b=1&b=2", ""},
		{"PUT", "/v1/kv/", "ttl=-5s", ""},
	} {
		f.Add(s.method, s.path, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		req, err := parseRequest(method, path, query, body)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) {
				t.Fatalf("%T %v: not an *apiError", err, err)
			}
			if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
				t.Fatalf("bad input answered %d %q %q", e.Status, e.Code, e.Message)
			}
			if e.Status == http.StatusMethodNotAllowed && e.Allow == "" {
				t.Fatalf("405 without an Allow header")
			}
			return
		}
		rt := req.route
		if rt.method != method && !(method == http.MethodHead && rt.method == http.MethodGet) {
			t.Fatalf("%s routed to a %s route", method, rt.method)
		}
		switch rt.op {
		case "kv.get":
			if len(req.key) == 0 || !strings.HasSuffix(path, string(req.key)) {
				t.Fatalf("key %q from path %q", req.key, path)
			}
		case "kv.put", "kv.delete", "batch":
			if len(req.cmd.Ops) == 0 {
				t.Fatalf("%s without ops", rt.op)
			}
			for _, op := range req.cmd.Ops {
				if len(op.Key) == 0 || op.TTL < 0 {
					t.Fatalf("bad op %+v accepted", op)
				}
			}
			// What the node checks before proposing must not panic either,
			// and a bad command is a client error.
			if err := kv.DefaultLimits().Check(&req.cmd); err != nil {
				if code := kv.ErrorCode(err); code != "invalid_argument" && code != "too_large" {
					t.Fatalf("limits: %v (%s)", err, code)
				}
			}
		case "kv.scan":
			if req.scan.Limit < 0 || req.scan.Limit > kv.MaxScanLimit {
				t.Fatalf("scan limit %d", req.scan.Limit)
			}
		case "cluster.add_member":
			if req.member.ID == 0 || req.member.Raft == "" {
				t.Fatalf("member %+v accepted", req.member)
			}
		case "cluster.remove_member":
			if req.id == 0 {
				t.Fatal("member 0 accepted")
			}
		}
		// Parsing is pure: the same input parses the same way.
		again, err := parseRequest(method, path, query, body)
		if err != nil || again.route != rt {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

// TestParseQueryUnescapes checks that keys in a scan's query are bytes,
// like keys in the path.
func TestParseQueryUnescapes(t *testing.T) {
	req, err := parseRequest("GET", "/v1/kv", "prefix="+url.QueryEscape("a/\xff b"), nil)
	require.NoError(t, err)
	require.Equal(t, []byte("a/\xff b"), req.scan.Prefix)
}
