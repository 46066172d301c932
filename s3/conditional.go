package s3

import (
	"net/http"

	"github.com/minikv-go/minikv/s3/store"
)

// Conditional requests (RFC 9110, section 13, as S3 applies them).
//
// GET and HEAD evaluate, in this order:
//
//  1. If-Match: if the ETag does not match, 412 PreconditionFailed. If it
//     matches, If-Unmodified-Since is not looked at.
//  2. If-Unmodified-Since (without If-Match): modified since, 412.
//  3. If-None-Match: if the ETag matches, 304 Not Modified. If it does not,
//     If-Modified-Since is not looked at.
//  4. If-Modified-Since (without If-None-Match): not modified since, 304.
//
// So If-Match true with If-Unmodified-Since false serves the object, and
// If-None-Match false with If-Modified-Since true answers 304, as S3
// documents. CopyObject and UploadPartCopy evaluate the same conditions
// from the x-amz-copy-source-if-* headers against the source object, and
// answer 412 wherever a GET would answer 304. The store evaluates them
// (store.CheckConditions) against the very version it serves.
//
// PutObject and CompleteMultipartUpload take If-None-Match: * (create
// only) and If-Match: "etag" (replace only that version), S3's
// conditional writes; the store checks them in the command that writes.

// readConditions reads the conditions from the headers named prefix +
// "If-Match" and so on: "" for GET and HEAD, "X-Amz-Copy-Source-" for a
// copy's source. A date that does not parse is ignored, as RFC 9110
// requires.
func readConditions(h http.Header, prefix string) store.Conditions {
	c := store.Conditions{IfMatch: h.Get(prefix + "If-Match"), IfNoneMatch: h.Get(prefix + "If-None-Match")}
	if v := h.Get(prefix + "If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			c.IfModifiedSince = t
		}
	}
	if v := h.Get(prefix + "If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			c.IfUnmodifiedSince = t
		}
	}
	return c
}
