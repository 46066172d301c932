package sigv4

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var verifyNow = time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)

func newVerifier() *Verifier {
	return &Verifier{
		Creds:  StaticCredentials{testAccessKey: testSecret},
		Region: "eu-central-1",
		Now:    func() time.Time { return verifyNow },
	}
}

// signed returns a server-side GET request signed by aws-sdk-go-v2.
func signed(t *testing.T, target string, edit func(r *http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.Host = "s3.example.com"
	if edit != nil {
		edit(r)
	}
	awsSign(t, r, emptySHA256, verifyNow)
	return r
}

// selfSign signs r with this package's own canonicalisation, for requests
// the SDKs do not make (a Date header instead of X-Amz-Date, ...).
func selfSign(r *http.Request, cred credential, amzDate, payload string, headers ...string) {
	names := strings.Join(headers, ";")
	canon := canonicalRequest(r.Method, canonicalURI(r.URL.Path), canonicalQuery(parseQuery(r.URL.RawQuery), false),
		canonicalHeaders(r, headers), names, payload)
	sig := hmacSHA256(deriveSigningKey(testSecret, cred), stringToSign(amzDate, cred.scope(), canon))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+cred.accessKey+"/"+cred.scope()+
		", SignedHeaders="+names+", Signature="+hex.EncodeToString(sig))
}

func replaceAuth(old, new string) func(r *http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
	}
}

func TestVerifyErrors(t *testing.T) {
	date := verifyNow.Format(scopeDateFmt)
	tests := []struct {
		name  string
		req   func(t *testing.T) *http.Request
		after func(r *http.Request)
		code  string
	}{
		{name: "anonymous", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/bucket/key", nil)
		}, code: CodeAccessDenied},
		{name: "empty Authorization header is anonymous", req: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "/bucket/key", nil)
			r.Header.Set("Authorization", " ")
			return r
		}, code: CodeAccessDenied},
		{name: "signature version 2", req: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "/bucket/key", nil)
			r.Header.Set("Authorization", "AWS AKID:c2lnbmF0dXJl")
			return r
		}, code: CodeInvalidRequest},
		{name: "signature version 2, presigned, unknown key", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/bucket/key?AWSAccessKeyId=AKID&Expires=1700000000&Signature=c2ln", nil)
		}, code: CodeInvalidAccessKeyID},
		{name: "SigV4a", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), code: CodeInvalidRequest},
		{name: "algorithm only", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256") }, code: CodeAuthorizationHeaderMalformed},
		{name: "two Authorization headers", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, code: CodeAuthorizationHeaderMalformed},
		{name: "credential date differs from X-Amz-Date", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("/"+date+"/", "/20261124/"), code: CodeAuthorizationHeaderMalformed},
		{name: "wrong service", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("/s3/", "/ec2/"), code: CodeAuthorizationHeaderMalformed},
		{name: "wrong terminal", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("/aws4_request", "/aws5_request"), code: CodeAuthorizationHeaderMalformed},
		{name: "signature not hex", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("Signature=", "Signature=zz"), code: CodeSignatureDoesNotMatch},
		{name: "host not signed", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: replaceAuth("SignedHeaders=host;", "SignedHeaders="), code: CodeAccessDenied},
		{name: "no date", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: CodeAccessDenied},
		{name: "malformed X-Amz-Date", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-11-25T10:15:00Z") }, code: CodeAccessDenied},
		{name: "bad x-amz-content-sha256", req: func(t *testing.T) *http.Request { return signed(t, "/b/k", nil) },
			after: func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
			}, code: CodeInvalidArgument},
		{name: "bad x-amz-decoded-content-length", req: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("PUT", "/b/k", strings.NewReader("0\r\n\r\n"))
			r.Header.Set("X-Amz-Decoded-Content-Length", "-1")
			awsSign(t, r, string(PayloadStreamingUnsignedTrailer), verifyNow)
			return r
		}, code: CodeInvalidArgument},
		{name: "presigned, bad algorithm", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, negative expiry", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, expiry not a number", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=1h&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, bad date", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, region", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fsa-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, parameter twice", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Signature=01", nil)
		}, code: CodeAuthorizationQueryParams},
		{name: "presigned, unknown key", req: func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261125T101500Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil)
		}, code: CodeInvalidAccessKeyID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req(t)
			if tc.after != nil {
				tc.after(r)
			}
			auth, body, err := newVerifier().Verify(r)
			if err == nil {
				t.Fatalf("verified: %+v", auth)
			}
			if auth != nil || body != nil {
				t.Fatal("results besides the error")
			}
			wantCode(t, err, tc.code)
			t.Log(err)
		})
	}
}

func TestVerifyAnonymousIsDistinct(t *testing.T) {
	_, _, err := newVerifier().Verify(httptest.NewRequest("GET", "/b/k", nil))
	if !errors.Is(err, ErrAnonymous) {
		t.Fatalf("err = %v, want ErrAnonymous", err)
	}
	_, _, err = newVerifier().Verify(signed(t, "/b/k", replaceAuth("/s3/", "/s4/")))
	if errors.Is(err, ErrAnonymous) {
		t.Fatal("a failed signature is reported as anonymous")
	}
}

