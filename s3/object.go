package s3

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/minikv-go/minikv/s3/store"
)

// defaultContentType is what S3 answers for an object stored without a
// Content-Type.
const defaultContentType = "binary/octet-stream"

// putObject stores the body as the object: PUT /bucket/key.
func (h *Handler) putObject(q *request) error {
	in, err := h.uploadInput(q)
	if err != nil {
		return err
	}
	in.IfMatch = q.r.Header.Get("If-Match")
	in.IfNoneMatch = q.r.Header.Get("If-None-Match")
	meta, err := h.store.PutObject(q.r.Context(), in)
	if err != nil {
		return err
	}
	hdr := q.w.Header()
	hdr.Set("ETag", quoteETag(meta.ETag))
	setChecksumHeaders(hdr, meta.Checksums, meta.ChecksumType)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// uploadInput reads a PutObject: the stored headers, the digests to
// verify, and the body.
func (h *Handler) uploadInput(q *request) (store.PutInput, error) {
	hdr := q.r.Header
	in := store.PutInput{Bucket: q.rt.bucket, Key: q.rt.key}
	if err := checkWriteHeaders(q.rt.op, hdr); err != nil {
		return in, err
	}
	in.Meta = metaFromHeaders(hdr)
	var err error
	if in.ContentMD5, err = contentMD5(hdr); err != nil {
		return in, err
	}
	if in.Checksums, err = requestChecksums(hdr); err != nil {
		return in, err
	}
	if in.ChecksumAlgorithm, err = requestChecksumAlgorithm(hdr); err != nil {
		return in, err
	}
	if in.Body, in.Size, in.Trailer, err = uploadBody(q); err != nil {
		return in, err
	}
	if t := in.Trailer; t != nil && in.ChecksumAlgorithm != "" && in.ChecksumAlgorithm != t.Algorithm {
		return in, errorf(codeInvalidRequest, "The x-amz-trailer checksum %s is not the announced algorithm %s.", t.Algorithm, in.ChecksumAlgorithm)
	}
	return in, nil
}

// metaFromHeaders reads the headers S3 stores with an object.
func metaFromHeaders(h http.Header) store.ObjectMeta {
	m := store.ObjectMeta{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(h.Values("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	for name, values := range h {
		lower := strings.ToLower(name)
		if k, ok := strings.CutPrefix(lower, "x-amz-meta-"); ok && k != "" {
			if m.UserMeta == nil {
				m.UserMeta = map[string]string{}
			}
			m.UserMeta[k] = strings.Join(values, ",")
		}
	}
	return m
}

// stripAWSChunked removes aws-chunked from a Content-Encoding: it names
// the framing of this request's body, not an encoding of the object.
func stripAWSChunked(values []string) string {
	var keep []string
	for _, v := range values {
		for _, enc := range strings.Split(v, ",") {
			if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "aws-chunked") {
				keep = append(keep, enc)
			}
		}
	}
	return strings.Join(keep, ",")
}

// checkWriteHeaders refuses the headers of features minikv does not have,
// rather than ignoring what the client asked for. op is the operation, as
// the refusal names it.
func checkWriteHeaders(op operation, h http.Header) error {
	for name := range h {
		lower := strings.ToLower(name)
		switch {
		case strings.HasPrefix(lower, "x-amz-server-side-encryption"):
			return errorf(codeNotImplemented, "%s with %s (server-side encryption) is not implemented by minikv.", op, lower)
		case strings.HasPrefix(lower, "x-amz-object-lock-"):
			return errorf(codeNotImplemented, "%s with %s (Object Lock) is not implemented by minikv.", op, lower)
		case lower == "x-amz-tagging":
			return errorf(codeNotImplemented, "%s with x-amz-tagging (object tagging) is not implemented by minikv yet.", op)
		case lower == "x-amz-website-redirect-location":
			return errorf(codeNotImplemented, "%s with x-amz-website-redirect-location (website redirects) is not implemented by minikv.", op)
		case lower == "x-amz-write-offset-bytes":
			// An append: taking it for a plain PUT would overwrite the object.
			return errorf(codeNotImplemented, "%s with x-amz-write-offset-bytes (an append) is not implemented by minikv.", op)
		case strings.HasPrefix(lower, "x-amz-grant-"):
			return aclNotSupported()
		}
	}
	if err := checkCannedACL(h.Get("X-Amz-Acl")); err != nil {
		return err
	}
	switch sc := h.Get("X-Amz-Storage-Class"); sc {
	case "", "STANDARD":
	default:
		return errorf("InvalidStorageClass", "The storage class you specified is not valid: minikv stores every object in the STANDARD class.")
	}
	return nil
}

// checkCannedACL accepts the canned ACLs that grant nothing beyond the
// owner's full control, as a bucket with S3's default "bucket owner
// enforced" object ownership does; others are refused like S3 refuses
// them there.
func checkCannedACL(acl string) error {
	switch acl {
	case "", "private", "bucket-owner-full-control":
		return nil
	}
	return aclNotSupported()
}

func aclNotSupported() *Error {
	return errorf("AccessControlListNotSupported", "The bucket does not allow ACLs: minikv grants access by access key only.")
}

// getObject answers GET and HEAD on an object: its headers, and for GET
// its data, or the bytes of a Range.
func (h *Handler) getObject(q *request) error {
	hdr := q.r.Header
	overrides := responseOverrides(q.r.URL.Query())
	head := q.r.Method == http.MethodHead
	// One read of the object's metadata: the conditions, the range and the
	// data are all of that version.
	meta, rng, body, err := h.store.OpenObject(q.r.Context(), q.rt.bucket, q.rt.key,
		store.ReadOptions{Conditions: readConditions(hdr, ""), Range: hdr.Get("Range"), MetaOnly: head})
	switch {
	case errors.Is(err, store.ErrNotModified):
		// A 304 still names the version the client has.
		q.w.Header().Set("ETag", quoteETag(meta.ETag))
		q.w.Header().Set("Last-Modified", httpTime(meta.LastModified))
		return err
	case errors.Is(err, store.ErrInvalidRange):
		return toError(err).withHeader("Content-Range", "bytes */"+itoa(meta.Size))
	case err != nil:
		return err
	}
	if body != nil {
		defer body.Close()
	}
	out := q.w.Header()
	setObjectHeaders(out, meta)
	if strings.EqualFold(hdr.Get("X-Amz-Checksum-Mode"), "ENABLED") && rng == nil {
		setChecksumHeaders(out, meta.Checksums, meta.ChecksumType)
	}
	for name, v := range overrides {
		out.Set(name, v)
	}
	status, length := http.StatusOK, meta.Size
	if rng != nil {
		status, length = http.StatusPartialContent, rng.Length()
		out.Set("Content-Range", rng.ContentRange(meta.Size))
	}
	out.Set("Content-Length", itoa(length))
	q.w.WriteHeader(status)
	if head {
		return nil
	}
	if _, err := io.Copy(q.w, body); err != nil {
		return err // the answer has started: the connection is broken off
	}
	return nil
}

// setObjectHeaders sets the headers of an object's metadata.
func setObjectHeaders(h http.Header, m store.ObjectMeta) {
	h.Set("ETag", quoteETag(m.ETag))
	h.Set("Last-Modified", httpTime(m.LastModified))
	h.Set("Accept-Ranges", "bytes")
	ct := m.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	h.Set("Content-Type", ct)
	for name, v := range map[string]string{
		"Content-Encoding": m.ContentEncoding, "Content-Disposition": m.ContentDisposition,
		"Content-Language": m.ContentLanguage, "Cache-Control": m.CacheControl, "Expires": m.Expires,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	for k, v := range m.UserMeta {
		h["X-Amz-Meta-"+k] = []string{v} // as stored: lower case, like S3 answers
	}
	if m.PartsCount > 0 {
		h.Set("X-Amz-Mp-Parts-Count", itoa(int64(m.PartsCount)))
	}
}

// responseOverrides reads the response-* query parameters of a GET, which
// replace headers of the answer.
func responseOverrides(q url.Values) map[string]string {
	var out map[string]string
	for param, header := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v, ok := q[param]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[header] = v[0]
		}
	}
	return out
}

// deleteObject deletes an object: DELETE /bucket/key. Deleting a key that
// does not exist succeeds, as in S3.
func (h *Handler) deleteObject(q *request) error {
	if q.r.Header.Get("If-Match") != "" {
		return errorf(codeNotImplemented, "DeleteObject with If-Match (a conditional delete) is not implemented by minikv.")
	}
	if err := h.store.DeleteObject(q.r.Context(), q.rt.bucket, q.rt.key); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteObjects deletes up to 1,000 keys: POST /bucket?delete.
func (h *Handler) deleteObjects(q *request) error {
	var req deleteRequest
	if err := readXML(q, &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errorf(codeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: a Delete holds 1 to 1000 objects.")
	}
	// Only the current version of an object, "null", can be deleted:
	// the other entries are answered NoSuchVersion and left alone.
	var keys []string
	var idx []int // the entry of each key
	for i, o := range req.Objects {
		// An entry with an ETag is a conditional delete, which minikv
		// does not implement: it is answered so, and the object stays.
		if (o.VersionID == "" || o.VersionID == "null") && o.ETag == "" {
			keys = append(keys, o.Key)
			idx = append(idx, i)
		}
	}
	errs := make([]error, len(req.Objects))
	for i, err := range h.store.DeleteObjects(q.r.Context(), q.rt.bucket, keys) {
		if errors.Is(err, store.ErrNoSuchBucket) {
			return err
		}
		errs[idx[i]] = err
	}
	res := deleteResult{NS: s3NS}
	for i, o := range req.Objects {
		switch {
		case o.VersionID != "" && o.VersionID != "null":
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: "NoSuchVersion", Message: "The specified version does not exist."})
		case o.ETag != "":
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: codeNotImplemented, Message: "DeleteObjects with an ETag in an entry (a conditional delete) is not implemented by minikv; the object was not deleted."})
		case errs[i] != nil:
			e := toError(errs[i])
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: e.Code, Message: e.Message})
		case !req.Quiet:
			res.Deleted = append(res.Deleted, deletedObject{Key: o.Key})
		}
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

