package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// An aws-chunked body (x-amz-content-sha256: STREAMING-...) frames the
// payload in chunks, independently of any HTTP Transfer-Encoding:
//
//	10000;chunk-signature=ad80c730...\r\n  <- size in hex; signature (signed modes)
//	<65536 bytes>\r\n
//	400;chunk-signature=0055627c...\r\n
//	<1024 bytes>\r\n
//	0;chunk-signature=b6c6ea8a...\r\n      <- the final chunk has size 0
//	x-amz-checksum-crc32:sOO8/Q==\r\n      <- trailing headers (-TRAILER modes)
//	x-amz-trailer-signature:63bddb24...\r\n <- (signed trailer mode only)
//	\r\n
//
// In the signed modes each chunk signature is an HMAC, with the request's
// signing key, over
//
//	AWS4-HMAC-SHA256-PAYLOAD
//	<X-Amz-Date>
//	<credential scope>
//	<previous signature>   <- the Authorization header's for the first chunk
//	e3b0c442...            <- sha256 of the empty string
//	<hex sha256 of this chunk's data>
//
// so the chunks form a chain rooted in the request signature (the "seed"):
// a chunk cannot be altered, dropped, reordered or appended without breaking
// every later signature. The final 0-size chunk is signed like the others,
// which proves that the body is complete. A signed trailer continues the
// chain with
//
//	AWS4-HMAC-SHA256-TRAILER               (see trailerStringToSign)
//	<X-Amz-Date>
//	<credential scope>
//	<final chunk's signature>
//	<hex sha256 of the trailer lines, each "name:value\n">
//
// The decoder holds at most one chunk: a signed chunk is buffered whole and
// verified before any of its bytes are released, so the reader never yields
// data that is not authenticated. Unsigned chunks are streamed through.

const (
	// DefaultMaxChunkSize bounds the size of one signed chunk, which the
	// decoder buffers. Clients use 64 KiB (minio-go, the AWS SDKs) to a
	// few MiB.
	DefaultMaxChunkSize = 16 << 20

	maxChunkLine    = 4096     // a chunk header or trailer line
	maxTrailerBytes = 16 << 10 // everything after the final chunk header
	maxTrailerLines = 64
	readStep        = 64 << 10 // growth step of the chunk buffer
)

// chunkChain computes the chained chunk signatures of a signed aws-chunked
// body.
type chunkChain struct {
	key     []byte // the request's signing key
	amzDate string
	scope   string
	prev    string // lower-case hex signature of the previous link
}

func (c *chunkChain) chunkStringToSign(dataHash string) string {
	return "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" + dataHash
}

// trailerStringToSign is the string to sign of a signed trailer. The SDKs
// (minio-go, the AWS SDKs) label it AWS4-HMAC-SHA256-TRAILER; the example in
// the S3 documentation was computed with the label AWS4-HMAC-SHA256-PAYLOAD.
// Both are accepted: the two strings differ from every chunk's string to
// sign (which has one more line), so neither can stand in for a chunk.
func (c *chunkChain) trailerStringToSign(label, trailerHash string) string {
	return label + "\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + trailerHash
}

// advance checks the signature provided for the next link, whose string to
// sign is sts, and on success makes it the previous link.
func (c *chunkChain) advance(sts, provided string) bool {
	want := hmacSHA256(c.key, sts)
	got, err := hex.DecodeString(provided)
	if err != nil || !hmac.Equal(want, got) {
		return false
	}
	c.prev = hex.EncodeToString(want)
	return true
}

// chunkedConfig says what an aws-chunked body must look like.
type chunkedConfig struct {
	chain         *chunkChain // nil: unsigned chunks
	trailer       bool        // trailing headers follow the final chunk
	trailerNames  []string    // lower-case names announced in X-Amz-Trailer
	decodedLength int64       // x-amz-decoded-content-length; -1 if absent
	maxChunkSize  int64
}

// chunkedReader decodes an aws-chunked body into the payload.
type chunkedReader struct {
	cfg chunkedConfig
	src io.Closer
	br  *bufio.Reader

	buf      []byte // a verified signed chunk being released
	off      int    // next byte of buf to release
	left     int64  // unsigned chunk: data bytes still to pass through
	needCRLF bool   // unsigned chunk: data done, the closing CRLF is due
	total    int64  // payload bytes accepted so far
	err      error  // sticky: io.EOF after a complete body, or an *Error

	mu       sync.Mutex
	trailers http.Header // set when the body is complete
}

func newChunkedReader(body io.ReadCloser, cfg chunkedConfig) *chunkedReader {
	if cfg.maxChunkSize <= 0 {
		cfg.maxChunkSize = DefaultMaxChunkSize
	}
	return &chunkedReader{cfg: cfg, src: body, br: bufio.NewReaderSize(body, maxChunkLine)}
}

func (cr *chunkedReader) Close() error { return cr.src.Close() }

// Trailers returns the trailing headers once the body has been read to its
// end (nil before that, or if the body did not verify).
func (cr *chunkedReader) Trailers() http.Header {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.trailers
}

