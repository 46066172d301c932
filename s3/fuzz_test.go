package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

// The XML request bodies: whatever the bytes, decoding never panics, and
// fails only with MalformedXML.

func fuzzXML(f *testing.F, seeds []string, decode func([]byte) error) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := decode(b)
		if err == nil {
			return
		}
		var e *Error
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, codeMalformedXML, e.Code)
		require.Equal(t, http.StatusBadRequest, e.Status)
	})
}

func FuzzCompleteMultipartUploadXML(f *testing.F) {
	fuzzXML(f, []string{
		`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>b</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload>`, ``, `<?xml version="1.0"?><!-- c --><CompleteMultipartUpload/>`,
		`<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber></Part></CompleteMultipartUpload>`,
	}, func(b []byte) error {
		var req completeRequest
		if err := decodeXML(b, &req); err != nil {
			return err
		}
		for _, p := range req.Parts {
			_ = p.checksums()
			_ = trimETag(p.ETag)
		}
		return nil
	})
}

func FuzzDeleteObjectsXML(f *testing.F) {
	fuzzXML(f, []string{
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>null</VersionId></Object></Delete>`,
		`<Delete><Quiet>maybe</Quiet></Delete>`, `<Delete><Object><Key>&amp;&lt;</Key></Object></Delete>`,
		`<Delete><Object><Key>a</Key></Object></Delete><x/>`, `<!DOCTYPE x [<!ENTITY a "b">]><Delete/>`,
	}, func(b []byte) error {
		var req deleteRequest
		return decodeXML(b, &req)
	})
}

func FuzzCreateBucketConfigurationXML(f *testing.F) {
	fuzzXML(f, []string{
		`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`,
		`<CreateBucketConfiguration/>`, `<CreateBucketConfiguration><LocationConstraint>`, "\xef\xbb\xbf<a/>",
	}, func(b []byte) error {
		var cfg createBucketConfiguration
		return decodeXML(b, &cfg)
	})
}

// FuzzRouter: any method, host, path and query is routed without a panic
// to an implemented operation, or to a 4xx or 501 error.
func FuzzRouter(f *testing.F) {
	for _, s := range []struct {
		method, host, path, query string
		copy                      bool
	}{
		{"GET", "127.0.0.1:9000", "/", "", false},
		{"GET", "bucket.s3.test", "/a//b/../c", "list-type=2&prefix=x", false},
		{"PUT", "s3.test", "/bucket/key", "partNumber=1&uploadId=x", true},
		{"POST", "localhost", "/bucket", "delete", false},
		{"DELETE", "b.s3.test:80", "", "uploadId=&tagging", false},
		{"HEAD", "[::1]:9000", "//", "acl&versions", false},
		{"PATCH", "", "/b/k", "x-id=PutObject", false},
		{"GET", ".s3.test", "/b", "location&uploads&versioning", false},
	} {
		f.Add(s.method, s.host, s.path, s.query, s.copy)
	}
	f.Fuzz(func(t *testing.T, method, host, path, query string, copySource bool) {
		r := &http.Request{Method: method, Host: host, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		if copySource {
			r.Header.Set("X-Amz-Copy-Source", "b/k")
		}
		rt := routeRequest(r, "s3.test")
		if rt.err == nil {
			_, ok := handlers[rt.op]
			require.True(t, ok, "operation %q has no handler", rt.op)
			return
		}
		require.NotEmpty(t, rt.err.Code)
		require.True(t, rt.err.Status == http.StatusNotImplemented || rt.err.Status >= 400 && rt.err.Status < 500, "%d", rt.err.Status)
		rec := httptest.NewRecorder()
		writeError(rec, r, rt, "REQ", rt.err)
		require.Equal(t, rt.err.Status, rec.Code)
		if method != http.MethodHead {
			require.Contains(t, rec.Body.String(), "<Code>"+rt.err.Code+"</Code>")
		}
	})
}

// FuzzHandler sends signed requests of any method, path, query, headers
// and body to a real node's handler: it never panics, never answers 500,
// and every error is an XML document.
func FuzzHandler(f *testing.F) {
	h := fuzzNode(f)
	for _, s := range []struct {
		method           uint8
		path, query, hdr string
		body             []byte
	}{
		{0, "/fuzz", "", "", nil},
		{1, "/fuzz/k", "", "Content-Type: text/plain", []byte("hello")},
		{1, "/fuzz/k", "partNumber=1&uploadId=abc", "", []byte("part")},
		{2, "/fuzz", "delete", "", []byte("<Delete><Object><Key>k</Key></Object></Delete>")},
		{2, "/fuzz/k", "uploads", "x-amz-checksum-algorithm: CRC32", nil},
		{0, "/fuzz", "list-type=2&continuation-token=zz&max-keys=1&delimiter=/", "", nil},
		{0, "/fuzz/k", "", "Range: bytes=-0", nil},
		{0, "/fuzz/k", "", "If-Modified-Since: garbage", nil},
		{1, "/fuzz/c", "", "x-amz-copy-source: /fuzz/k?versionId=7", nil},
		{1, "/fuzz/c", "partNumber=1&uploadId=u", "x-amz-copy-source: fuzz/k\nx-amz-copy-source-range: bytes=1-", nil},
		{3, "/fuzz/k", "uploadId=", "", nil},
		{1, "/fuzz2", "", "", []byte("<CreateBucketConfiguration><LocationConstraint>x")},
		{1, "/fuzz/k", "", "Content-MD5: AAAA\nx-amz-checksum-sha1: nope", []byte("x")},
		{4, "/fuzz/%00", "acl", "", nil},
	} {
		f.Add(s.method, s.path, s.query, s.hdr, s.body)
	}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodPatch, http.MethodOptions}
	f.Fuzz(func(t *testing.T, m uint8, path, query, hdr string, body []byte) {
		method := methods[int(m)%len(methods)]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:9000", Path: path, RawQuery: query}
		if _, err := url.Parse(u.String()); err != nil {
			return // not a request line net/http would accept
		}
		r, err := http.NewRequestWithContext(context.Background(), method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, line := range strings.Split(hdr, "\n") {
			name, value, ok := strings.Cut(line, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, " \t\r\x00") || strings.ContainsAny(value, "\r\n\x00") {
				continue
			}
			r.Header.Add(name, strings.TrimSpace(value))
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		r.Header.Set("X-Amz-Content-Sha256", hash)
		if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: "fuzz", SecretAccessKey: "fuzz-secret"}, r, hash, "s3", "us-east-1", time.Now()); err != nil {
			return
		}
		r.RequestURI = r.URL.RequestURI()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		require.NotEqual(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
		if rec.Code >= 400 && method != http.MethodHead {
			require.True(t, strings.HasPrefix(rec.Body.String(), "<?xml"), rec.Body.String())
			require.Contains(t, rec.Body.String(), "<Code>")
		}
		require.NotEmpty(t, rec.Header().Get("X-Amz-Request-Id"))
	})
}

// fuzzNode starts a single-node cluster with a bucket "fuzz" and returns
// its S3 handler.
func fuzzNode(f *testing.F) http.Handler {
	f.Helper()
	addr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(f, err)
		defer l.Close()
		return l.Addr().String()
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = f.TempDir()
	cfg.Engine = "memory"
	cfg.Listen = server.Listen{HTTP: addr(), RPC: addr(), Raft: addr(), S3: addr()}
	cfg.Raft.Tick = server.Duration(10 * time.Millisecond)
	require.NoError(f, cfg.Validate())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := server.Open(cfg, nil, quiet)
	require.NoError(f, err)
	f.Cleanup(func() { n.Close() })
	require.Eventually(f, func() bool { ok, _ := n.Ready(); return ok && n.Status().Role == "leader" }, 10*time.Second, 10*time.Millisecond)
	st := store.New(n.Internal(), store.Options{ChunkSize: 4 << 10})
	require.NoError(f, st.CreateBucket(context.Background(), "fuzz"))
	v := &sigv4.Verifier{Creds: sigv4.StaticCredentials{"fuzz": "fuzz-secret"}, Region: "us-east-1"}
	return New(n, st, v, Options{Logger: quiet})
}
