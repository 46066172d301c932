package s3

import (
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// An operation is what a request asks for: an S3 API action, named as in
// Amazon's API reference (these names are also the metrics' op label).
type operation string

// The operations the router tells apart. Those that are not implemented
// are answered NotImplemented by the handler; naming them still lets the
// error say which action it was.
const (
	opListBuckets = "ListBuckets"

	opCreateBucket            = "CreateBucket"
	opHeadBucket              = "HeadBucket"
	opDeleteBucket            = "DeleteBucket"
	opGetBucketLocation       = "GetBucketLocation"
	opGetBucketVersioning     = "GetBucketVersioning"
	opGetObjectLockConfig     = "GetObjectLockConfiguration"
	opGetBucketPolicy         = "GetBucketPolicy"
	opDeleteBucketPolicy      = "DeleteBucketPolicy"
	opGetBucketCors           = "GetBucketCors"
	opDeleteBucketCors        = "DeleteBucketCors"
	opGetBucketAcl            = "GetBucketAcl"
	opGetBucketLifecycle      = "GetBucketLifecycleConfiguration"
	opDeleteBucketLifecycle   = "DeleteBucketLifecycle"
	opGetBucketEncryption     = "GetBucketEncryption"
	opGetBucketRequestPayment = "GetBucketRequestPayment"
	opListObjects             = "ListObjects"
	opListObjectsV2           = "ListObjectsV2"
	opListObjectVersions      = "ListObjectVersions"
	opListMultipartUploads    = "ListMultipartUploads"
	opDeleteObjects           = "DeleteObjects"

	opPutObject               = "PutObject"
	opCopyObject              = "CopyObject"
	opGetObject               = "GetObject"
	opHeadObject              = "HeadObject"
	opDeleteObject            = "DeleteObject"
	opGetObjectAcl            = "GetObjectAcl"
	opCreateMultipartUpload   = "CreateMultipartUpload"
	opUploadPart              = "UploadPart"
	opUploadPartCopy          = "UploadPartCopy"
	opCompleteMultipartUpload = "CompleteMultipartUpload"
	opAbortMultipartUpload    = "AbortMultipartUpload"
	opListParts               = "ListParts"
)

// A route is a request's operation and the bucket and key it names.
type route struct {
	op     operation
	bucket string // "" for the service (ListBuckets)
	key    string // "" for a bucket operation
	// err, if set, is the answer: the method is not allowed on the
	// resource, or the operation is not implemented.
	err *Error
}

// Sub-resources that select a bucket or object operation by their mere
// presence in the query. Any other query parameter is an argument of the
// operation (prefix=, max-keys=, x-id=, X-Amz-Signature=, ...).
var subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true,
	"delete": true, "encryption": true, "intelligent-tiering": true, "inventory": true,
	"legal-hold": true, "lifecycle": true, "location": true, "logging": true, "metadata": true,
	"metrics": true, "notification": true, "object-lock": true, "ownershipControls": true,
	"policy": true, "policyStatus": true, "publicAccessBlock": true, "replication": true,
	"requestPayment": true, "restore": true, "retention": true, "select": true,
	"session": true, "tagging": true, "torrent": true, "uploadId": true, "uploads": true,
	"versioning": true, "versions": true, "website": true, "renameObject": true,
}

// knownArguments are the query parameters operations take as arguments;
// they may come with an empty value (prefix=, marker=).
var knownArguments = map[string]bool{
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "list-type": true,
	"continuation-token": true, "start-after": true, "encoding-type": true, "fetch-owner": true,
	"key-marker": true, "upload-id-marker": true, "max-uploads": true, "version-id-marker": true,
	"part-number-marker": true, "max-parts": true, "partNumber": true, "versionId": true, "x-id": true,
	"id": true, "optional-object-attributes": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
}

// routeRequest works out what r asks for. The bucket comes from the Host
// header when it is a subdomain of domain (virtual-host style), else from
// the first segment of the path (path style). The key is the rest of the
// path exactly as the client sent it, decoded once by net/http: it is never
// cleaned, so "a//b", "../x" and "dir/" are keys of their own.
func routeRequest(r *http.Request, domain string) route {
	bucket, key := splitPath(r.URL.Path)
	if b, ok := virtualHostBucket(r.Host, domain); ok {
		bucket, key = b, strings.TrimPrefix(r.URL.Path, "/")
	}
	return pickOperation(r.Method, bucket, key, r.URL.Query(), r.Header.Get("X-Amz-Copy-Source") != "")
}

