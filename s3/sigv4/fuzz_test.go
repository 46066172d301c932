package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	const sig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig)
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=" + sig)
	f.Add("AWS4-HMAC-SHA256 Signature=x,Credential=a/b/20200101/r/s/aws4_request,SignedHeaders=a;b;c")
	f.Add("AWS AKID:c2ln")
	f.Add("AWS4-HMAC-SHA256 Credential=,,,=,=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			return
		}
		if a.cred.accessKey == "" || len(a.headers) == 0 || a.signature == "" {
			t.Fatalf("accepted %q with an empty part: %+v", h, a)
		}
		for _, n := range a.headers {
			if n == "" || strings.ContainsAny(n, " \t\r\n:;") {
				t.Fatalf("accepted header name %q", n)
			}
		}
		// What was parsed, written back in the canonical form, parses to
		// the same thing.
		again := a.algorithm + " Credential=" + a.cred.accessKey + "/" + a.cred.scope() +
			", SignedHeaders=" + a.signedHeaders + ", Signature=" + a.signature
		b, err := parseAuthorization(again)
		if err != nil {
			t.Fatalf("%q parsed, its rewrite %q does not: %v", h, again, err)
		}
		if b.cred != a.cred || b.signedHeaders != a.signedHeaders || b.signature != a.signature {
			t.Fatalf("%q: %+v, rewritten: %+v", h, a, b)
		}
	})
}

// FuzzChunkedReader feeds arbitrary bodies to the aws-chunked decoder in
// every mode. It must never panic, never return an error other than an
// *Error, never yield more bytes than it was given, and never hold a buffer
// larger than the chunk limit.
func FuzzChunkedReader(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint8(0), int64(-1))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(1), int64(5))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n"), uint8(1), int64(-1))
	f.Add([]byte(signedBody([]string{"hello", "world"}, nil)), uint8(2), int64(10))
	f.Add([]byte(signedBody([]string{"hello"}, []string{"x-amz-checksum-crc32:abc="})), uint8(3), int64(5))
	f.Add([]byte("400;chunk-signature=00\r\n"), uint8(2), int64(-1))
	f.Add([]byte("0\r\n\r\n\r\nx:y\r\n"), uint8(1), int64(0))
	const limit = 1024
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, decoded int64) {
		if decoded < -1 {
			decoded = -1
		}
		cfg := chunkedConfig{trailer: mode&1 == 1, decodedLength: decoded, maxChunkSize: limit}
		if mode&2 == 2 {
			cfg.chain = fixedChain()
		}
		if mode&4 == 4 {
			cfg.trailerNames = []string{"x-amz-checksum-crc32"}
		}
		cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), cfg)
		n, err := io.Copy(io.Discard, cr)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if cr.Trailers() != nil {
				t.Fatal("trailers after an error")
			}
		} else {
			if cr.Trailers() == nil {
				t.Fatal("no trailers after success")
			}
			if decoded >= 0 && n != decoded {
				t.Fatalf("decoded %d bytes, declared %d", n, decoded)
			}
		}
		if n > int64(len(body)) {
			t.Fatalf("decoded %d bytes from %d", n, len(body))
		}
		if c := cap(cr.buf); c > limit {
			t.Fatalf("chunk buffer of %d bytes, limit %d", c, limit)
		}
	})
}

// FuzzCanonicalURI checks the one-decode, one-encode rule: the canonical
// URI decodes back to the path, contains only unreserved characters, '/'
// and upper-case escapes, and is a fixed point (encoding the decoding of a
// canonical URI gives it back, so nothing is ever encoded twice).
func FuzzCanonicalURI(f *testing.F) {
	for _, k := range trickyKeys {
		f.Add("/bucket/" + k)
	}
	f.Add("")
	f.Add("/%2B/+/%252B")
	f.Fuzz(func(t *testing.T, path string) {
		c := canonicalURI(path)
		want := path
		if want == "" {
			want = "/"
		}
		dec, err := url.PathUnescape(c)
		if err != nil || dec != want {
			t.Fatalf("canonicalURI(%q) = %q decodes to %q, %v", path, c, dec, err)
		}
		for i := 0; i < len(c); i++ {
			ch := c[i]
			switch {
			case ch == '%':
				if i+2 >= len(c) || unhex(c[i+1]) < 0 || unhex(c[i+2]) < 0 ||
					strings.ToUpper(c[i+1:i+3]) != c[i+1:i+3] {
					t.Fatalf("canonicalURI(%q) = %q: bad escape at %d", path, c, i)
				}
				i += 2
			case !keepRaw(ch, true):
				t.Fatalf("canonicalURI(%q) = %q: raw %q", path, c, ch)
			}
		}
		if again := canonicalURI(dec); again != c {
			t.Fatalf("not a fixed point: %q -> %q -> %q", path, c, again)
		}
	})
}

// A SigV2 presigned URL, mutated anywhere: the verifier never panics, and
// what it accepts stops being accepted when the signature changes.
func FuzzPresignedV2(f *testing.F) {
	f.Add("GET", "/bkt/dir/a%20b%2Bc~d.txt", "response-content-type=text%2Fplain%3B%20charset%3Dutf-8&AWSAccessKeyId=AKIDEXAMPLE&Signature=ZJ9IH7YFOzvs47Lf8633WnfhLgc%3D&Expires=1795591846")
	f.Add("PUT", "/bkt/up.txt", "AWSAccessKeyId=AKIDEXAMPLE&Signature=cpYreykPYYELj%2FTtlrqR%2FEIlYqg%3D&content-type=text%2Fplain&x-amz-meta-a=b&Expires=1795591846")
	f.Add("GET", "/bkt", "list-type=2&prefix=dir%2F&encoding-type=url&AWSAccessKeyId=AKIDEXAMPLE&Signature=bLGTwgArCAwWsA63Uu%2FzNr9mwQU%3D&Expires=1795591846")
	f.Add("GET", "/", "AWSAccessKeyId=&Signature=&Expires=")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		u, err := url.Parse("http://127.0.0.1:9000" + path + "?" + query)
		if err != nil || !validMethod(method) {
			return
		}
		v := v2Verifier(time.Unix(v2Expires-300, 0))
		verify := func(q string) bool {
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9000/", nil)
			r.Method, r.URL, r.Host = method, &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: q}, "127.0.0.1:9000"
			_, body, err := v.Verify(r)
			if body != nil {
				body.Close()
			}
			return err == nil
		}
		if !verify(u.RawQuery) {
			return
		}
		sig := u.Query().Get("Signature")
		q := u.Query()
		q.Set("Signature", sig+"A")
		if verify(q.Encode()) {
			t.Fatalf("%s %s?%s: accepted with another signature", method, path, query)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "PUT", "HEAD", "DELETE", "POST":
		return true
	}
	return false
}
