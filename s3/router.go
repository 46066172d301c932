package s3

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/minikv-go/minikv/s3/sigv4"
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
	opGetObjectTagging        = "GetObjectTagging"
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
	"abac": true, "annotation": true, "metadataConfiguration": true, "metadataTable": true,
	"metadataInventoryTable": true, "metadataJournalTable": true, "metadataAnnotationTable": true,
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
	if b, ok := sigv4.VirtualHostBucket(r.Host, domain); ok {
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
	// refuse answers an operation minikv does not implement, named as
	// Amazon names it; a sub-resource that names no operation with this
	// method and resource is refused as such.
	refuse := func(object bool) route {
		if op := refusedOperation(method, object, sub, q); op != "" {
			return notImpl(op)
		}
		rt.op = "UnknownOperation"
		what := "a bucket"
		if object {
			what = "an object"
		}
		rt.err = errorf(codeNotImplemented, "%s on %s with ?%s is not an S3 operation minikv implements", method, what, sub)
		return rt
	}
	// A bare parameter minikv does not know is a sub-resource of an S3
	// operation it does not know either (one newer than this code, say):
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
	// HEAD asks for what GET would answer, without the body (RFC 9110):
	// on a bucket or an object with no sub-resource it is HeadBucket or
	// HeadObject; with one (?acl, ?tagging, ?uploadId=...) or partNumber
	// it is routed as GET is, so that both give the same status and
	// headers, and a HEAD never answers for what a GET refuses. net/http
	// drops the body of an answer to HEAD; errors have none.
	head := method == http.MethodHead
	if head {
		method = http.MethodGet
	}

	switch {
	case bucket == "":
		if method == http.MethodGet {
			return set(opListBuckets)
		}
		return notAllowed("GET, HEAD")

	case key == "":
		switch method {
		case http.MethodGet:
			switch sub {
			case "":
				if head {
					return set(opHeadBucket)
				}
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
			return refuse(false)
		case http.MethodPut:
			if sub == "" {
				return set(opCreateBucket)
			}
			return refuse(false)
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
			return refuse(false)
		case http.MethodPost:
			if sub == "delete" {
				return set(opDeleteObjects)
			}
			if sub == "" && bucket == "WriteGetObjectResponse" {
				return notImpl("WriteGetObjectResponse") // S3 Object Lambda
			}
			if sub == "" {
				return notImpl("PostObject") // browser-based uploads with an HTML form
			}
			return refuse(false)
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
		case http.MethodGet:
			switch sub {
			case "":
				op := operation(opGetObject)
				if head {
					op = opHeadObject
				}
				if has("partNumber") {
					// A part of a multipart object, by its number.
					rt.op = op
					rt.err = errorf(codeNotImplemented, "%s with partNumber is not implemented by minikv", op)
					return rt
				}
				return set(op)
			case "uploadId":
				return set(opListParts)
			case "acl":
				return set(opGetObjectAcl)
			case "tagging":
				return set(opGetObjectTagging)
			}
			return refuse(true)
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
			return refuse(true)
		case http.MethodPost:
			switch sub {
			case "uploads":
				return set(opCreateMultipartUpload)
			case "uploadId":
				return set(opCompleteMultipartUpload)
			}
			return refuse(true)
		case http.MethodDelete:
			switch sub {
			case "":
				return set(opDeleteObject)
			case "uploadId":
				return set(opAbortMultipartUpload)
			}
			return refuse(true)
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

// refusedOperation names the S3 operation minikv does not implement that
// a request with this method (HEAD is GET here) and sub-resource asks for,
// on a bucket or an object, as Amazon's API reference names it; "" if the
// pair names no operation. docs/s3-compatibility.md lists every one
// (TestRefusedOperationsAreDocumented).
func refusedOperation(method string, object bool, sub string, q url.Values) operation {
	// The analytics, inventory, metrics and intelligent-tiering
	// configurations: one by its id, or a list of them.
	if !object && method == http.MethodGet {
		if name, ok := listedConfigurations[sub]; ok {
			if _, one := q["id"]; one {
				return operation("GetBucket" + name + "Configuration")
			}
			return operation("ListBucket" + name + "Configurations")
		}
	}
	if object && method == http.MethodGet && sub == "annotation" && q.Get("x-id") == "ListObjectAnnotations" {
		return "ListObjectAnnotations"
	}
	return refusedOperations[refusedKey{method, object, sub}]
}

type refusedKey struct {
	method string
	object bool
	sub    string
}

var listedConfigurations = map[string]string{
	"analytics": "Analytics", "inventory": "Inventory", "metrics": "Metrics", "intelligent-tiering": "IntelligentTiering",
}

// refusedOperations are the operations, by method, resource and
// sub-resource, that minikv refuses with 501 NotImplemented.
var refusedOperations = func() map[refusedKey]operation {
	m := map[refusedKey]operation{}
	add := func(method string, object bool, ops map[string]operation) {
		for sub, op := range ops {
			m[refusedKey{method, object, sub}] = op
		}
	}
	add(http.MethodGet, false, map[string]operation{
		"accelerate": "GetBucketAccelerateConfiguration", "logging": "GetBucketLogging",
		"notification": "GetBucketNotificationConfiguration", "ownershipControls": "GetBucketOwnershipControls",
		"policyStatus": "GetBucketPolicyStatus", "publicAccessBlock": "GetPublicAccessBlock",
		"replication": "GetBucketReplication", "tagging": "GetBucketTagging", "website": "GetBucketWebsite",
		"session": "CreateSession", "abac": "GetBucketAbac",
		"metadataConfiguration": "GetBucketMetadataConfiguration", "metadataTable": "GetBucketMetadataTableConfiguration",
	})
	add(http.MethodPut, false, map[string]operation{
		"accelerate": "PutBucketAccelerateConfiguration", "acl": "PutBucketAcl",
		"analytics": "PutBucketAnalyticsConfiguration", "cors": "PutBucketCors", "encryption": "PutBucketEncryption",
		"intelligent-tiering": "PutBucketIntelligentTieringConfiguration", "inventory": "PutBucketInventoryConfiguration",
		"lifecycle": "PutBucketLifecycleConfiguration", "logging": "PutBucketLogging",
		"metrics": "PutBucketMetricsConfiguration", "notification": "PutBucketNotificationConfiguration",
		"object-lock": "PutObjectLockConfiguration", "ownershipControls": "PutBucketOwnershipControls",
		"policy": "PutBucketPolicy", "publicAccessBlock": "PutPublicAccessBlock", "replication": "PutBucketReplication",
		"requestPayment": "PutBucketRequestPayment", "tagging": "PutBucketTagging", "versioning": "PutBucketVersioning",
		"website": "PutBucketWebsite", "abac": "PutBucketAbac",
		"metadataAnnotationTable": "UpdateBucketMetadataAnnotationTableConfiguration",
		"metadataInventoryTable":  "UpdateBucketMetadataInventoryTableConfiguration",
		"metadataJournalTable":    "UpdateBucketMetadataJournalTableConfiguration",
	})
	add(http.MethodDelete, false, map[string]operation{
		"analytics": "DeleteBucketAnalyticsConfiguration", "encryption": "DeleteBucketEncryption",
		"intelligent-tiering": "DeleteBucketIntelligentTieringConfiguration",
		"inventory":           "DeleteBucketInventoryConfiguration", "metrics": "DeleteBucketMetricsConfiguration",
		"ownershipControls": "DeleteBucketOwnershipControls", "publicAccessBlock": "DeletePublicAccessBlock",
		"replication": "DeleteBucketReplication", "tagging": "DeleteBucketTagging", "website": "DeleteBucketWebsite",
		"metadataConfiguration": "DeleteBucketMetadataConfiguration", "metadataTable": "DeleteBucketMetadataTableConfiguration",
	})
	add(http.MethodPost, false, map[string]operation{
		"metadataConfiguration": "CreateBucketMetadataConfiguration", "metadataTable": "CreateBucketMetadataTableConfiguration",
	})
	add(http.MethodGet, true, map[string]operation{
		"attributes": "GetObjectAttributes", "legal-hold": "GetObjectLegalHold", "retention": "GetObjectRetention",
		"torrent": "GetObjectTorrent", "annotation": "GetObjectAnnotation",
	})
	add(http.MethodPut, true, map[string]operation{
		"acl": "PutObjectAcl", "legal-hold": "PutObjectLegalHold", "retention": "PutObjectRetention",
		"tagging": "PutObjectTagging", "encryption": "UpdateObjectEncryption", "renameObject": "RenameObject",
		"annotation": "PutObjectAnnotation",
	})
	add(http.MethodPost, true, map[string]operation{"restore": "RestoreObject", "select": "SelectObjectContent"})
	add(http.MethodDelete, true, map[string]operation{"tagging": "DeleteObjectTagging", "annotation": "DeleteObjectAnnotation"})
	return m
}()