// splitPath splits a path-style request path, /bucket/key..., into the
// bucket and the key.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// virtualHostBucket returns the bucket of a virtual-host style request,
// bucket.domain, if host is one. A host that is the domain itself (or
// anything else) is not.
func virtualHostBucket(host, domain string) (string, bool) {
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

// pickOperation chooses the operation from the method, the resource (the
// service, a bucket, an object) and the query's sub-resources.
func pickOperation(method, bucket, key string, q url.Values, copySource bool) route {
	rt := route{bucket: bucket, key: key}
	has := func(name string) bool { _, ok := q[name]; return ok }
	var sub string // the first sub-resource present, in a fixed order
	for _, name := range subresourceOrder {
		if has(name) {
			sub = name
			break
		}
	}
	set := func(op operation) route { rt.op = op; return rt }
	notImpl := func(op operation) route {
		rt.op = op
		rt.err = errorf(codeNotImplemented, "%s is not implemented by minikv", op)
		return rt
	}
	// A bare parameter minikv does not know is a sub-resource of an S3
	// operation it does not implement (?annotation, ?metadataTable, ...):
	// taking it for the plain operation could overwrite or delete data.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !subresources[name] && !knownArguments[name] && !strings.HasPrefix(strings.ToLower(name), "x-amz-") && slices.Equal(q[name], []string{""}) {
			rt.op = "UnknownSubresource"
			rt.err = errorf(codeNotImplemented, "the sub-resource ?%s is not implemented by minikv", name)
			return rt
		}
	}
	notAllowed := func(allow string) route {
		rt.op = "MethodNotAllowed"
		rt.err = errorf(codeMethodNotAllowed, "the method %s is not allowed against this resource", method)
		rt.err.allow = allow
		return rt
	}
	if method == http.MethodHead && sub != "" {
		sub = "" // HEAD has no sub-resources: it is HeadBucket or HeadObject
	}

	switch {
	case bucket == "":
		if method == http.MethodGet || method == http.MethodHead {
			return set(opListBuckets)
		}
		return notAllowed("GET, HEAD")

	case key == "":
		switch method {
		case http.MethodHead:
			return set(opHeadBucket)
		case http.MethodGet:
			switch sub {
			case "":
				if has("list-type") {
					return set(opListObjectsV2)
				}
				return set(opListObjects)
			case "location":
				return set(opGetBucketLocation)
			case "versioning":
				return set(opGetBucketVersioning)
			case "versions":
				return set(opListObjectVersions)
			case "object-lock":
				return set(opGetObjectLockConfig)
			case "policy":
				return set(opGetBucketPolicy)
			case "cors":
				return set(opGetBucketCors)
			case "acl":
				return set(opGetBucketAcl)
			case "lifecycle":
				return set(opGetBucketLifecycle)
			case "encryption":
				return set(opGetBucketEncryption)
			case "requestPayment":
				return set(opGetBucketRequestPayment)
			case "uploads":
				return set(opListMultipartUploads)
			}
			return notImpl(operation("GetBucket" + upperFirst(sub)))
		case http.MethodPut:
			if sub == "" {
				return set(opCreateBucket)
			}
			return notImpl(operation("PutBucket" + upperFirst(sub)))
		case http.MethodDelete:
			switch sub {
			case "":
				return set(opDeleteBucket)
			case "policy":
				return set(opDeleteBucketPolicy)
			case "cors":
				return set(opDeleteBucketCors)
			case "lifecycle":
				return set(opDeleteBucketLifecycle)
			}
			return notImpl(operation("DeleteBucket" + upperFirst(sub)))
		case http.MethodPost:
			if sub == "delete" {
				return set(opDeleteObjects)
			}
			if sub == "" {
				return notImpl("PostObject") // browser-based uploads with an HTML form
			}
			return notImpl(operation("PostBucket" + upperFirst(sub)))
		}
		return notAllowed("GET, HEAD, PUT, POST, DELETE")

	default:
		if v, ok := q["versionId"]; ok && v[0] != "null" {
			// No bucket is versioned: "null" names the current version,
			// and nothing else names anything.
			rt.op = "VersionedObjectRequest"
			rt.err = errorf(codeInvalidArgument, "Invalid version id specified")
			return rt
		}
		switch method {
		case http.MethodHead:
			return set(opHeadObject)
		case http.MethodGet:
			switch sub {
			case "":
				if has("partNumber") {
					return notImpl("GetObject with partNumber")
				}
				return set(opGetObject)
			case "uploadId":
				return set(opListParts)
			case "acl":
				return set(opGetObjectAcl)
			}
			return notImpl(operation("GetObject" + upperFirst(sub)))
		case http.MethodPut:
			switch {
			case sub == "uploadId" || (sub == "" && has("partNumber")):
				if copySource {
					return set(opUploadPartCopy)
				}
				return set(opUploadPart)
			case sub == "" && copySource:
				return set(opCopyObject)
			case sub == "":
				return set(opPutObject)
			}
			return notImpl(operation("PutObject" + upperFirst(sub)))
		case http.MethodPost:
			switch sub {
			case "uploads":
				return set(opCreateMultipartUpload)
			case "uploadId":
				return set(opCompleteMultipartUpload)
			}
			return notImpl(operation("PostObject" + upperFirst(sub)))
		case http.MethodDelete:
			switch sub {
			case "":
				return set(opDeleteObject)
			case "uploadId":
				return set(opAbortMultipartUpload)
			}
			return notImpl(operation("DeleteObject" + upperFirst(sub)))
		}
		return notAllowed("GET, HEAD, PUT, POST, DELETE")
	}
}

// subresourceOrder is the order in which sub-resources are looked for, so
// that a request naming several always picks the same operation. uploadId
// comes before uploads and the configuration sub-resources (an UploadPart
// never carries them), versions before versioning.
var subresourceOrder = func() []string {
	first := []string{"uploadId", "uploads", "delete", "versions", "versioning", "location"}
	order := append([]string(nil), first...)
	for _, name := range slices.Sorted(maps.Keys(subresources)) {
		if !slices.Contains(first, name) {
			order = append(order, name)
		}
	}
	return order
}()

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