func (cr *chunkedReader) Read(p []byte) (int, error) {
	for {
		if cr.err != nil {
			return 0, cr.err
		}
		if cr.off < len(cr.buf) {
			n := copy(p, cr.buf[cr.off:])
			cr.off += n
			return n, nil
		}
		if cr.left > 0 {
			return cr.readUnsigned(p)
		}
		if len(p) == 0 {
			return 0, nil
		}
		if cr.needCRLF {
			cr.needCRLF = false
			if err := cr.readCRLF(); err != nil {
				cr.err = err
				continue
			}
		}
		if err := cr.nextChunk(); err != nil {
			cr.err = err
		}
	}
}

// readUnsigned passes bytes of an unsigned chunk straight through.
func (cr *chunkedReader) readUnsigned(p []byte) (int, error) {
	if int64(len(p)) > cr.left {
		p = p[:cr.left]
	}
	n, err := cr.br.Read(p)
	cr.left -= int64(n)
	if cr.left == 0 {
		cr.needCRLF = true
	}
	if err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			if cr.left > 0 {
				cr.err = errIncompleteBody("The aws-chunked body ended inside a chunk.")
			}
		} else {
			cr.err = err
		}
		if n == 0 && cr.err != nil {
			return 0, cr.err
		}
	}
	return n, nil
}

// nextChunk reads a chunk header and, for a signed chunk, the chunk itself.
func (cr *chunkedReader) nextChunk() error {
	line, err := cr.readLine()
	if err != nil {
		if err == io.EOF {
			return errIncompleteBody("The aws-chunked body ended before its final chunk.")
		}
		return err
	}
	size, sig, e := parseChunkHeader(line, cr.cfg.chain != nil)
	if e != nil {
		return e
	}
	if d := cr.cfg.decodedLength; d >= 0 && size > d-cr.total {
		return errIncompleteBody("The aws-chunked body holds more data than x-amz-decoded-content-length says.")
	}
	if size == 0 {
		return cr.finish(sig)
	}
	if cr.cfg.chain == nil {
		cr.left = size
		cr.total += size
		return nil
	}
	if size > cr.cfg.maxChunkSize {
		return errChunkSize("The aws-chunked body has a chunk larger than the server accepts.")
	}
	if err := cr.fill(size); err != nil {
		return err
	}
	if err := cr.readCRLF(); err != nil {
		return err
	}
	sum := sha256.Sum256(cr.buf)
	if !cr.cfg.chain.advance(cr.cfg.chain.chunkStringToSign(hex.EncodeToString(sum[:])), sig) {
		return errChunkSignatureMismatch("a chunk signature is wrong.")
	}
	cr.off = 0
	cr.total += size
	return nil
}

// fill reads the next size bytes into cr.buf, growing it only as data
// arrives, so that a header announcing a large chunk costs nothing until
// the chunk is actually sent.
func (cr *chunkedReader) fill(size int64) error {
	cr.buf = cr.buf[:0]
	for int64(len(cr.buf)) < size {
		n := len(cr.buf)
		step := int(min(size-int64(n), readStep))
		if cap(cr.buf)-n < step {
			nb := make([]byte, n, int(min(size, int64(max(2*cap(cr.buf), n+step)))))
			copy(nb, cr.buf)
			cr.buf = nb
		}
		m, err := io.ReadFull(cr.br, cr.buf[n:n+step])
		cr.buf = cr.buf[:n+m]
		if err != nil {
			cr.buf = cr.buf[:0]
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return errIncompleteBody("The aws-chunked body ended inside a chunk.")
			}
			return err
		}
	}
	return nil
}

// finish handles the final 0-size chunk: its signature, the trailing
// headers, the end of the body and the decoded length.
func (cr *chunkedReader) finish(sig string) error {
	chain := cr.cfg.chain
	if chain != nil && !chain.advance(chain.chunkStringToSign(emptySHA256), sig) {
		return errChunkSignatureMismatch("the final chunk signature is wrong.")
	}
	var trailers http.Header
	budget := maxTrailerBytes
	if cr.cfg.trailer {
		t, err := cr.readTrailers(&budget)
		if err != nil {
			return err
		}
		trailers = t
	}
	// What may follow: blank lines (the CRLF closing the final chunk, and
	// the one some clients add after the trailers), then the end.
	for {
		c, err := cr.br.ReadByte()
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errIncompleteBody("The request body is shorter than its Content-Length.")
		}
		if err != nil {
			return err
		}
		if budget--; budget < 0 || (c != '\r' && c != '\n') {
			return errIncompleteBody("The aws-chunked body has data after its final chunk.")
		}
	}
	if d := cr.cfg.decodedLength; d >= 0 && cr.total != d {
		return errIncompleteBody("You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header.")
	}
	if trailers == nil {
		trailers = http.Header{}
	}
	cr.mu.Lock()
	cr.trailers = trailers
	cr.mu.Unlock()
	return io.EOF
}