// copyObject copies an object: PUT /bucket/key with x-amz-copy-source.
func (h *Handler) copyObject(q *request) error {
	hdr := q.r.Header
	if hdr.Get("X-Amz-Copy-Source-Range") != "" {
		return errorf(codeInvalidArgument, "The x-amz-copy-source-range header is only for UploadPartCopy.")
	}
	srcBucket, srcKey, err := copySource(hdr.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if err := checkWriteHeaders(q.rt.op, hdr); err != nil {
		return err
	}
	in := store.CopyInput{SrcBucket: srcBucket, SrcKey: srcKey, DstBucket: q.rt.bucket, DstKey: q.rt.key}
	switch d := hdr.Get("X-Amz-Metadata-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		in.ReplaceMeta, in.Meta = true, metaFromHeaders(hdr)
	default:
		return errorf(codeInvalidArgument, "Unknown metadata directive %q: it is COPY or REPLACE.", d)
	}
	if d := hdr.Get("X-Amz-Tagging-Directive"); d != "" && d != "COPY" {
		return errorf(codeNotImplemented, "CopyObject with x-amz-tagging-directive %s (object tagging) is not implemented by minikv yet.", d)
	}
	c := readConditions(hdr, "X-Amz-Copy-Source-")
	in.IfMatch, in.IfNoneMatch, in.IfModifiedSince, in.IfUnmodifiedSince = c.IfMatch, c.IfNoneMatch, c.IfModifiedSince, c.IfUnmodifiedSince
	if err := drain(q.body); err != nil {
		return err
	}
	meta, err := h.store.CopyObject(q.r.Context(), in)
	if err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, copyObjectResult{NS: s3NS, LastModified: isoTime(meta.LastModified),
		ETag: quoteETag(meta.ETag), checksumElems: checksumElemsOf(meta.Checksums, meta.ChecksumType)})
	return nil
}

