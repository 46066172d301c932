package s3

import (
	"net/http"
	"strings"

	"github.com/minikv-go/minikv/s3/store"
)

// listBuckets answers GET /: every bucket, by name.
func (h *Handler) listBuckets(q *request) error {
	buckets, err := h.store.ListBuckets(q.r.Context())
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{NS: s3NS, Owner: ownerOf(q.auth.AccessKey)}
	for _, b := range buckets {
		res.Buckets.Bucket = append(res.Buckets.Bucket, bucketInfo{Name: b.Name, CreationDate: isoTime(b.Created)})
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

// createBucket creates a bucket: PUT /bucket, with an optional
// CreateBucketConfiguration body naming the region.
func (h *Handler) createBucket(q *request) error {
	hdr := q.r.Header
	if err := checkCannedACL(hdr.Get("X-Amz-Acl")); err != nil {
		return err
	}
	for name := range hdr {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return aclNotSupported()
		}
	}
	if strings.EqualFold(hdr.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true") {
		return errorf(codeNotImplemented, "CreateBucket with x-amz-bucket-object-lock-enabled (Object Lock) is not implemented by minikv.")
	}
	switch o := hdr.Get("X-Amz-Object-Ownership"); o {
	case "", "BucketOwnerEnforced":
	default:
		return errorf(codeNotImplemented, "CreateBucket with x-amz-object-ownership %q is not implemented by minikv: buckets are BucketOwnerEnforced.", o)
	}
	if err := store.ValidBucketName(q.rt.bucket); err != nil {
		return err
	}
	b, err := readSmallBody(q)
	if err != nil {
		return err
	}
	if len(b) > 0 {
		var cfg createBucketConfiguration
		if err := decodeXML(b, &cfg); err != nil {
			return err
		}
		if c := cfg.LocationConstraint; c != "" && c != h.region {
			return errorf("IllegalLocationConstraintException",
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to (%s).", c, h.region)
		}
	}
	if err := h.store.CreateBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	q.w.Header().Set("Location", "/"+q.rt.bucket)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// headBucket answers HEAD /bucket.
func (h *Handler) headBucket(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	q.w.Header().Set("X-Amz-Bucket-Region", h.region)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket deletes an empty bucket: DELETE /bucket.
func (h *Handler) deleteBucket(q *request) error {
	if err := h.store.DeleteBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketLocation answers GET /bucket?location: the region, empty for
// us-east-1 as S3 writes it.
func (h *Handler) getBucketLocation(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	region := h.region
	if region == "us-east-1" {
		region = ""
	}
	writeXML(q.w, http.StatusOK, locationConstraint{NS: s3NS, Region: region})
	return nil
}

// getBucketVersioning answers GET /bucket?versioning: versioning has never
// been enabled, which S3 says with an empty configuration.
func (h *Handler) getBucketVersioning(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, versioningConfiguration{NS: s3NS})
	return nil
}

// bucketNotConfigured answers a GET of a bucket configuration minikv does
// not keep (policy, CORS, lifecycle, Object Lock, encryption) the way S3
// answers for a bucket that has none: the "not found" error of that
// configuration.
func bucketNotConfigured(code, message string) func(*Handler, *request) error {
	return func(h *Handler, q *request) error {
		if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
			return err
		}
		e := errorf(code, "%s", message)
		e.Status = http.StatusNotFound
		return e
	}
}

// deleteBucketConfig answers DELETE /bucket?policy (?cors, ?lifecycle):
// there is none, so there is nothing to delete, which S3 answers 204.
func (h *Handler) deleteBucketConfig(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketAcl answers GET /bucket?acl: the owner has full control, and
// nobody else has anything.
func (h *Handler) getBucketAcl(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, ownerOnlyACL(q.auth.AccessKey))
	return nil
}

// getBucketRequestPayment answers GET /bucket?requestPayment: the owner
// pays, the only mode there is here.
func (h *Handler) getBucketRequestPayment(q *request) error {
	if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, requestPaymentConfiguration{NS: s3NS, Payer: "BucketOwner"})
	return nil
}

// ownerOnlyACL is the access control policy of every bucket and object:
// FULL_CONTROL for the owner.
func ownerOnlyACL(accessKey string) accessControlPolicy {
	o := ownerOf(accessKey)
	return accessControlPolicy{NS: s3NS, Owner: o, Grants: []grant{{
		Grantee: grantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", XSIType: "CanonicalUser",
			ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}
