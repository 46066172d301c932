package sigv4

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestURIEncode(t *testing.T) {
	tests := []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"", true, ""},
		{"AZaz09-_.~", false, "AZaz09-_.~"},
		{"a b", true, "a%20b"},
		{"a+b", true, "a%2Bb"},
		{"a%2Bb", true, "a%252Bb"}, // a key that contains the three characters "%2B"
		{"a/b", true, "a/b"},
		{"a/b", false, "a%2Fb"},
		{"ключ", true, "%D0%BA%D0%BB%D1%8E%D1%87"},
		{"=&?#", false, "%3D%26%3F%23"},
		{"\x00\xff", true, "%00%FF"},
	}
	for _, tc := range tests {
		if got := uriEncode(tc.in, tc.keepSlash); got != tc.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", tc.in, tc.keepSlash, got, tc.want)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "/"},
		{"/", "/"},
		{"/bucket/a+b", "/bucket/a%2Bb"},
		{"/bucket/dir//x/", "/bucket/dir//x/"},
		{"/bucket/../x/./y", "/bucket/../x/./y"},
		{"/bucket/test$file.text", "/bucket/test%24file.text"},
	}
	for _, tc := range tests {
		if got := canonicalURI(tc.path); got != tc.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		raw  string
		skip bool
		want string
	}{
		{"", false, ""},
		{"acl", false, "acl="},
		{"versioning&", false, "versioning="},
		{"b=2&a=x+y&a=%2B&c=", false, "a=%2B&a=x%20y&b=2&c="},
		{"prefix=a%2Fb&list-type=2&encoding-type=url", false, "encoding-type=url&list-type=2&prefix=a%2Fb"},
		{"k=%7e~", false, "k=~~"},
		{"a-b=1&a/b=2", false, "a%2Fb=2&a-b=1"}, // sorted after encoding: '%' < '-'
		{"a=%zz", false, "a=%25zz"},
		{"x=1&X-Amz-Signature=abc&a=1", true, "a=1&x=1"},
		{"x=1&X-Amz-Signature=abc", false, "X-Amz-Signature=abc&x=1"},
		{"uploads&prefix=%E2%9C%93", false, "prefix=%E2%9C%93&uploads="},
	}
	for _, tc := range tests {
		if got := canonicalQuery(parseQuery(tc.raw), tc.skip); got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", tc.raw, tc.skip, got, tc.want)
		}
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"  a   b  ", "a b"},
		{"\ta  b\t", "a b"},
		{"a\t\tb", "a\t\tb"},
	}
	for _, tc := range tests {
		if got := canonicalHeaderValue(tc.in); got != tc.want {
			t.Errorf("canonicalHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// net/http's server moves Host, Content-Length (for chunked bodies) and
// Transfer-Encoding out of r.Header; canonicalHeaders rebuilds them.
func TestCanonicalHeadersRebuildsMovedHeaders(t *testing.T) {
	r := &http.Request{
		Host:             "bucket.example.com:9000",
		ContentLength:    42,
		TransferEncoding: []string{"chunked"},
		Header: http.Header{
			"X-Amz-Meta-A": {" one ", "two  words"},
			"Content-Type": {"text/plain"},
		},
	}
	got := canonicalHeaders(r, []string{"content-length", "content-type", "host", "transfer-encoding", "x-amz-meta-a", "x-amz-missing"})
	want := "content-length:42\ncontent-type:text/plain\nhost:bucket.example.com:9000\ntransfer-encoding:chunked\nx-amz-meta-a:one,two words\nx-amz-missing:\n"
	if got != want {
		t.Fatalf("canonicalHeaders:\n%s\nwant:\n%s", got, want)
	}
	r.Header.Set("Content-Length", "7")
	if got := canonicalHeaders(r, []string{"content-length"}); got != "content-length:7\n" {
		t.Fatalf("Content-Length header not preferred: %q", got)
	}
}

func TestParseAuthorization(t *testing.T) {
	const sig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	valid := []struct {
		h         string
		accessKey string
	}{
		{"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig, "AK"},
		{"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=" + sig, "AK"},
		{"AWS4-HMAC-SHA256  Signature=" + sig + " , Credential=AK/20261125/us-east-1/s3/aws4_request ,SignedHeaders=host;x-amz-date", "AK"},
		{"AWS4-HMAC-SHA256 Credential=A/K/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, "A/K"},
	}
	for _, tc := range valid {
		a, err := parseAuthorization(tc.h)
		if err != nil {
			t.Errorf("parseAuthorization(%q): %v", tc.h, err)
			continue
		}
		if a.cred.accessKey != tc.accessKey || a.cred.scope() != "20261125/us-east-1/s3/aws4_request" || a.signature != sig || a.headers[0] != "host" {
			t.Errorf("parseAuthorization(%q) = %+v", tc.h, a)
		}
	}
	invalid := []string{
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=",
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/2026-11-25/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host;;x, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig + ", Extra=1",
		"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request SignedHeaders=host Signature=" + sig,
	}
	for _, h := range invalid {
		if a, err := parseAuthorization(h); err == nil {
			t.Errorf("parseAuthorization(%q) = %+v, want an error", h, a)
		}
	}
}

func TestKeyCache(t *testing.T) {
	var kc keyCache
	c := credential{accessKey: "AK", date: "20261125", region: "us-east-1", service: "s3", terminal: "aws4_request"}
	k1 := kc.get("secret", c)
	if want := deriveSigningKey("secret", c); string(k1) != string(want) {
		t.Fatal("cached key differs from the derived key")
	}
	if k2 := kc.get("secret", c); &k2[0] != &k1[0] {
		t.Fatal("second lookup was not served from the cache")
	}
	if k := kc.get("other", c); string(k) == string(k1) {
		t.Fatal("a different secret gave the same key")
	}
	for i := 0; i < 3*keyCacheSize; i++ {
		c.region = fmt.Sprintf("region-%d", i)
		kc.get("secret", c)
		if n := kc.len(); n > keyCacheSize {
			t.Fatalf("cache holds %d keys, bound is %d", n, keyCacheSize)
		}
	}
	// The most recent entries survive eviction.
	k := kc.get("secret", c)
	if again := kc.get("secret", c); &again[0] != &k[0] {
		t.Fatal("the newest entry was evicted")
	}
}

func TestErrorDetails(t *testing.T) {
	e := errSignatureMismatch(Detail{"StringToSign", "sts"})
	if e.Detail("StringToSign") != "sts" || e.Detail("Missing") != "" || !strings.HasPrefix(e.Error(), "SignatureDoesNotMatch: ") {
		t.Fatalf("%+v", e)
	}
}
