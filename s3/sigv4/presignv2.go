package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature Version 2 presigned URLs.
//
// boto3 (every version up to the newest) presigns S3 URLs with the legacy
// Signature Version 2 unless it is told otherwise, and so do older tools:
//
//	/bucket/key?AWSAccessKeyId=AK&Expires=1795591846&Signature=<base64>
//
// The signature is base64(HMAC-SHA1(secret, string to sign)), where
//
//	string to sign = Method "\n"
//	                 Content-MD5 "\n"
//	                 Content-Type "\n"
//	                 Expires "\n"             (seconds since 1970, as in the URL)
//	                 CanonicalizedAmzHeaders  ("x-amz-name:value\n" each, sorted)
//	                 CanonicalizedResource    ("/bucket/key" and the sub-resources)
//
// Only this query-string form is accepted. The header form of SigV2
// (Authorization: AWS AK:signature) is refused as before: no current
// client sends it by default. The payload of a SigV2 request is unsigned.

// v2Subresources are the query parameters a SigV2 canonical resource
// includes: those S3 documents, and those botocore and minio-go sign.
var v2Subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "defaultObjectAcl": true,
	"delete": true, "encryption": true, "inventory": true, "legal-hold": true, "lifecycle": true,
	"location": true, "logging": true, "metrics": true, "notification": true, "object-lock": true,
	"partNumber": true, "policy": true, "replication": true, "requestPayment": true, "restore": true,
	"retention": true, "select": true, "select-type": true, "storageClass": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// verifyPresignedV2 authenticates a request presigned with SigV2.
func (v *Verifier) verifyPresignedV2(r *http.Request, params []queryParam) (*Auth, io.ReadCloser, *Error) {
	get := map[string]string{}
	for _, q := range params {
		switch q.name {
		case "AWSAccessKeyId", "Signature", "Expires":
			if _, dup := get[q.name]; dup {
				return nil, nil, errQueryMalformed("The query parameter " + q.name + " appears more than once.")
			}
			get[q.name] = q.value
		}
	}
	missing := errAccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	accessKey, signature, expiresParam := get["AWSAccessKeyId"], get["Signature"], get["Expires"]
	if accessKey == "" || signature == "" || expiresParam == "" {
		return nil, nil, missing
	}
	exp, err := strconv.ParseInt(expiresParam, 10, 64)
	if err != nil || exp < 0 {
		return nil, nil, missing
	}
	secret, ok := v.secret(accessKey)
	if !ok {
		return nil, nil, errInvalidAccessKey(accessKey)
	}
	now := v.now()
	expires := time.Unix(exp, 0)
	if now.After(expires) {
		return nil, nil, errAccessDenied("Request has expired",
			Detail{"Expires", expires.UTC().Format(time.RFC3339)},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	// A '+' of the base64 signature that the client did not percent-encode
	// has been decoded to a space.
	provided, decErr := base64.StdEncoding.DecodeString(strings.ReplaceAll(signature, " ", "+"))
	var first string
	for i, resource := range v.v2Resources(r, params) {
		sts := stringToSignV2(r, params, expiresParam, resource)
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(sts))
		if decErr == nil && hmac.Equal(mac.Sum(nil), provided) {
			body := r.Body
			if body == nil {
				body = http.NoBody
			}
			auth := &Auth{AccessKey: accessKey, Region: v.Region, Presigned: true, Expires: expires,
				PayloadMode: PayloadUnsigned, DecodedLength: r.ContentLength,
				Trailers: func() http.Header { return nil }}
			return auth, body, nil
		}
		if i == 0 {
			first = sts
		}
	}
	return nil, nil, errSignatureMismatch(
		Detail{"AWSAccessKeyId", accessKey},
		Detail{"StringToSign", first},
		Detail{"SignatureProvided", signature})
}

// stringToSignV2 is the SigV2 string to sign of r with the canonical
// resource given. Content-MD5, Content-Type and x-amz-* headers come from
// the request's headers, or else from query parameters of the same name
// (a presigning client may move them there).
func stringToSignV2(r *http.Request, params []queryParam, expires, resource string) string {
	fromQuery := map[string]string{}
	for _, q := range params {
		if lower := strings.ToLower(q.name); lower == "content-md5" || lower == "content-type" || strings.HasPrefix(lower, "x-amz-") {
			if _, dup := fromQuery[lower]; !dup {
				fromQuery[lower] = q.value
			}
		}
	}
	header := func(name string) string {
		if vs := r.Header.Values(name); len(vs) > 0 {
			return strings.Join(vs, ",")
		}
		return fromQuery[strings.ToLower(name)]
	}
	amz := map[string]string{}
	for name, vs := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-amz-") {
			folded := make([]string, len(vs))
			for i, v := range vs {
				folded[i] = strings.Join(strings.Fields(v), " ")
			}
			amz[lower] = strings.Join(folded, ",")
		}
	}
	for name, v := range fromQuery {
		if _, ok := amz[name]; !ok && strings.HasPrefix(name, "x-amz-") {
			amz[name] = strings.TrimSpace(v)
		}
	}
	names := make([]string, 0, len(amz))
	for name := range amz {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(strings.TrimSpace(header("Content-Md5")) + "\n")
	b.WriteString(strings.TrimSpace(header("Content-Type")) + "\n")
	b.WriteString(expires + "\n")
	for _, name := range names {
		b.WriteString(name + ":" + amz[name] + "\n")
	}
	b.WriteString(resource)
	return b.String()
}

// v2Resources returns the canonical resources r may have been signed
// with: "/bucket/key" as sent (the bucket taken from the Host for a
// virtual-host style request), then the sub-resources. A request naming
// only a bucket may be signed as "/bucket" or "/bucket/" (clients differ;
// both name the same bucket).
func (v *Verifier) v2Resources(r *http.Request, params []queryParam) []string {
	path := rawRequestPath(r)
	if b, ok := VirtualHostBucket(r.Host, v.Domain); ok {
		path = "/" + b + path
	}
	paths := []string{path}
	if rest := strings.TrimPrefix(path, "/"); rest != "" && !strings.Contains(strings.TrimSuffix(rest, "/"), "/") {
		if strings.HasSuffix(rest, "/") {
			paths = append(paths, "/"+strings.TrimSuffix(rest, "/"))
		} else {
			paths = append(paths, "/"+rest+"/")
		}
	}
	var subs []queryParam
	for _, q := range params {
		if v2Subresources[q.name] {
			subs = append(subs, q)
		}
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	var query string
	for i, q := range subs {
		if i == 0 {
			query = "?"
		} else {
			query += "&"
		}
		query += q.name
		if q.value != "" {
			query += "=" + q.value
		}
	}
	for i := range paths {
		paths[i] += query
	}
	return paths
}

// VirtualHostBucket returns the bucket of a virtual-host style request,
// bucket.domain, if host is one. A host that is the domain itself (or
// anything else) is not. The S3 router uses it too.
func VirtualHostBucket(host, domain string) (string, bool) {
	if domain == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host, domain = strings.ToLower(host), strings.ToLower(strings.Trim(domain, "."))
	b, ok := strings.CutSuffix(host, "."+domain)
	if !ok || b == "" {
		return "", false
	}
	return b, true
}
