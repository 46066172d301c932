// Package sigv4 authenticates S3 requests signed with AWS Signature
// Version 4 (SigV4), the scheme every S3 client uses: the AWS CLI and SDKs,
// boto3, minio-go, rclone, s3cmd. It is pure code: no storage, no handler,
// no dependency on the rest of minikv.
//
// # How a SigV4 signature is made
//
// The client never sends its secret key. It proves it knows the key by
// signing a normalised description of the request, and the server repeats
// the computation with its own copy of the secret. Four steps:
//
// 1. The canonical request: the request reduced to one exact string.
//
//	PUT                                   method
//	/photos/2026/a%20b.jpg                path, decoded once, then URI-encoded
//	partNumber=1&uploadId=xyz             query: names and values encoded, sorted
//	host:s3.example.com                   every signed header: lower-case name,
//	x-amz-content-sha256:UNSIGNED-PAYLOAD   value trimmed, inner spaces folded
//	x-amz-date:20261125T101500Z
//	                                      (the header block ends with a blank line)
//	host;x-amz-content-sha256;x-amz-date  the names of the signed headers
//	UNSIGNED-PAYLOAD                      the payload hash: x-amz-content-sha256
//
// Normalising is where servers and clients disagree in practice, so the
// rules are precise (canonical.go): the path is encoded with S3's rules
// exactly once ("%2B" stays "%2B", a '+' is a literal plus, and "//", ".."
// and a trailing '/' are kept, because they are parts of object keys), and
// the signed headers are exactly the ones the client lists, even those that
// Go's net/http moves out of r.Header (Host, Content-Length,
// Transfer-Encoding).
//
// 2. The string to sign binds the request to a time and a scope:
//
//	AWS4-HMAC-SHA256
//	20261125T101500Z                              X-Amz-Date
//	20261125/us-east-1/s3/aws4_request            credential scope
//	<hex SHA-256 of the canonical request>
//
// 3. The signing key is derived from the secret by a chain of HMAC-SHA256,
// so that what is used on the wire only works for one day, region and
// service:
//
//	kDate    = HMAC("AWS4" + secret, "20261125")
//	kRegion  = HMAC(kDate, "us-east-1")
//	kService = HMAC(kRegion, "s3")
//	kSigning = HMAC(kService, "aws4_request")
//
// The Verifier caches derived keys in a small bounded cache (keys.go).
//
// 4. The signature is hex(HMAC(kSigning, string to sign)). It travels in
// the Authorization header
//
//	AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=5d67...
//
// or, for a presigned URL, in X-Amz-* query parameters, with X-Amz-Expires
// (at most seven days) bounding its life (presign.go).
//
// # Signature Version 2 presigned URLs
//
// boto3 presigns URLs with the legacy Signature Version 2 unless told
// otherwise (AWSAccessKeyId, Expires and a base64 HMAC-SHA1 Signature in
// the query), so those are accepted too (presignv2.go). Their payload is
// unsigned. The header form of SigV2 is not accepted.
//
// # The body
//
// The canonical request covers the body only through its last line, the
// value of x-amz-content-sha256, which says how the body is protected:
//
//   - a hex SHA-256: the body must hash to it. The server only knows once
//     the body has been read, so the reader returned by Verify hashes the
//     body as it streams and fails at its end with XAmzContentSHA256Mismatch.
//   - UNSIGNED-PAYLOAD: the body is not signed (presigned URLs, and clients
//     over TLS that rely on Content-MD5 or a checksum instead).
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the body is aws-chunked and each
//     chunk carries its own signature. The signature of the headers is the
//     "seed"; the first chunk's signature covers the seed and the chunk's
//     hash, the second covers the first, and so on to a final empty chunk.
//     The chain means chunks cannot be changed, dropped, reordered or added,
//     and the body cannot be cut short, without the server noticing.
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, followed by
//     trailing headers (a checksum of the payload) whose signature continues
//     the chain.
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked framing without
//     signatures, followed by an unsigned trailing checksum (boto3 and the
//     AWS CLI over HTTPS). Only the checksum protects the payload, so the
//     handler must verify it.
//
// chunked.go decodes aws-chunked bodies holding at most one chunk in memory;
// a signed chunk is verified before any of its bytes are handed out.
//
// # Using it
//
//	v := &sigv4.Verifier{Creds: sigv4.StaticCredentials{"AK": "secret"}, Region: "us-east-1"}
//	auth, body, err := v.Verify(r) // reads nothing: Expect: 100-continue still works
//	if errors.Is(err, sigv4.ErrAnonymous) { ... public access, or 403 ... }
//	var e *sigv4.Error
//	if errors.As(err, &e) { ... write the S3 error XML with e.Code, e.Message, e.Status ... }
//	n, err := io.Copy(dst, body)   // err is an *Error if the payload does not verify
//	sum := auth.Trailers().Get("x-amz-checksum-crc32")
//
// Errors carry real S3 error codes: AuthorizationHeaderMalformed,
// AuthorizationQueryParametersError, InvalidAccessKeyId,
// SignatureDoesNotMatch, RequestTimeTooSkewed (more than 15 minutes off),
// AccessDenied ("Request has expired"), XAmzContentSHA256Mismatch,
// IncompleteBody, InvalidChunkSizeError, MalformedTrailerError.
package sigv4
