package sigv4

import (
	"strconv"
	"time"
)

// A presigned URL carries the signature in its query string instead of the
// Authorization header:
//
//	X-Amz-Algorithm=AWS4-HMAC-SHA256
//	X-Amz-Credential=AK/20261125/us-east-1/s3/aws4_request
//	X-Amz-Date=20261125T101500Z
//	X-Amz-Expires=3600                 (seconds, at most 7 days)
//	X-Amz-SignedHeaders=host
//	X-Amz-Signature=<64 hex>
//
// The canonical request is built as for header signing, except that its
// query string holds every parameter but X-Amz-Signature, and the payload
// hash is UNSIGNED-PAYLOAD unless the URL says otherwise: a presigned URL is
// made before anyone knows the body.

// maxPresignExpiry is the longest X-Amz-Expires S3 accepts: seven days.
const maxPresignExpiry = 7 * 24 * time.Hour

// presigned is what the query string of a presigned URL says.
type presigned struct {
	authorization
	amzDate string
	date    time.Time
	expires time.Duration
	payload string // X-Amz-Content-Sha256 from the query, if any
}

// isPresigned reports whether a query string asks for query-string
// authentication (SigV4 or the legacy SigV2 form).
func isPresigned(params []queryParam) bool {
	return isPresignedV4(params) || isPresignedV2(params)
}

func isPresignedV4(params []queryParam) bool {
	for _, p := range params {
		switch p.name {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			return true
		}
	}
	return false
}

func isPresignedV2(params []queryParam) bool {
	var key, sig bool
	for _, p := range params {
		switch p.name {
		case "AWSAccessKeyId":
			key = true
		case "Signature":
			sig = true
		}
	}
	return key && sig
}

// parsePresigned reads the X-Amz-* parameters of a presigned URL. Errors are
// AuthorizationQueryParametersError, as S3 reports them.
func parsePresigned(params []queryParam) (presigned, *Error) {
	var p presigned
	if isPresignedV2(params) {
		// Both forms at once.
		return p, errQueryMalformed("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Signature query string parameter should be specified")
	}
	get := map[string]string{}
	for _, q := range params {
		switch q.name {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
			"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Content-Sha256":
			if _, dup := get[q.name]; dup {
				return p, errQueryMalformed("The query parameter " + q.name + " appears more than once.")
			}
			get[q.name] = q.value
		}
	}
	for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
		"X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if get[name] == "" {
			return p, errQueryMalformed("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	p.algorithm = get["X-Amz-Algorithm"]
	if p.algorithm != algorithm {
		return p, errQueryMalformed(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	c, err := parseCredential(get["X-Amz-Credential"])
	if err != nil {
		return p, errQueryMalformed("Error parsing the X-Amz-Credential parameter; " + err.Error())
	}
	p.cred = c
	p.amzDate = get["X-Amz-Date"]
	t, ok := parseAmzDate(p.amzDate)
	if !ok {
		return p, errQueryMalformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	p.date = t
	exp, err := strconv.ParseInt(get["X-Amz-Expires"], 10, 64)
	switch {
	case err != nil:
		return p, errQueryMalformed("X-Amz-Expires should be a number")
	case exp < 0:
		return p, errQueryMalformed("X-Amz-Expires must be non-negative")
	case exp > int64(maxPresignExpiry/time.Second):
		return p, errQueryMalformed("X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds")
	}
	p.expires = time.Duration(exp) * time.Second
	if err := p.setSignedHeaders(get["X-Amz-SignedHeaders"]); err != nil {
		return p, errQueryMalformed("Error parsing the X-Amz-SignedHeaders parameter; " + err.Error())
	}
	p.signature = get["X-Amz-Signature"]
	p.payload = get["X-Amz-Content-Sha256"]
	return p, nil
}

// parseAmzDate parses the ISO 8601 basic format SigV4 uses:
// 20261125T101500Z.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateFormat) {
		return time.Time{}, false
	}
	t, err := time.Parse(amzDateFormat, s)
	return t, err == nil
}
