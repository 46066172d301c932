package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credentials looks up the secret key of an access key.
type Credentials interface {
	Secret(accessKey string) (secret string, ok bool)
}

// StaticCredentials is a fixed access key → secret key map.
type StaticCredentials map[string]string

// Secret implements Credentials.
func (s StaticCredentials) Secret(accessKey string) (string, bool) {
	secret, ok := s[accessKey]
	return secret, ok
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(accessKey string) (secret string, ok bool)

// Secret implements Credentials.
func (f CredentialsFunc) Secret(accessKey string) (string, bool) { return f(accessKey) }

// DefaultMaxSkew is how far X-Amz-Date may be from the server clock, as in S3.
const DefaultMaxSkew = 15 * time.Minute

// Verifier authenticates S3 requests signed with AWS Signature Version 4.
// Fill in Creds (and usually Region); the other fields have defaults. A
// Verifier is safe for concurrent use and must not be copied after first use.
type Verifier struct {
	// Creds resolves access keys to secrets.
	Creds Credentials
	// Region is the region this server answers for. Requests signed for it
	// or for "us-east-1" (the default of most clients) are accepted; any
	// other region gets AuthorizationHeaderMalformed naming Region, the way
	// S3 redirects clients to a bucket's region. Empty accepts any region.
	Region string
	// Now is the server clock (default time.Now).
	Now func() time.Time
	// MaxSkew is the largest accepted distance between X-Amz-Date and Now
	// (default DefaultMaxSkew).
	MaxSkew time.Duration
	// MaxChunkSize bounds one signed aws-chunked chunk, which is buffered
	// (default DefaultMaxChunkSize).
	MaxChunkSize int64
	// Domain, if set, is the domain of virtual-host style requests
	// (bucket.Domain): a SigV2 presigned URL signs the bucket of such a
	// request as part of its path (presignv2.go). SigV4 needs nothing.
	Domain string

	keys keyCache
}

// Auth describes an authenticated request.
type Auth struct {
	AccessKey string
	Region    string    // the region of the credential scope
	Presigned bool      // authenticated by query parameters, not the Authorization header
	SignedAt  time.Time // X-Amz-Date
	Expires   time.Time // end of validity of a presigned URL; zero otherwise

	// PayloadMode says how the body is protected (x-amz-content-sha256).
	PayloadMode PayloadMode
	// PayloadHash is the lower-case hex SHA-256 the client signed for the
	// body, when PayloadMode is PayloadSigned.
	PayloadHash string
	// DecodedLength is the length of the payload the body reader yields:
	// x-amz-decoded-content-length for aws-chunked bodies, Content-Length
	// otherwise; -1 if unknown.
	DecodedLength int64
	// SignedHeaders lists the headers covered by the signature, as the
	// client named them.
	SignedHeaders []string
	// Trailers returns the trailing headers of an aws-chunked body (for
	// example x-amz-checksum-crc32, which the handler should check against
	// the payload). They exist only once the body reader has returned
	// io.EOF: before that it returns nil, as it always does for a body that
	// is not aws-chunked; a chunked body without trailers gives an empty
	// http.Header.
	Trailers func() http.Header
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) secret(accessKey string) (string, bool) {
	if v.Creds == nil {
		return "", false
	}
	return v.Creds.Secret(accessKey)
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// Verify authenticates r without reading its body, so that a request with
// "Expect: 100-continue" gets its answer before the client sends the body.
//
// On success it returns what the signature proves and the body to read in
// place of r.Body: the payload, decoded from aws-chunked framing if need be.
// Parts of the request that are only known at the end of the body (the
// SHA-256 of a signed payload, chunk signatures, x-amz-decoded-content-length,
// trailers) are checked as the body is read: the reader returns an *Error
// instead of io.EOF, or at the first bad chunk, if they do not verify. A
// handler must therefore read the body to io.EOF before it commits anything.
//
// Errors are *Error values carrying the S3 error code and HTTP status. A
// request with no signature at all yields ErrAnonymous.
func (v *Verifier) Verify(r *http.Request) (*Auth, io.ReadCloser, error) {
	var raw string
	if r.URL != nil {
		raw = r.URL.RawQuery
	}
	params := parseQuery(raw)
	var authz []string
	for _, h := range r.Header.Values("Authorization") {
		if strings.TrimSpace(h) != "" {
			authz = append(authz, h)
		}
	}
	presign := isPresigned(params)
	var (
		auth *Auth
		body io.ReadCloser
		err  *Error
	)
	switch {
	case len(authz) > 0 && presign:
		err = newError(CodeInvalidArgument, http.StatusBadRequest,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case len(authz) > 1:
		err = errHeaderMalformed("there is more than one Authorization header.")
	case len(authz) == 1:
		auth, body, err = v.verifyHeader(r, authz[0], params)
	case presign && isPresignedV2(params) && !isPresignedV4(params):
		auth, body, err = v.verifyPresignedV2(r, params)
	case presign:
		auth, body, err = v.verifyPresigned(r, params)
	default:
		err = ErrAnonymous
	}
	if err != nil {
		return nil, nil, err
	}
	return auth, body, nil
}

// verifyHeader authenticates a request signed in its Authorization header.
func (v *Verifier) verifyHeader(r *http.Request, h string, params []queryParam) (*Auth, io.ReadCloser, *Error) {
	if strings.HasPrefix(h, "AWS ") {
		return nil, nil, errUnsupportedMechanism() // Signature Version 2
	}
	a, perr := parseAuthorization(h)
	if perr != nil {
		if a.algorithm != "" && a.algorithm != algorithm {
			return nil, nil, errUnsupportedMechanism()
		}
		return nil, nil, errHeaderMalformed(perr.Error())
	}
	if a.algorithm != algorithm {
		return nil, nil, errUnsupportedMechanism()
	}
	amzDate, signedAt, ok := requestDate(r)
	if !ok {
		return nil, nil, errAccessDenied("AWS authentication requires a valid Date or x-amz-date header")
	}
	if err := v.checkScope(a.cred, signedAt, false); err != nil {
		return nil, nil, err
	}
	secret, ok := v.secret(a.cred.accessKey)
	if !ok {
		return nil, nil, errInvalidAccessKey(a.cred.accessKey)
	}
	now := v.now()
	if d := now.Sub(signedAt); d > v.maxSkew() || -d > v.maxSkew() {
		return nil, nil, newError(CodeRequestTimeTooSkewed, http.StatusForbidden,
			"The difference between the request time and the current time is too large.",
			Detail{"RequestTime", amzDate},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)},
			Detail{"MaxAllowedSkewMilliseconds", strconv.FormatInt(v.maxSkew().Milliseconds(), 10)})
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return nil, nil, newError(CodeInvalidRequest, http.StatusBadRequest,
			"Missing required header for this request: x-amz-content-sha256")
	}
	mode, err := checkPayload(payload)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSignedHeaders(r, &a); err != nil {
		return nil, nil, err
	}
	key := v.keys.get(secret, a.cred)
	seed, err := checkSignature(r, &a, params, false, amzDate, payload, key)
	if err != nil {
		return nil, nil, err
	}
	auth := &Auth{AccessKey: a.cred.accessKey, Region: a.cred.region, SignedAt: signedAt}
	body, err := v.payloadReader(r, auth, &a, mode, payload, amzDate, key, seed)
	if err != nil {
		return nil, nil, err
	}
	return auth, body, nil
}

// verifyPresigned authenticates a request signed in its query string.
func (v *Verifier) verifyPresigned(r *http.Request, params []queryParam) (*Auth, io.ReadCloser, *Error) {
	p, err := parsePresigned(params)
	if err != nil {
		return nil, nil, err
	}
	if err := v.checkScope(p.cred, p.date, true); err != nil {
		return nil, nil, err
	}
	secret, ok := v.secret(p.cred.accessKey)
	if !ok {
		return nil, nil, errInvalidAccessKey(p.cred.accessKey)
	}
	now := v.now()
	expires := p.date.Add(p.expires)
	if p.date.Sub(now) > v.maxSkew() {
		return nil, nil, errAccessDenied("Request is not valid yet",
			Detail{"X-Amz-Date", p.amzDate},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	if now.After(expires) {
		return nil, nil, errAccessDenied("Request has expired",
			Detail{"X-Amz-Expires", strconv.FormatInt(int64(p.expires/time.Second), 10)},
			Detail{"Expires", expires.UTC().Format(time.RFC3339)},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	// A presigned URL is made before the body is known: its payload hash is
	// UNSIGNED-PAYLOAD unless the URL carries one, or the signer included
	// an x-amz-content-sha256 header among the signed headers.
	payload := p.payload
	if payload == "" && p.signs("x-amz-content-sha256") {
		payload = r.Header.Get("X-Amz-Content-Sha256")
	}
	if payload == "" {
		payload = string(PayloadUnsigned)
	}
	mode, err := checkPayload(payload)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSignedHeaders(r, &p.authorization); err != nil {
		return nil, nil, err
	}
	key := v.keys.get(secret, p.cred)
	seed, err := checkSignature(r, &p.authorization, params, true, p.amzDate, payload, key)
	if err != nil {
		return nil, nil, err
	}
	auth := &Auth{AccessKey: p.cred.accessKey, Region: p.cred.region, Presigned: true,
		SignedAt: p.date, Expires: expires}
	body, err := v.payloadReader(r, auth, &p.authorization, mode, payload, p.amzDate, key, seed)
	if err != nil {
		return nil, nil, err
	}
	return auth, body, nil
}

// requestDate returns the signing time: X-Amz-Date, or else the Date header.
// The first result is the time as it goes into the string to sign.
func requestDate(r *http.Request) (string, time.Time, bool) {
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, ok := parseAmzDate(d)
		return d, t, ok
	}
	if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return "", time.Time{}, false
		}
		t = t.UTC()
		return t.Format(amzDateFormat), t, true
	}
	return "", time.Time{}, false
}

// checkScope checks the credential scope against the request date and this
// server's region and service.
func (v *Verifier) checkScope(c credential, signedAt time.Time, presigned bool) *Error {
	fail := func(reason string) *Error {
		if presigned {
			return errQueryMalformed("Error parsing the X-Amz-Credential parameter; " + reason)
		}
		return errHeaderMalformed(reason)
	}
	if c.date != signedAt.Format(scopeDateFmt) {
		return fail("Invalid credential date " + quote(c.date) + ". This date is not the same as X-Amz-Date: " + quote(signedAt.Format(scopeDateFmt)) + ".")
	}
	if v.Region != "" && c.region != v.Region && c.region != "us-east-1" {
		e := fail("the region " + quote(c.region) + " is wrong; expecting " + quote(v.Region))
		e.Details = append(e.Details, Detail{"Region", v.Region})
		return e
	}
	if c.service != service {
		return fail("incorrect service " + quote(c.service) + ". This endpoint belongs to 's3'.")
	}
	if c.terminal != scopeTerminal {
		return fail("incorrect terminal " + quote(c.terminal) + ". This endpoint uses 'aws4_request'.")
	}
	return nil
}

func checkPayload(v string) (PayloadMode, *Error) {
	mode, ok := payloadMode(v)
	if !ok {
		return "", newError(CodeInvalidArgument, http.StatusBadRequest,
			"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.",
			Detail{"ArgumentName", "x-amz-content-sha256"}, Detail{"ArgumentValue", v})
	}
	return mode, nil
}

// checkSignedHeaders requires the signature to cover Host and every x-amz-*
// header of the request, as S3 does: an unsigned x-amz-copy-source or
// x-amz-acl could otherwise be added to a signed request by anyone who
// holds it. x-amz-content-sha256 is exempt: its value is the last line of
// the canonical request anyway.
func checkSignedHeaders(r *http.Request, a *authorization) *Error {
	var missing []string
	if !a.signs("host") {
		missing = append(missing, "host")
	}
	for name := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && lower != "x-amz-content-sha256" && !a.signs(lower) {
			missing = append(missing, lower)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return errAccessDenied("There were headers present in the request which were not signed",
		Detail{"HeadersNotSigned", strings.Join(missing, ", ")})
}

// checkSignature recomputes the signature and compares it with the one the
// client sent, returning it (lower-case hex) as the seed of a chunk chain.
//
// The canonical URI is the decoded path encoded once with S3's rules,
// which is what SDKs sign. A client that signs its path exactly as it sent
// it, with an encoding of its own, is accepted too: both strings name the
// same decoded path, so this widens no permission.
func checkSignature(r *http.Request, a *authorization, params []queryParam, presigned bool,
	amzDate, payload string, key []byte) (string, *Error) {
	var path string
	if r.URL != nil {
		path = r.URL.Path
	}
	uris := []string{canonicalURI(path)}
	if raw := rawRequestPath(r); raw != uris[0] {
		uris = append(uris, raw)
	}
	query := canonicalQuery(params, presigned)
	headers := canonicalHeaders(r, a.headers)
	provided, decErr := hex.DecodeString(a.signature)
	var firstCanon, firstSTS string
	for i, uri := range uris {
		canon := canonicalRequest(r.Method, uri, query, headers, a.signedHeaders, payload)
		sts := stringToSign(amzDate, a.cred.scope(), canon)
		sig := hmacSHA256(key, sts)
		if decErr == nil && hmac.Equal(sig, provided) {
			return hex.EncodeToString(sig), nil
		}
		if i == 0 {
			firstCanon, firstSTS = canon, sts
		}
	}
	return "", errSignatureMismatch(
		Detail{"AWSAccessKeyId", a.cred.accessKey},
		Detail{"StringToSign", firstSTS},
		Detail{"SignatureProvided", a.signature},
		Detail{"CanonicalRequest", firstCanon})
}

// payloadReader fills in the payload fields of auth and wraps the body so
// that reading it verifies what the signature promises about it.
func (v *Verifier) payloadReader(r *http.Request, auth *Auth, a *authorization, mode PayloadMode,
	payload, amzDate string, key []byte, seed string) (io.ReadCloser, *Error) {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	auth.PayloadMode = mode
	auth.SignedHeaders = a.headers
	auth.DecodedLength = r.ContentLength
	auth.Trailers = func() http.Header { return nil }
	switch mode {
	case PayloadSigned:
		auth.PayloadHash = strings.ToLower(payload)
		return newHashingReader(body, payload), nil
	case PayloadUnsigned:
		return body, nil
	}
	cfg := chunkedConfig{
		trailer:       mode.Trailer(),
		decodedLength: -1,
		maxChunkSize:  v.MaxChunkSize,
	}
	if d := r.Header.Get("X-Amz-Decoded-Content-Length"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return nil, newError(CodeInvalidArgument, http.StatusBadRequest,
				"x-amz-decoded-content-length is not a valid length.",
				Detail{"ArgumentName", "x-amz-decoded-content-length"}, Detail{"ArgumentValue", d})
		}
		cfg.decodedLength = n
	}
	auth.DecodedLength = cfg.decodedLength
	for _, h := range r.Header.Values("X-Amz-Trailer") {
		for _, name := range strings.Split(h, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				cfg.trailerNames = append(cfg.trailerNames, name)
			}
		}
	}
	if mode == PayloadStreaming || mode == PayloadStreamingTrailer {
		cfg.chain = &chunkChain{key: key, amzDate: amzDate, scope: a.cred.scope(), prev: seed}
	}
	cr := newChunkedReader(body, cfg)
	auth.Trailers = cr.Trailers
	return cr, nil
}