// readTrailers parses the lines after the final chunk: "name:value" lines,
// and in the signed modes an x-amz-trailer-signature line over them. Blank
// lines before the first header and before the signature are skipped (the
// AWS documentation and minio-go each put one there); a blank line after
// them, or the end of the body at a line boundary, ends the trailer.
func (cr *chunkedReader) readTrailers(budget *int) (http.Header, error) {
	signed := cr.cfg.chain != nil
	trailers := http.Header{}
	var canon strings.Builder // "name:value\n" lines, what the trailer signature covers
	haveSig := false
	for lines := 0; ; lines++ {
		if lines > maxTrailerLines {
			return nil, errMalformedTrailer("too many trailer lines.")
		}
		line, err := cr.readLine()
		*budget -= len(line) + 2
		if *budget < 0 {
			return nil, errMalformedTrailer("the trailer is too long.")
		}
		if err == io.EOF {
			if line == "" {
				break
			}
			return nil, errIncompleteBody("The aws-chunked body ended inside its trailer.")
		}
		if err != nil {
			if e, ok := err.(*Error); ok && e.Code == CodeInvalidChunkSize {
				return nil, errMalformedTrailer("a trailer line is too long.")
			}
			return nil, err
		}
		if line == "" {
			if haveSig || (!signed && (len(trailers) > 0 || len(cr.cfg.trailerNames) == 0)) {
				break
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errMalformedTrailer("a trailer line has no ':'.")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, errMalformedTrailer("a trailer name is invalid.")
		}
		if haveSig {
			return nil, errMalformedTrailer("a trailer follows x-amz-trailer-signature.")
		}
		if name == "x-amz-trailer-signature" {
			if !signed {
				return nil, errMalformedTrailer("x-amz-trailer-signature in an unsigned trailer.")
			}
			sum := sha256.Sum256([]byte(canon.String()))
			hash, chain := hex.EncodeToString(sum[:]), cr.cfg.chain
			if !chain.advance(chain.trailerStringToSign("AWS4-HMAC-SHA256-TRAILER", hash), value) &&
				!chain.advance(chain.trailerStringToSign("AWS4-HMAC-SHA256-PAYLOAD", hash), value) {
				return nil, errChunkSignatureMismatch("the trailer signature is wrong.")
			}
			haveSig = true
			continue
		}
		trailers.Add(name, value)
		canon.WriteString(name + ":" + value + "\n")
	}
	if signed && !haveSig {
		return nil, errChunkSignatureMismatch("the trailer signature is missing.")
	}
	for _, name := range cr.cfg.trailerNames {
		if _, ok := trailers[http.CanonicalHeaderKey(name)]; !ok {
			return nil, errMalformedTrailer("the trailer " + quote(name) + " announced in x-amz-trailer is missing.")
		}
	}
	return trailers, nil
}

// readLine reads one line, without its "\n" or "\r\n". At the end of the
// body it returns what it has with io.EOF.
func (cr *chunkedReader) readLine() (string, error) {
	b, err := cr.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", errChunkSize("An aws-chunked header line is too long.")
	case err == io.EOF:
		return strings.TrimSuffix(string(b), "\r"), io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", errIncompleteBody("The request body is shorter than its Content-Length.")
	case err != nil:
		return "", err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), nil
}

// readCRLF consumes the CRLF that ends a chunk's data.
func (cr *chunkedReader) readCRLF() error {
	c, err := cr.br.ReadByte()
	if err == nil && c == '\r' {
		c, err = cr.br.ReadByte()
	}
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return errIncompleteBody("The aws-chunked body ended inside a chunk.")
	case err != nil:
		return err
	case c != '\n':
		return errIncompleteBody("The aws-chunked body is malformed: a chunk is longer than its size says.")
	}
	return nil
}

// parseChunkHeader parses "<hex size>[;chunk-signature=<hex>][;...]".
// Signed chunks must carry a chunk-signature; other extensions are ignored.
func parseChunkHeader(line string, signed bool) (size int64, sig string, err *Error) {
	sizeStr, ext, _ := strings.Cut(line, ";")
	sizeStr = strings.TrimRight(sizeStr, " \t")
	if sizeStr == "" || len(sizeStr) > 15 { // 15 hex digits: below 2^60
		return 0, "", errChunkSize("The aws-chunked body has an invalid chunk size.")
	}
	for i := 0; i < len(sizeStr); i++ {
		d := unhex(sizeStr[i])
		if d < 0 {
			return 0, "", errChunkSize("The aws-chunked body has an invalid chunk size.")
		}
		size = size<<4 | int64(d)
	}
	if !signed {
		return size, "", nil
	}
	for ext != "" {
		var kv string
		kv, ext, _ = strings.Cut(ext, ";")
		k, v, _ := strings.Cut(kv, "=")
		if strings.TrimSpace(k) == "chunk-signature" {
			sig = strings.TrimSpace(v)
		}
	}
	if sig == "" {
		return 0, "", errChunkSignatureMismatch("a chunk has no chunk-signature.")
	}
	return size, sig, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