// copySource parses x-amz-copy-source: bucket/key, with or without a
// leading slash, URL-encoded, optionally followed by ?versionId=.
func copySource(v string) (bucket, key string, err error) {
	bad := func() (string, string, error) {
		return "", "", errorf(codeInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	}
	if v == "" {
		return bad()
	}
	v, query, _ := strings.Cut(v, "?")
	if query != "" {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return bad()
		}
		if id := vals.Get("versionId"); id != "" && id != "null" {
			return "", "", errorf(codeInvalidArgument, "Invalid version id specified.")
		}
	}
	decoded, err := url.PathUnescape(v)
	if err != nil {
		return bad()
	}
	bucket, key = splitPath("/" + strings.TrimPrefix(decoded, "/"))
	if bucket == "" || key == "" {
		return bad()
	}
	return bucket, key, nil
}

// drain reads a body that should be empty to its end, so that the
// verifier's verdict on it is known.
func drain(body io.Reader) error {
	n, err := io.Copy(io.Discard, io.LimitReader(body, maxXMLBody))
	if err != nil {
		return err
	}
	if n > 0 {
		return errorf(codeInvalidRequest, "This request does not take a body.")
	}
	return nil
}

// getObjectAcl answers GET /bucket/key?acl: the owner has full control,
// and nobody else has anything.
// getObjectTagging answers an object's (empty) tag set. minikv stores no
// tags, so every object has none: the aws CLI asks before it copies a
// large object (--copy-props default), and must hear that, not a 501.
func (h *Handler) getObjectTagging(q *request) error {
	if _, err := h.store.HeadObject(q.r.Context(), q.rt.bucket, q.rt.key); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, tagging{NS: s3NS})
	return nil
}

func (h *Handler) getObjectAcl(q *request) error {
	if _, err := h.store.HeadObject(q.r.Context(), q.rt.bucket, q.rt.key); err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, ownerOnlyACL(q.auth.AccessKey))
	return nil
}