func TestVerifyErrorDetails(t *testing.T) {
	r := signed(t, "/b/k", nil)
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	_, _, err := newVerifier().Verify(r)
	e := asError(t, err)
	if e.Code != CodeSignatureDoesNotMatch || e.Status != http.StatusForbidden {
		t.Fatalf("%+v", e)
	}
	if cr := e.Detail("CanonicalRequest"); !strings.HasPrefix(cr, "GET\n/b/k\n\n") || !strings.HasSuffix(cr, "\nUNSIGNED-PAYLOAD") {
		t.Fatalf("CanonicalRequest detail %q", cr)
	}
	if !strings.HasPrefix(e.Detail("StringToSign"), "AWS4-HMAC-SHA256\n"+verifyNow.Format(amzDateFormat)+"\n") {
		t.Fatalf("StringToSign detail %q", e.Detail("StringToSign"))
	}

	v := newVerifier()
	v.Now = func() time.Time { return verifyNow.Add(time.Hour) }
	_, _, err = v.Verify(signed(t, "/b/k", nil))
	e = asError(t, err)
	if e.Code != CodeRequestTimeTooSkewed || e.Detail("MaxAllowedSkewMilliseconds") != "900000" || e.Detail("RequestTime") != verifyNow.Format(amzDateFormat) {
		t.Fatalf("%+v", e)
	}

	v = newVerifier()
	v.Region = "eu-west-3"
	_, _, err = v.Verify(signed(t, "/b/k", func(r *http.Request) {}))
	if err != nil {
		t.Fatalf("us-east-1 refused: %v", err)
	}
	r = httptest.NewRequest("GET", "/b/k", nil)
	awsSignWith(t, r, emptySHA256, verifyNow, "ap-east-1", awsCreds)
	_, _, err = v.Verify(r)
	if e = asError(t, err); e.Code != CodeAuthorizationHeaderMalformed || e.Detail("Region") != "eu-west-3" {
		t.Fatalf("%+v", e)
	}
	v.Region = ""
	if _, _, err = v.Verify(r); err != nil {
		t.Fatalf("an empty Region should accept any region: %v", err)
	}
}

func TestVerifyDateHeader(t *testing.T) {
	cred := credential{accessKey: testAccessKey, date: verifyNow.Format(scopeDateFmt), region: "us-east-1", service: "s3", terminal: "aws4_request"}
	r := httptest.NewRequest("GET", "/b/k", nil)
	r.Header.Set("Date", verifyNow.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	selfSign(r, cred, verifyNow.Format(amzDateFormat), emptySHA256, "date", "host", "x-amz-content-sha256")
	auth, _, err := newVerifier().Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !auth.SignedAt.Equal(verifyNow) {
		t.Fatalf("SignedAt %v", auth.SignedAt)
	}
}

func TestVerifyCredentialsFunc(t *testing.T) {
	calls := 0
	v := newVerifier()
	v.Creds = CredentialsFunc(func(ak string) (string, bool) {
		calls++
		return testSecret, ak == testAccessKey
	})
	if _, _, err := v.Verify(signed(t, "/b/k", nil)); err != nil || calls != 1 {
		t.Fatalf("err %v, %d calls", err, calls)
	}
	v.Creds = nil
	_, _, err := v.Verify(signed(t, "/b/k", nil))
	wantCode(t, err, CodeInvalidAccessKeyID)
}

func TestVerifyEmptyBodyAndHEAD(t *testing.T) {
	r := signed(t, "/b/k", func(r *http.Request) { r.Method = "HEAD" })
	r.Body = nil
	_, body, err := newVerifier().Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(body); err != nil || len(b) != 0 {
		t.Fatalf("body %q, err %v", b, err)
	}
}

// A signer that hoists X-Amz-* headers into a presigned query (what
// aws-sdk-go-v2 does for, e.g., x-amz-expected-bucket-owner) is fine.
func TestPresignedHoistedParameters(t *testing.T) {
	r := httptest.NewRequest("GET", "/b/k", nil)
	r.Host = "s3.example.com"
	r.Header.Set("X-Amz-Expected-Bucket-Owner", "123456789012")
	q := r.URL.Query()
	q.Set("X-Amz-Expires", "60")
	r.URL.RawQuery = q.Encode()
	u, hdr, err := s3Signer().PresignHTTP(context.Background(), awsCreds, r, "UNSIGNED-PAYLOAD", "s3", testRegion, verifyNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "x-amz-expected-bucket-owner=123456789012") {
		t.Fatalf("not hoisted: %s", u)
	}
	out := httptest.NewRequest("GET", u, nil)
	out.Host = "s3.example.com"
	for k, v := range hdr {
		if k != "host" {
			out.Header.Set(k, v[0])
		}
	}
	if _, _, err := newVerifier().Verify(out); err != nil {
		t.Fatal(err)
	}
}
