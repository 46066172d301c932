package sigv4

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The example requests and signatures published in the Amazon S3 API
// reference ("Signature Calculations for the Authorization Header",
// "Authenticating Requests: Using Query Parameters", "Signature
// Calculations ... Transferring Payload in Multiple Chunks" and "...
// Including Trailing Headers"). Only the published values are used here.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleDate      = "20130524T000000Z"
	exampleScope     = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
)

func exampleVerifier(now time.Time) *Verifier {
	return &Verifier{
		Creds:  StaticCredentials{exampleAccessKey: exampleSecret},
		Region: "us-east-1",
		Now:    func() time.Time { return now },
	}
}

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// exampleRequest builds a request as net/http's server hands it to a handler.
func exampleRequest(method, target, host string, body string, headers ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.Host = host
	for i := 0; i < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func authHeader(signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + exampleScope + ",SignedHeaders=" + signed + ",Signature=" + sig
}

func TestAWSExampleHeaderSignatures(t *testing.T) {
	const host = "examplebucket.s3.amazonaws.com"
	tests := []struct {
		name string
		req  *http.Request
		body string
	}{
		{
			name: "GET object",
			req: exampleRequest("GET", "/test.txt", host, "",
				"Range", "bytes=0-9",
				"X-Amz-Content-Sha256", emptySHA256,
				"X-Amz-Date", exampleDate,
				"Authorization", authHeader("host;range;x-amz-content-sha256;x-amz-date",
					"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")),
		},
		{
			name: "PUT object",
			req: exampleRequest("PUT", "/test%24file.text", host, "Welcome to Amazon S3.",
				"Date", "Fri, 24 May 2013 00:00:00 GMT",
				"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
				"X-Amz-Date", exampleDate,
				"Authorization", authHeader("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
					"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")),
			body: "Welcome to Amazon S3.",
		},
		{
			name: "GET bucket lifecycle",
			req: exampleRequest("GET", "/?lifecycle", host, "",
				"X-Amz-Content-Sha256", emptySHA256,
				"X-Amz-Date", exampleDate,
				"Authorization", authHeader("host;x-amz-content-sha256;x-amz-date",
					"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")),
		},
		{
			name: "GET bucket (list objects)",
			req: exampleRequest("GET", "/?max-keys=2&prefix=J", host, "",
				"X-Amz-Content-Sha256", emptySHA256,
				"X-Amz-Date", exampleDate,
				"Authorization", authHeader("host;x-amz-content-sha256;x-amz-date",
					"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth, body, err := exampleVerifier(exampleTime.Add(5 * time.Minute)).Verify(tc.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if string(got) != tc.body {
				t.Fatalf("body %q, want %q", got, tc.body)
			}
			if auth.AccessKey != exampleAccessKey || auth.Presigned || auth.PayloadMode != PayloadSigned {
				t.Fatalf("auth = %+v", auth)
			}
		})
	}
}

func TestAWSExamplePUTObjectBodyTampered(t *testing.T) {
	r := exampleRequest("PUT", "/test%24file.text", "examplebucket.s3.amazonaws.com", "Welcome to Amazon S4.",
		"Date", "Fri, 24 May 2013 00:00:00 GMT",
		"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		"X-Amz-Date", exampleDate,
		"Authorization", authHeader("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
	_, body, err := exampleVerifier(exampleTime).Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, err = io.ReadAll(body)
	wantCode(t, err, CodeContentSHA256Mismatch)
}

func TestAWSExamplePresignedURL(t *testing.T) {
	const target = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	req := func() *http.Request { return exampleRequest("GET", target, "examplebucket.s3.amazonaws.com", "") }

	auth, _, err := exampleVerifier(exampleTime.Add(23 * time.Hour)).Verify(req())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !auth.Presigned || auth.PayloadMode != PayloadUnsigned || !auth.Expires.Equal(exampleTime.Add(24*time.Hour)) {
		t.Fatalf("auth = %+v", auth)
	}

	_, _, err = exampleVerifier(exampleTime.Add(24*time.Hour + time.Second)).Verify(req())
	wantCode(t, err, CodeAccessDenied)
	if e := asError(t, err); e.Message != "Request has expired" {
		t.Fatalf("message %q", e.Message)
	}

	_, _, err = exampleVerifier(exampleTime.Add(-20 * time.Minute)).Verify(req())
	wantCode(t, err, CodeAccessDenied)

	r := req()
	r.Host = "otherbucket.s3.amazonaws.com"
	_, _, err = exampleVerifier(exampleTime).Verify(r)
	wantCode(t, err, CodeSignatureDoesNotMatch)
}

// The chunked-upload example: 65 KiB of 'a' in a 64 KiB chunk and a 1 KiB
// chunk, seed signature 4f232c43...
func exampleChunkedBody(sig1, sig2, sig3 string) string {
	return "10000;chunk-signature=" + sig1 + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=" + sig2 + "\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=" + sig3 + "\r\n\r\n"
}

const (
	exampleChunkSig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	exampleChunkSig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	exampleChunkSig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func exampleChunkedRequest(body string) *http.Request {
	return exampleRequest("PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", body,
		"X-Amz-Date", exampleDate,
		"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
		"Content-Encoding", "aws-chunked",
		"X-Amz-Decoded-Content-Length", "66560",
		"Content-Length", "66824", // as sent, even when a test cuts the body short
		"Authorization", authHeader("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
			"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"))
}

func TestAWSExampleChunkedUpload(t *testing.T) {
	body := exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig3)
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the documentation says 66824", len(body))
	}
	auth, rc, err := exampleVerifier(exampleTime).Verify(exampleChunkedRequest(body))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if auth.PayloadMode != PayloadStreaming || auth.DecodedLength != 66560 {
		t.Fatalf("auth = %+v", auth)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if string(got) != strings.Repeat("a", 66560) {
		t.Fatalf("decoded %d bytes, want 66560 'a'", len(got))
	}
}

func TestAWSExampleChunkedUploadTampered(t *testing.T) {
	tests := []struct {
		name string
		body string
		code string
	}{
		{"second chunk signature", exampleChunkedBody(exampleChunkSig1, exampleChunkSig3, exampleChunkSig3), CodeSignatureDoesNotMatch},
		{"final chunk signature", exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig1), CodeSignatureDoesNotMatch},
		{"first chunk byte", flipByte(exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig3), 1000), CodeSignatureDoesNotMatch},
		{"second chunk byte", flipByte(exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig3), 66000), CodeSignatureDoesNotMatch},
		{"chunks swapped", "400;chunk-signature=" + exampleChunkSig2 + "\r\n" + strings.Repeat("a", 1024) + "\r\n" +
			"10000;chunk-signature=" + exampleChunkSig1 + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
			"0;chunk-signature=" + exampleChunkSig3 + "\r\n\r\n", CodeSignatureDoesNotMatch},
		{"final chunk dropped", strings.TrimSuffix(exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig3), "0;chunk-signature="+exampleChunkSig3+"\r\n\r\n"), CodeIncompleteBody},
		{"cut inside a chunk", exampleChunkedBody(exampleChunkSig1, exampleChunkSig2, exampleChunkSig3)[:1000], CodeIncompleteBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rc, err := exampleVerifier(exampleTime).Verify(exampleChunkedRequest(tc.body))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			_, err = io.ReadAll(rc)
			wantCode(t, err, tc.code)
		})
	}
}

