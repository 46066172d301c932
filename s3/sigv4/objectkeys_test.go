package sigv4

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Object keys that canonical-URI code gets wrong: spaces, '+', a literal
// "%2B", unicode, "//", "." and ".." segments, a trailing '/', and the
// reserved characters. Each is sent with the path encoding of the client
// that signs it (aws-sdk-go-v2 escapes keys with smithy-go's
// httpbinding.EscapePath, minio-go with s3utils.EncodePath), and must come
// out of the server with r.URL.Path naming exactly the key.
var trickyKeys = []string{
	"plain.txt",
	"with space.txt",
	"a+b",
	"a%2Bb",
	"100%",
	"ключ/файл.txt",
	"emoji 😀.png",
	"dir//double//slash",
	"dir/",
	"trailing//",
	"../up",
	"a/./b/../c",
	"..",
	"~tilde-_.",
	"!$&'()*,;=:@",
	"q?mark#hash",
	"[brackets]{braces}|pipe^caret`tick",
	"tab\there",
	`back\slash"quote<>`,
}

func TestTrickyKeys(t *testing.T) {
	ts := newTestServer(t, testRegion)
	now := time.Now().UTC()
	type client struct {
		name string
		sign func(t *testing.T, key string) *http.Request
	}
	clients := []client{
		{"aws-sdk-go-v2", func(t *testing.T, key string) *http.Request {
			req := newReq(t, "GET", ts.URL+"/bucket/"+httpbinding.EscapePath(key, false)+"?x-id=GetObject", nil)
			awsSign(t, req, emptySHA256, now)
			return req
		}},
		{"aws-sdk-go-v2 presigned", func(t *testing.T, key string) *http.Request {
			return awsPresign(t, "GET", ts.URL+"/bucket/"+httpbinding.EscapePath(key, false), nil, nil, time.Hour, now)
		}},
		{"minio-go", func(t *testing.T, key string) *http.Request {
			req := newReq(t, "GET", ts.URL+"/bucket/"+s3utils.EncodePath(key), nil)
			return minioSign(req, emptySHA256, testRegion)
		}},
		{"minio-go presigned", func(t *testing.T, key string) *http.Request {
			req := newReq(t, "GET", ts.URL+"/bucket/"+s3utils.EncodePath(key), nil)
			return signer.PreSignV4(*req, testAccessKey, testSecret, "", testRegion, 3600)
		}},
		{"generic signer, path as sent", func(t *testing.T, key string) *http.Request {
			// A signer that signs the path exactly as it sends it, with
			// Go's own encoding (which leaves '+', '$', ... as they are).
			u, err := url.Parse(ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "/bucket/" + key
			req := newReq(t, "GET", u.String(), nil)
			awsSign(t, req, emptySHA256, now)
			return req
		}},
	}
	for _, c := range clients {
		for _, key := range trickyKeys {
			t.Run(c.name+"/"+key, func(t *testing.T) {
				ts.do(t, c.sign(t, key)).expect(t, "")
			})
		}
	}
}

// TestTrickyKeysReachTheHandler checks the premise of canonicalURI: the
// handler's r.URL.Path is the key, for every client encoding.
func TestTrickyKeysReachTheHandler(t *testing.T) {
	paths := make(chan string, 1)
	srv := newPathServer(t, paths)
	for _, key := range trickyKeys {
		for _, enc := range []string{httpbinding.EscapePath(key, false), s3utils.EncodePath(key)} {
			req := newReq(t, "GET", srv+"/bucket/"+enc, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := <-paths; got != "/bucket/"+key {
				t.Errorf("key %q sent as %q arrived as %q", key, enc, got)
			}
		}
	}
}

func newPathServer(t *testing.T, paths chan<- string) string {
	ts := newTestServer(t, "")
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
	})
	return ts.URL
}

func TestCanonicalURIOfKeys(t *testing.T) {
	for _, key := range trickyKeys {
		path := "/bucket/" + key
		got := canonicalURI(path)
		if want := "/bucket/" + httpbinding.EscapePath(key, false); got != want {
			t.Errorf("canonicalURI(%q) = %q, aws-sdk-go-v2 sends %q", path, got, want)
		}
		if want := "/bucket/" + s3utils.EncodePath(key); got != want {
			t.Errorf("canonicalURI(%q) = %q, minio-go sends %q", path, got, want)
		}
	}
}
