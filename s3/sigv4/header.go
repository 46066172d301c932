package sigv4

import (
	"errors"
	"strings"
	"time"
)

// credential is the parsed Credential component:
// <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
type credential struct {
	accessKey string
	date      string // yyyymmdd, as sent
	region    string
	service   string
	terminal  string
}

// scope is the credential scope that goes into the string to sign.
func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + c.terminal
}

var errCredentialFormat = errors.New(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)

// parseCredential splits a Credential value. The access key is everything
// before the last four '/'-separated fields, so it may itself contain '/'.
func parseCredential(s string) (credential, error) {
	parts := strings.Split(s, "/")
	n := len(parts)
	if n < 5 {
		return credential{}, errCredentialFormat
	}
	c := credential{
		accessKey: strings.Join(parts[:n-4], "/"),
		date:      parts[n-4],
		region:    parts[n-3],
		service:   parts[n-2],
		terminal:  parts[n-1],
	}
	if c.accessKey == "" || c.region == "" || c.service == "" {
		return credential{}, errCredentialFormat
	}
	if _, err := time.Parse(scopeDateFmt, c.date); err != nil || len(c.date) != 8 {
		return credential{}, errors.New("incorrect date format " + quote(c.date) + ". This date in the credential must be in the format \"yyyyMMdd\".")
	}
	return c, nil
}

// authorization is the parsed Authorization header (or the equivalent
// presigned query parameters).
type authorization struct {
	algorithm     string
	cred          credential
	signedHeaders string   // exactly as sent, for the canonical request
	headers       []string // signedHeaders split on ';'
	signature     string   // as sent; compared after hex decoding
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// The three components may come in any order, separated by ',' with or
// without white space (s3cmd sends none). A component that is missing,
// repeated or unknown makes the header malformed. The error is the reason
// to put after "The authorization header is malformed; ".
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	h = strings.TrimSpace(h)
	alg, rest, ok := strings.Cut(h, " ")
	if !ok {
		return a, errors.New("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	a.algorithm = alg
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, errors.New("the authorization component " + quote(part) + " is malformed.")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		default:
			return a, errors.New("the authorization component " + quote(part) + " is malformed.")
		}
		if *seen {
			return a, errors.New("the authorization component " + quote(k) + " appears more than once.")
		}
		*dst, *seen = v, true
	}
	if !haveCred || !haveSigned || !haveSig {
		return a, errors.New("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	c, err := parseCredential(cred)
	if err != nil {
		return a, err
	}
	a.cred = c
	if err := a.setSignedHeaders(signed); err != nil {
		return a, err
	}
	if sig == "" {
		return a, errors.New("the Signature is empty.")
	}
	a.signature = sig
	return a, nil
}

// setSignedHeaders checks and stores a SignedHeaders value.
func (a *authorization) setSignedHeaders(s string) error {
	if s == "" {
		return errors.New("the SignedHeaders list is empty.")
	}
	names := strings.Split(s, ";")
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t\r\n:") {
			return errors.New("the SignedHeaders list " + quote(s) + " is malformed.")
		}
	}
	a.signedHeaders = s
	a.headers = names
	return nil
}

// signs reports whether name (lower case) is one of the signed headers.
func (a *authorization) signs(name string) bool {
	for _, n := range a.headers {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "'" + s + "'"
}
