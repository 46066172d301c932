package sigv4

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// fixedChain is a signing chain with a made-up key and seed, for decoder
// tests that do not go through Verify.
func fixedChain() *chunkChain {
	cred := credential{accessKey: "AK", date: "20261125", region: "us-east-1", service: "s3", terminal: "aws4_request"}
	return &chunkChain{
		key:     deriveSigningKey("secret", cred),
		amzDate: "20261125T101500Z",
		scope:   cred.scope(),
		prev:    strings.Repeat("ab", 32),
	}
}

// signedBody encodes chunks as a signed aws-chunked body, including the
// final empty chunk; trailer, if not empty, is "name:value" lines that get
// a trailer signature.
func signedBody(chunks []string, trailer []string) string {
	c := &testChunker{*fixedChain()}
	var b strings.Builder
	for _, ch := range chunks {
		b.WriteString(c.chunk([]byte(ch)))
	}
	b.WriteString(c.chunk(nil))
	if trailer == nil {
		b.WriteString("\r\n")
		return b.String()
	}
	var canon string
	for _, l := range trailer {
		b.WriteString(l + "\r\n")
		canon += l + "\n"
	}
	sig := hmacSHA256(c.chain.key, c.chain.trailerStringToSign("AWS4-HMAC-SHA256-TRAILER", sha256Of([]byte(canon))))
	b.WriteString("x-amz-trailer-signature:" + hexString(sig) + "\r\n\r\n")
	return b.String()
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

type decodeCase struct {
	name    string
	body    string
	signed  bool
	trailer bool
	names   []string // X-Amz-Trailer
	decoded int64    // -1: not declared
	want    string   // decoded payload, if code == ""
	code    string
}

func (tc decodeCase) reader(src io.Reader) *chunkedReader {
	cfg := chunkedConfig{trailer: tc.trailer, trailerNames: tc.names, decodedLength: tc.decoded, maxChunkSize: 1 << 16}
	if tc.signed {
		cfg.chain = fixedChain()
	}
	return newChunkedReader(io.NopCloser(src), cfg)
}

func TestChunkedDecoding(t *testing.T) {
	hello := "hello, world"
	tests := []decodeCase{
		// Unsigned chunks, the way boto3 and minio-go frame them.
		{name: "unsigned, no trailer", body: "5\r\nhello\r\n0\r\n\r\n", decoded: 5, want: "hello"},
		{name: "unsigned, body ends after the final chunk", body: "5\r\nhello\r\n0\r\n", decoded: -1, want: "hello"},
		{name: "unsigned, upper-case hex", body: "C\r\nhello, world\r\n0\r\n\r\n", decoded: 12, want: hello},
		{name: "unsigned, chunk extension ignored", body: "5;foo=bar\r\nhello\r\n0\r\n\r\n", decoded: -1, want: "hello"},
		{name: "botocore trailer", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 5, want: "hello"},
		{name: "minio-go trailer", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 5, want: "hello"},
		{name: "blank line before the trailer", body: "5\r\nhello\r\n0\r\n\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 5, want: "hello"},
		{name: "trailer ends at EOF", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 5, want: "hello"},
		{name: "trailer line cut short", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCm", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 5, code: CodeIncompleteBody},
		{name: "empty payload with trailer", body: "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", trailer: true, decoded: 0, want: ""},
		{name: "trailer mode without trailers", body: "0\r\n\r\n", trailer: true, decoded: 0, want: ""},

		// Signed chunks.
		{name: "signed", body: signedBody([]string{"hello", ", ", "world"}, nil), signed: true, decoded: 12, want: hello},
		{name: "signed, empty payload", body: signedBody(nil, nil), signed: true, decoded: 0, want: ""},
		{name: "signed trailer", body: signedBody([]string{hello}, []string{"x-amz-checksum-crc32:abc="}), signed: true, trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: 12, want: hello},
		{name: "signed trailer, two headers", body: signedBody([]string{hello}, []string{"x-amz-checksum-crc32:abc=", "x-amz-meta-x:y"}), signed: true, trailer: true, decoded: -1, want: hello},

		// Framing errors.
		{name: "empty body", body: "", decoded: -1, code: CodeIncompleteBody},
		{name: "no final chunk", body: "5\r\nhello\r\n", decoded: -1, code: CodeIncompleteBody},
		{name: "cut inside a chunk", body: "5\r\nhel", decoded: -1, code: CodeIncompleteBody},
		{name: "cut before a chunk's CRLF", body: "5\r\nhello", decoded: -1, code: CodeIncompleteBody},
		{name: "chunk longer than its size", body: "5\r\nhello!\r\n0\r\n\r\n", decoded: -1, code: CodeIncompleteBody},
		{name: "size not hex", body: "5x\r\nhello\r\n0\r\n\r\n", decoded: -1, code: CodeInvalidChunkSize},
		{name: "size empty", body: "\r\nhello\r\n0\r\n\r\n", decoded: -1, code: CodeInvalidChunkSize},
		{name: "size negative", body: "-5\r\nhello\r\n0\r\n\r\n", decoded: -1, code: CodeInvalidChunkSize},
		{name: "size overflows", body: "ffffffffffffffffff\r\n", decoded: -1, code: CodeInvalidChunkSize},
		{name: "header line too long", body: "5;" + strings.Repeat("x", 5000) + "\r\nhello\r\n0\r\n\r\n", decoded: -1, code: CodeInvalidChunkSize},
		{name: "data after the final chunk", body: "5\r\nhello\r\n0\r\n\r\nmore", decoded: -1, code: CodeIncompleteBody},
		{name: "trailer in a mode without one", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", decoded: -1, code: CodeIncompleteBody},
		{name: "more than decoded length", body: "5\r\nhello\r\n0\r\n\r\n", decoded: 4, code: CodeIncompleteBody},
		{name: "less than decoded length", body: "5\r\nhello\r\n0\r\n\r\n", decoded: 6, code: CodeIncompleteBody},
		{name: "trailer without colon", body: "0\r\nx-amz-checksum-crc32\r\n\r\n", trailer: true, decoded: -1, code: CodeMalformedTrailer},
		{name: "announced trailer missing", body: "0\r\nx-amz-checksum-sha1:abc\r\n\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: -1, code: CodeMalformedTrailer},
		{name: "trailer signature in unsigned mode", body: "0\r\nx-amz-trailer-signature:00\r\n\r\n", trailer: true, decoded: -1, code: CodeMalformedTrailer},
		{name: "too many trailer lines", body: "0\r\n" + strings.Repeat("x-a:b\r\n", 100) + "\r\n", trailer: true, decoded: -1, code: CodeMalformedTrailer},
		{name: "trailer too long", body: "0\r\n" + strings.Repeat("x-a:"+strings.Repeat("b", 3000)+"\r\n", 10) + "\r\n", trailer: true, decoded: -1, code: CodeMalformedTrailer},
		{name: "endless blank lines", body: "0\r\n" + strings.Repeat("\r\n", 20000), trailer: true, names: []string{"x-a"}, decoded: -1, code: CodeMalformedTrailer},

		// Signature errors.
		{name: "signed chunk without signature", body: "5\r\nhello\r\n0\r\n\r\n", signed: true, decoded: -1, code: CodeSignatureDoesNotMatch},
		{name: "signed, chunk altered", body: strings.Replace(signedBody([]string{hello}, nil), "world", "World", 1), signed: true, decoded: -1, code: CodeSignatureDoesNotMatch},
		{name: "signed, final chunk missing", body: strings.SplitAfter(signedBody([]string{hello}, nil), hello+"\r\n")[0], signed: true, decoded: -1, code: CodeIncompleteBody},
		{name: "signed, chunk over the limit", body: "10001;chunk-signature=00\r\n", signed: true, decoded: -1, code: CodeInvalidChunkSize},
		{name: "signed, trailer unsigned", body: strings.Replace(signedBody([]string{hello}, []string{"x-amz-checksum-crc32:abc="}), "x-amz-trailer-signature:", "x-amz-meta-junk:", 1), signed: true, trailer: true, decoded: -1, code: CodeSignatureDoesNotMatch},
		{name: "signed, trailer altered", body: strings.Replace(signedBody([]string{hello}, []string{"x-amz-checksum-crc32:abc="}), "abc=", "abd=", 1), signed: true, trailer: true, decoded: -1, code: CodeSignatureDoesNotMatch},
		{name: "signed, trailer after the signature", body: strings.Replace(signedBody([]string{hello}, []string{"x-amz-checksum-crc32:abc="}), "\r\n\r\n", "\r\nx-amz-meta-late:1\r\n\r\n", 1), signed: true, trailer: true, decoded: -1, code: CodeMalformedTrailer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "one byte at a time"} {
				src := io.Reader(strings.NewReader(tc.body))
				if mode != "whole" {
					src = iotest.OneByteReader(src)
				}
				cr := tc.reader(src)
				var got []byte
				var err error
				if mode == "whole" {
					got, err = io.ReadAll(cr)
				} else {
					got, err = io.ReadAll(iotest.OneByteReader(cr))
				}
				if tc.code != "" {
					wantCode(t, err, tc.code)
					if cr.Trailers() != nil {
						t.Fatal("trailers after an error")
					}
					// The error is sticky.
					if _, err2 := cr.Read(make([]byte, 8)); err2 != err {
						t.Fatalf("second Read: %v, first: %v", err2, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if string(got) != tc.want {
					t.Fatalf("%s: decoded %q, want %q", mode, got, tc.want)
				}
				if cr.Trailers() == nil {
					t.Fatalf("%s: no trailers after EOF", mode)
				}
			}
		})
	}
}

func TestChunkedTrailerValues(t *testing.T) {
	tc := decodeCase{body: "0\r\nX-Amz-Checksum-CRC32 :  NhCmhg== \r\nx-amz-meta-a:1\r\n\r\n", trailer: true, decoded: 0}
	cr := tc.reader(strings.NewReader(tc.body))
	if _, err := io.ReadAll(cr); err != nil {
		t.Fatal(err)
	}
	tr := cr.Trailers()
	if tr.Get("x-amz-checksum-crc32") != "NhCmhg==" || tr.Get("X-Amz-Meta-A") != "1" || len(tr) != 2 {
		t.Fatalf("trailers %v", tr)
	}
}

// The decoder is an io.Reader like any other: iotest.TestReader checks
// short reads, reads after EOF, and so on.
func TestChunkedReaderConformance(t *testing.T) {
	data := payload(300_000)
	var chunks []string
	for off := 0; off < len(data); off += 40_000 {
		chunks = append(chunks, string(data[off:min(off+40_000, len(data))]))
	}
	tc := decodeCase{body: signedBody(chunks, nil), signed: true, decoded: int64(len(data))}
	if err := iotest.TestReader(tc.reader(strings.NewReader(tc.body)), data); err != nil {
		t.Fatal(err)
	}
	tc = decodeCase{body: string(botocoreStyleBody(data, 50_000)), trailer: true, decoded: -1}
	if err := iotest.TestReader(tc.reader(strings.NewReader(tc.body)), data); err != nil {
		t.Fatal(err)
	}
}

// A chunk header may announce up to MaxChunkSize bytes; memory is only
// spent as the bytes actually arrive.
func TestChunkedReaderMemoryFollowsData(t *testing.T) {
	cr := newChunkedReader(io.NopCloser(strings.NewReader("ffffff;chunk-signature=00\r\n"+strings.Repeat("x", 1000))),
		chunkedConfig{chain: fixedChain(), decodedLength: -1})
	_, err := io.ReadAll(cr)
	wantCode(t, err, CodeIncompleteBody)
	if c := cap(cr.buf); c > readStep {
		t.Fatalf("buffer grew to %d bytes for a 1000-byte body", c)
	}
}

func TestChunkedReaderSignedChunkIsNotReleasedEarly(t *testing.T) {
	body := strings.Replace(signedBody([]string{"first chunk", "second chunk"}, nil), "second", "SECOND", 1)
	cr := decodeCase{body: body, signed: true, decoded: -1}.reader(strings.NewReader(body))
	got, err := io.ReadAll(cr)
	wantCode(t, err, CodeSignatureDoesNotMatch)
	if !bytes.Equal(got, []byte("first chunk")) {
		t.Fatalf("released %q before the failure", got)
	}
}

// A client that disconnects early makes net/http's body reader return
// io.ErrUnexpectedEOF; wherever that happens, the decoder reports
// IncompleteBody. Cut with a clean io.EOF instead, a body never decodes
// to anything but its full payload.
func TestChunkedReaderCutAnywhere(t *testing.T) {
	hello := "hello, world"
	cases := []decodeCase{
		{body: signedBody([]string{"hello", ", world"}, []string{"x-amz-checksum-crc32:abc="}), signed: true, trailer: true, decoded: -1},
		{body: signedBody([]string{"hello", ", world"}, nil), signed: true, decoded: -1},
		{body: "5\r\nhello\r\n7\r\n, world\r\n0\r\nx-amz-checksum-crc32:abc=\r\n\r\n", trailer: true, names: []string{"x-amz-checksum-crc32"}, decoded: -1},
	}
	for _, tc := range cases {
		for i := 0; i <= len(tc.body); i++ {
			src := io.MultiReader(strings.NewReader(tc.body[:i]), iotest.ErrReader(io.ErrUnexpectedEOF))
			_, err := io.ReadAll(tc.reader(src))
			if e := asError(t, err); e.Code != CodeIncompleteBody {
				t.Fatalf("cut at %d of %q: %v", i, tc.body, err)
			}
			cr := tc.reader(strings.NewReader(tc.body[:i]))
			got, err := io.ReadAll(cr)
			if err == nil && (string(got) != hello || tc.trailer && cr.Trailers().Get("x-amz-checksum-crc32") != "abc=") {
				t.Fatalf("cut at %d of %q: decoded %q, trailers %v, without an error", i, tc.body, got, cr.Trailers())
			}
		}
	}
}
