package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// This file builds the two strings a SigV4 signature is computed over:
// the canonical request and the string to sign.

const (
	algorithm     = "AWS4-HMAC-SHA256"
	scopeTerminal = "aws4_request"
	service       = "s3"
	amzDateFormat = "20060102T150405Z"
	scopeDateFmt  = "20060102"

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// uriEncode percent-encodes s the way S3 does for SigV4: every byte except
// the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~) becomes %XX with
// upper-case hex. A slash is kept as is in paths (keepSlash) and encoded in
// query names and values. A space is %20 and a plus %2B, never '+'.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepRaw(s[i], keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepRaw(c, keepSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func keepRaw(c byte, keepSlash bool) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '_', c == '.', c == '~':
		return true
	case c == '/':
		return keepSlash
	}
	return false
}

// canonicalURI is the CanonicalURI line for an S3 request whose decoded
// path is path (http.Request.URL.Path: net/http has already decoded the
// path once). S3 does not normalise paths: "//", "." and ".." segments and a
// trailing "/" are part of an object key and are kept. The decoded path is
// encoded exactly once, so "%2B" on the wire (a '+' in the key) becomes
// "%2B" again, never "%252B", and a literal '+' on the wire is a '+' in the
// key, encoded as "%2B".
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	return uriEncode(path, true)
}

// rawRequestPath is the path exactly as the client sent it on the request
// line, or the best reconstruction net/http allows.
func rawRequestPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	}
	if r.URL == nil {
		return "/"
	}
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// queryParam is one name=value pair of a query string, decoded.
type queryParam struct {
	name, value string
}

// parseQuery splits a raw query string into decoded pairs, keeping
// duplicates and order. As in net/url, '+' decodes to a space (that is what
// the SDKs assume when they sign) and an empty segment is skipped. A
// component that is not valid percent-encoding is kept verbatim rather than
// rejected: it then simply fails to match the client's signature.
func parseQuery(raw string) []queryParam {
	var out []queryParam
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		name, value, _ := strings.Cut(seg, "=")
		out = append(out, queryParam{queryUnescape(name), queryUnescape(value)})
	}
	return out
}

func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// canonicalQuery is the CanonicalQueryString line: every parameter (except
// X-Amz-Signature when skipSignature, for presigned URLs) with name and value
// URI-encoded, sorted by encoded name then encoded value, joined by '&'. A
// parameter without a value ("?acl") appears as "acl=".
func canonicalQuery(params []queryParam, skipSignature bool) string {
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skipSignature && p.name == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, queryParam{uriEncode(p.name, false), uriEncode(p.value, false)})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].name != enc[j].name {
			return enc[i].name < enc[j].name
		}
		return enc[i].value < enc[j].value
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// headerValues returns the values of the named (lower-case) header as the
// client sent them. net/http moves three headers out of r.Header on the
// server side; they are rebuilt from the request fields.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		return []string{r.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	return r.Header.Values(name)
}

// canonicalHeaderValue trims leading and trailing white space and folds each
// run of spaces inside the value into one space (SigV4's "Trimall").
func canonicalHeaderValue(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// canonicalHeaders is the CanonicalHeaders block: one "name:value\n" line
// for each header the client listed in SignedHeaders, in the client's order
// (which SigV4 requires to be sorted). Several values of one header are
// joined with ','.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, strings.ToLower(name)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(canonicalHeaderValue(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalRequest joins the six lines SigV4 hashes:
//
//	HTTPMethod
//	CanonicalURI
//	CanonicalQueryString
//	CanonicalHeaders (each ends with \n, so a blank line follows)
//	SignedHeaders
//	HashedPayload
func canonicalRequest(method, uri, query, headers, signedHeaders, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + signedHeaders + "\n" + payloadHash
}

// stringToSign is what the signing key signs:
//
//	AWS4-HMAC-SHA256
//	<X-Amz-Date>
//	<date>/<region>/s3/aws4_request
//	hex(sha256(canonical request))
func stringToSign(amzDate, scope, canonicalReq string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonicalReq))
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
