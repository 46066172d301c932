package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// PayloadMode is how the request body is covered by the signature. It is
// the value of the x-amz-content-sha256 header, except that every hex
// SHA-256 value is reported as PayloadSigned.
type PayloadMode string

const (
	// PayloadSigned: the header holds the hex SHA-256 of the body. The
	// body reader hashes the body and fails at its end with
	// XAmzContentSHA256Mismatch if the hash differs.
	PayloadSigned PayloadMode = "SIGNED-PAYLOAD"
	// PayloadUnsigned: the body is not covered by the signature.
	PayloadUnsigned PayloadMode = "UNSIGNED-PAYLOAD"
	// PayloadStreaming: an aws-chunked body, every chunk signed, each
	// signature chained from the previous one.
	PayloadStreaming PayloadMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// PayloadStreamingTrailer: as PayloadStreaming, followed by trailing
	// headers whose signature continues the chain.
	PayloadStreamingTrailer PayloadMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// PayloadStreamingUnsignedTrailer: an aws-chunked body with unsigned
	// chunks and unsigned trailing headers (usually a checksum such as
	// x-amz-checksum-crc32, which the handler must verify).
	PayloadStreamingUnsignedTrailer PayloadMode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Chunked reports whether the body is aws-chunked encoded.
func (m PayloadMode) Chunked() bool {
	return strings.HasPrefix(string(m), "STREAMING-")
}

// Trailer reports whether trailing headers follow the aws-chunked body.
func (m PayloadMode) Trailer() bool {
	return strings.HasSuffix(string(m), "-TRAILER")
}

// payloadMode classifies an x-amz-content-sha256 value.
func payloadMode(v string) (PayloadMode, bool) {
	switch PayloadMode(v) {
	case PayloadUnsigned, PayloadStreaming, PayloadStreamingTrailer, PayloadStreamingUnsignedTrailer:
		return PayloadMode(v), true
	}
	if len(v) == sha256.Size*2 {
		if _, err := hex.DecodeString(v); err == nil {
			return PayloadSigned, true
		}
	}
	return "", false
}

// hashingReader passes a body through, hashing it, and at the end of the
// body reports XAmzContentSHA256Mismatch instead of io.EOF if the hash is
// not the one the client signed.
type hashingReader struct {
	body  io.ReadCloser
	h     hash.Hash
	want  []byte
	claim string
	atEOF bool  // the body hit EOF; the verdict is due on the next Read
	err   error // sticky final result
}

func newHashingReader(body io.ReadCloser, claim string) *hashingReader {
	want, _ := hex.DecodeString(claim) // payloadMode has checked it
	return &hashingReader{body: body, h: sha256.New(), want: want, claim: claim}
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	if hr.err != nil {
		return 0, hr.err
	}
	if !hr.atEOF {
		n, err := hr.body.Read(p)
		hr.h.Write(p[:n])
		switch {
		case err == io.EOF:
			hr.atEOF = true
			if n > 0 {
				return n, nil // give the verdict with the next call
			}
		case err != nil:
			hr.err = err
			return n, err
		default:
			return n, nil
		}
	}
	got := hr.h.Sum(nil)
	if !bytes.Equal(got, hr.want) {
		hr.err = errContentSHA256Mismatch(strings.ToLower(hr.claim), hex.EncodeToString(got))
	} else {
		hr.err = io.EOF
	}
	return 0, hr.err
}

func (hr *hashingReader) Close() error { return hr.body.Close() }
