package s3

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/minikv-go/minikv/s3/store"
)

// Checksums and the request body.
//
// A client protects an upload with any of:
//
//   - Content-MD5: base64 of the body's MD5; the store verifies it
//     (BadDigest) before the object appears.
//   - x-amz-checksum-<alg>: base64 of a CRC32, CRC32C, CRC64NVME, SHA1 or
//     SHA256 of the body; verified by the store the same way, stored, and
//     returned on GET and HEAD when the client asks with
//     x-amz-checksum-mode: ENABLED.
//   - a trailing checksum: the body is aws-chunked and x-amz-trailer names
//     the x-amz-checksum-<alg> trailer that follows it. Its value is known
//     only at the end of the body: the store computes the algorithm as the
//     body streams, asks for the trailer's value once the body has ended,
//     and verifies it like a header's (uploadBody below).
//
// Whatever the signature promises about the body (its SHA-256, the chunk
// signatures) is checked by the verifier's reader as the body is read, and
// its verdict arrives on the read after the last byte. The store reads
// every body to that end, past the declared size, before it publishes
// anything: no object is ever committed from a body that does not verify.

// checksumHeader is the header of algorithm alg: x-amz-checksum-crc32, ...
func checksumHeader(alg string) string { return "x-amz-checksum-" + strings.ToLower(alg) }

// requestChecksums returns the x-amz-checksum-* headers of a request, by
// algorithm. S3 allows one.
func requestChecksums(h http.Header) (map[string]string, error) {
	var sums map[string]string
	for _, alg := range store.ChecksumAlgorithms {
		v := h.Get(checksumHeader(alg))
		if v == "" {
			continue
		}
		if sums != nil {
			return nil, errorf(codeInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		sums = map[string]string{alg: v}
	}
	return sums, nil
}

// requestChecksumAlgorithm returns the algorithm a request announces:
// x-amz-sdk-checksum-algorithm (SDKs, on uploads) or
// x-amz-checksum-algorithm (CreateMultipartUpload), upper-cased.
func requestChecksumAlgorithm(h http.Header) (string, error) {
	name := "x-amz-sdk-checksum-algorithm"
	v := h.Get(name)
	if v == "" {
		name = "x-amz-checksum-algorithm"
		v = h.Get(name)
	}
	if v == "" {
		return "", nil
	}
	alg := strings.ToUpper(strings.TrimSpace(v))
	if !store.ValidChecksumAlgorithm(alg) {
		return "", errorf(codeInvalidRequest, "Value for %s header is invalid.", name)
	}
	return alg, nil
}

// trailingChecksum returns the algorithm and header name of the checksum
// an aws-chunked body announces in x-amz-trailer, if any.
func trailingChecksum(h http.Header) (alg, name string, err error) {
	for _, v := range h.Values("X-Amz-Trailer") {
		for _, n := range strings.Split(v, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			a, ok := strings.CutPrefix(n, "x-amz-checksum-")
			if !ok {
				continue
			}
			a = strings.ToUpper(a)
			if !store.ValidChecksumAlgorithm(a) {
				return "", "", errorf(codeInvalidRequest, "The value specified in the x-amz-trailer header is not supported")
			}
			if alg != "" {
				return "", "", errorf(codeInvalidRequest, "Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.")
			}
			alg, name = a, n
		}
	}
	return alg, name, nil
}

// contentMD5 decodes the Content-MD5 header: nil if absent.
func contentMD5(h http.Header) ([]byte, error) {
	v, ok := h["Content-Md5"]
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.Join(v, "")))
	if err != nil || len(b) != md5.Size {
		return nil, errorf(codeInvalidDigest, "The Content-MD5 you specified is not valid.")
	}
	return b, nil
}

// setChecksumHeaders sets the x-amz-checksum-* headers of sums, and the
// checksum type if there are any.
func setChecksumHeaders(h http.Header, sums map[string]string, typ string) {
	for alg, v := range sums {
		h.Set(checksumHeader(alg), v)
	}
	if len(sums) > 0 && typ != "" {
		h.Set("x-amz-checksum-type", typ)
	}
}

// checksumElemsOf fills the checksum elements of an XML document.
func checksumElemsOf(sums map[string]string, typ string) checksumElems {
	var c checksumElems
	for alg, v := range sums {
		switch alg {
		case store.ChecksumCRC32:
			c.ChecksumCRC32 = v
		case store.ChecksumCRC32C:
			c.ChecksumCRC32C = v
		case store.ChecksumCRC64NVME:
			c.ChecksumCRC64NVME = v
		case store.ChecksumSHA1:
			c.ChecksumSHA1 = v
		case store.ChecksumSHA256:
			c.ChecksumSHA256 = v
		}
	}
	if len(sums) > 0 {
		c.ChecksumType = typ
	}
	return c
}

// uploadBody is the body of an upload (PutObject, UploadPart) as the
// store reads it: the verifier's decoded body, its declared size, which
// must be known (Content-Length, or x-amz-decoded-content-length for an
// aws-chunked body), and the trailing checksum it announces, if any.
func uploadBody(q *request) (io.Reader, int64, *store.TrailingChecksum, error) {
	size := q.auth.DecodedLength
	if size < 0 {
		return nil, 0, nil, errorf(codeMissingContentLength, "You must provide the Content-Length HTTP header.")
	}
	if !q.auth.PayloadMode.Chunked() {
		return q.body, size, nil, nil
	}
	alg, name, err := trailingChecksum(q.r.Header)
	if err != nil || alg == "" {
		return q.body, size, nil, err
	}
	trailers := q.auth.Trailers
	value := func() string {
		if t := trailers(); t != nil {
			return t.Get(name)
		}
		return ""
	}
	return q.body, size, &store.TrailingChecksum{Algorithm: alg, Value: value}, nil
}
