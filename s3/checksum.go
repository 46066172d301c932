package s3

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
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
//     only at the end of the body, so the handler computes it as the body
//     streams (payload below) and fails the last read if it differs; the
//     store computes and stores the same algorithm.
//
// Whatever the signature promises about the body (its SHA-256, the chunk
// signatures) is checked by the verifier's reader as the body is read, and
// its verdict arrives on the read after the last byte. The store stops
// reading at the declared size, so payload makes that read itself before
// handing the last bytes on: no object is ever committed from a body that
// does not verify.

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

// payload is an upload's body as the store reads it: the verifier's
// decoded body, checked for its declared length, its trailing checksum
// and the verifier's verdict before its last bytes are handed on.
type payload struct {
	r    io.Reader
	size int64 // the declared length of the decoded body
	n    int64 // bytes read so far

	// The trailing checksum, if the body has one.
	trailerAlg, trailerName string
	hash                    hash.Hash
	trailers                func() http.Header

	err error // sticky: the result of the body's end, or a failure
}

// newPayload returns the payload of an upload of q, whose size must be
// declared (Content-Length, or x-amz-decoded-content-length for an
// aws-chunked body). It also returns the algorithm of a trailing checksum,
// which the store should compute and keep.
func newPayload(q *request) (*payload, error) {
	size := q.auth.DecodedLength
	if size < 0 {
		return nil, errorf(codeMissingContentLength, "You must provide the Content-Length HTTP header.")
	}
	p := &payload{r: q.body, size: size}
	if q.auth.PayloadMode.Chunked() {
		alg, name, err := trailingChecksum(q.r.Header)
		if err != nil {
			return nil, err
		}
		if alg != "" {
			p.trailerAlg, p.trailerName, p.hash, p.trailers = alg, name, newChecksumHash(alg), q.auth.Trailers
		}
	}
	if size == 0 {
		// The store reads nothing of an empty body: get the verdict now.
		if err := p.end(); !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	return p, nil
}

func (p *payload) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if rest := p.size - p.n; int64(len(b)) > rest+1 {
		b = b[:rest+1] // one byte more shows a body longer than declared
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.hash != nil {
		p.hash.Write(b[:n])
	}
	switch {
	case p.n > p.size:
		p.err = errorf(codeInvalidRequest, "The request body is longer than its declared length, %d bytes.", p.size)
		return 0, p.err
	case err == nil && p.n == p.size:
		// The declared length is reached: the store will not read again,
		// so ask for the verdict before handing these bytes on.
		err = p.end()
	case errors.Is(err, io.EOF):
		err = p.atEOF()
	case err != nil:
		p.err = err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return n, err
}

// end reads past the declared length, where the body must end.
func (p *payload) end() error {
	var one [1]byte
	for range 100 {
		n, err := p.r.Read(one[:])
		switch {
		case n > 0:
			p.err = errorf(codeInvalidRequest, "The request body is longer than its declared length, %d bytes.", p.size)
			return p.err
		case errors.Is(err, io.EOF):
			return p.atEOF()
		case err != nil:
			p.err = err
			return err
		}
	}
	p.err = io.ErrNoProgress
	return p.err
}

// atEOF checks what can only be checked at the end of the body.
func (p *payload) atEOF() error {
	switch {
	case p.n < p.size:
		p.err = errorf(codeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case p.hash != nil:
		p.err = p.checkTrailer()
	default:
		p.err = io.EOF
	}
	return p.err
}

func (p *payload) checkTrailer() error {
	var got string
	if p.trailers != nil {
		if t := p.trailers(); t != nil {
			got = t.Get(p.trailerName)
		}
	}
	if got == "" {
		return errorf(codeInvalidRequest, "The trailing checksum %s announced in x-amz-trailer was not sent.", p.trailerName)
	}
	want := base64.StdEncoding.EncodeToString(p.hash.Sum(nil))
	if got != want {
		e := errorf(codeBadDigest, "The %s you specified did not match the calculated checksum.", p.trailerAlg)
		e.err = &store.ChecksumError{Algorithm: p.trailerAlg, Expected: got, Computed: want}
		return e
	}
	return io.EOF
}

var (
	crc32c    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5) // CRC-64/NVME, reflected polynomial
)

// newChecksumHash returns a hash of algorithm alg, which must be valid.
func newChecksumHash(alg string) hash.Hash {
	switch alg {
	case store.ChecksumCRC32:
		return crc32.NewIEEE()
	case store.ChecksumCRC32C:
		return crc32.New(crc32c)
	case store.ChecksumCRC64NVME:
		return crc64.New(crc64NVME)
	case store.ChecksumSHA1:
		return sha1.New()
	}
	return sha256.New()
}

// trailerChecksum returns the trailing checksum of a body read to its
// end and verified: its algorithm and value ("" if there is none).
func (p *payload) trailerChecksum() (alg, value string) {
	if p.hash == nil || p.err != io.EOF {
		return "", ""
	}
	return p.trailerAlg, base64.StdEncoding.EncodeToString(p.hash.Sum(nil))
}
