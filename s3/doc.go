// Package s3 is minikv's S3-compatible front door: the HTTP handler that
// the aws CLI, the AWS SDKs, minio-go, boto3, s3cmd and rclone talk to.
// New returns the http.Handler a node serves on its listen.s3 address.
// It authenticates requests with package sigv4 and keeps buckets and
// objects with package store, in the node's replicated key-value store.
//
// # Routing
//
// A request names the service, a bucket or an object:
//
//	GET  /                      ListBuckets
//	     /bucket                bucket operations
//	     /bucket/key...         object operations
//
// That is path style. When Options.Domain is set, virtual-host style
// works too: the bucket is the subdomain, bucket.Domain, and the whole
// path is the key. The key is the request's path decoded once by
// net/http and used as it is — never cleaned, never routed through
// ServeMux — so "a//b", "a/../b" and "dir/" are keys of their own, and a
// '+' is a plus.
//
// The operation follows from the method and the query's sub-resources
// (router.go): ?uploads, ?uploadId, ?partNumber, ?delete, ?location,
// ?versioning, ?versions, ?acl, list-type=2, and so on; other parameters
// (prefix=, x-id=, the X-Amz-* of a presigned URL) are arguments. HEAD
// is routed as GET is, and answers without the body: on a bucket or an
// object alone it is HeadBucket or HeadObject.
// Configuration sub-resources minikv does not keep answer the way S3
// answers for a bucket that has none: ?versioning an empty configuration,
// ?policy NoSuchBucketPolicy, ?cors NoSuchCORSConfiguration, ?lifecycle
// NoSuchLifecycleConfiguration, ?object-lock
// ObjectLockConfigurationNotFoundError, ?encryption
// ServerSideEncryptionConfigurationNotFoundError, ?acl the owner's full
// control. ?versions lists the current objects, each as its only version,
// "null"; versionId=null names an object's current version, and any other
// version id is InvalidArgument, as S3 answers for an unversioned bucket.
// Everything else — tagging, website, replication, setting policies or
// ACLs, SSE, Object Lock, SELECT, POST uploads — answers 501
// NotImplemented: an operation is done or refused, never pretended.
//
// # A request's way through the handler
//
//  1. Route (no I/O).
//  2. Authenticate (sigv4.Verifier.Verify), before any of the body is
//     read: net/http sends "100 Continue" to a client that waits for it
//     only when the body is first read, so a refused upload is never sent.
//     There are no anonymous requests: a request without a signature is
//     AccessDenied.
//  3. A write (any method but GET and HEAD) reaching a follower is
//     forwarded to the leader, body unread (forward.go). Reads are served
//     by the node that receives them: the store reads linearizably, so a
//     GET on any node sees every PUT that completed before it began.
//  4. Run the operation. Bodies are read only through the verifier's
//     reader, which decodes aws-chunked framing and checks the payload's
//     signature as it streams; uploads are streamed into the store chunk by
//     chunk and downloads out of it, so no object is ever held in memory.
//     The small XML bodies (CreateBucketConfiguration, Delete,
//     CompleteMultipartUpload) are read through a limit of a few MiB.
//
// Checksums (checksum.go): Content-MD5, x-amz-checksum-* headers and the
// trailing checksums of aws-chunked bodies are verified by the store
// before an object appears, and stored; the store reads every body to its
// end, where the verifier gives its verdict. GET and HEAD return the
// stored checksums when asked with x-amz-checksum-mode: ENABLED.
//
// # Errors
//
// Every error is S3's XML document with S3's code and status:
//
//	<Error><Code>NoSuchKey</Code><Message>...</Message><Key>k</Key>
//	<Resource>/bucket/k</Resource><RequestId>...</RequestId><HostId>...</HostId></Error>
//
// The store's errors are named after S3's codes, the verifier's too, and
// the kv's "not the leader", "timeout" and "unavailable" become 503
// ServiceUnavailable, which every client retries. HEAD answers and 304s
// have no body. Every answer carries x-amz-request-id, x-amz-id-2,
// Server: minikv and X-Minikv-Node.
//
// # Files
//
//	handler.go      Options, New, the way of every request
//	router.go       bucket, key and operation of a request
//	forward.go      writes on a follower go to the leader
//	errors.go       S3 error codes, statuses and the error document
//	xml.go          XML documents, and bounded reading of request bodies
//	bucket.go       buckets, and the configurations they do not have
//	object.go       PUT, GET, HEAD, DELETE, copy and multi-delete of objects
//	conditional.go  If-Match and friends
//	checksum.go     digests of uploads and the upload body
//	list.go         ListObjects, ListObjectsV2, ListObjectVersions
//	multipart.go    multipart uploads
package s3