// The trailing-headers example: the same 65 KiB, seed signature 106e2a8a...,
// then a signed trailer x-amz-checksum-crc32c:sOO8/Q== (the real CRC32C of
// the data). The documentation prints the signatures and the body; the seed
// request's headers are the chunked example's plus x-amz-trailer.
func exampleTrailerBody(checksum string) string {
	return "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
		strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
		strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n" +
		"x-amz-checksum-crc32c:" + checksum + "\r\n" +
		"x-amz-trailer-signature:63bddb248ad2590c92712055f51b8e78ab024eead08276b24f010b0efd74843f\r\n\r\n"
}

func exampleTrailerRequest(body string) *http.Request {
	return exampleRequest("PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", body,
		"X-Amz-Date", exampleDate,
		"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
		"Content-Encoding", "aws-chunked",
		"X-Amz-Decoded-Content-Length", "66560",
		"X-Amz-Trailer", "x-amz-checksum-crc32c",
		"Authorization", authHeader("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
			"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"))
}

func TestAWSExampleSignedTrailer(t *testing.T) {
	body := exampleTrailerBody("sOO8/Q==")
	if len(body) != 66946 {
		t.Fatalf("example body is %d bytes, want 66946", len(body))
	}
	auth, rc, err := exampleVerifier(exampleTime).Verify(exampleTrailerRequest(body))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if auth.Trailers() != nil {
		t.Fatal("trailers before the end of the body")
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if string(got) != strings.Repeat("a", 66560) {
		t.Fatalf("decoded %d bytes", len(got))
	}
	if v := auth.Trailers().Get("x-amz-checksum-crc32c"); v != "sOO8/Q==" {
		t.Fatalf("trailer = %q", v)
	}

	// A changed trailer value breaks the trailer signature.
	auth, rc, err = exampleVerifier(exampleTime).Verify(exampleTrailerRequest(exampleTrailerBody("sOO8/Q=A")))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, err = io.ReadAll(rc)
	wantCode(t, err, CodeSignatureDoesNotMatch)
	if auth.Trailers() != nil {
		t.Fatal("trailers exposed after a failed verification")
	}
}

func flipByte(s string, i int) string {
	b := []byte(s)
	b[i] ^= 1
	return string(b)
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if e := asError(t, err); e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}
