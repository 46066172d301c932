package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minikv-go/minikv/s3/store"
)

// createMultipartUpload starts an upload: POST /bucket/key?uploads.
func (h *Handler) createMultipartUpload(q *request) error {
	hdr := q.r.Header
	if err := checkWriteHeaders(q.rt.op, hdr); err != nil {
		return err
	}
	meta := metaFromHeaders(hdr)
	alg, err := requestChecksumAlgorithm(hdr)
	if err != nil {
		return err
	}
	meta.ChecksumType = strings.ToUpper(hdr.Get("X-Amz-Checksum-Type"))
	if err := drain(q.body); err != nil {
		return err
	}
	up, err := h.store.CreateMultipartUpload(q.r.Context(), q.rt.bucket, q.rt.key, meta, alg)
	if err != nil {
		return err
	}
	if up.ChecksumAlgorithm != "" {
		q.w.Header().Set("X-Amz-Checksum-Algorithm", up.ChecksumAlgorithm)
		q.w.Header().Set("X-Amz-Checksum-Type", up.Meta.ChecksumType)
	}
	writeXML(q.w, http.StatusOK, initiateMultipartUploadResult{NS: s3NS, Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID})
	return nil
}

// uploadPart stores a part: PUT /bucket/key?partNumber=N&uploadId=ID.
func (h *Handler) uploadPart(q *request) error {
	number, uploadID, err := partArgs(q.r.URL.Query())
	if err != nil {
		return err
	}
	hdr := q.r.Header
	if err := checkWriteHeaders(q.rt.op, hdr); err != nil {
		return err
	}
	md5sum, err := contentMD5(hdr)
	if err != nil {
		return err
	}
	sums, err := requestChecksums(hdr)
	if err != nil {
		return err
	}
	if _, err := requestChecksumAlgorithm(hdr); err != nil {
		return err
	}
	in := store.PartInput{Bucket: q.rt.bucket, Key: q.rt.key, UploadID: uploadID, Number: number, ContentMD5: md5sum, Checksums: sums}
	if in.Body, in.Size, in.Trailer, err = uploadBody(q); err != nil {
		return err
	}
	part, err := h.store.UploadPart(q.r.Context(), in)
	if err != nil {
		return err
	}
	out := q.w.Header()
	out.Set("ETag", quoteETag(part.ETag))
	setChecksumHeaders(out, part.Checksums, "")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// uploadPartCopy stores a part copied from an object, or from a range of
// it: PUT /bucket/key?partNumber=N&uploadId=ID with x-amz-copy-source.
func (h *Handler) uploadPartCopy(q *request) error {
	number, uploadID, err := partArgs(q.r.URL.Query())
	if err != nil {
		return err
	}
	hdr := q.r.Header
	srcBucket, srcKey, err := copySource(hdr.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	rng, err := copySourceRange(hdr.Get("X-Amz-Copy-Source-Range"))
	if err != nil {
		return err
	}
	if err := drain(q.body); err != nil {
		return err
	}
	cond := readConditions(hdr, "X-Amz-Copy-Source-")
	part, err := h.store.UploadPartCopy(q.r.Context(), q.rt.bucket, q.rt.key, uploadID, number, srcBucket, srcKey, rng, cond)
	if err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, copyPartResult{NS: s3NS, LastModified: isoTime(part.LastModified),
		ETag: quoteETag(part.ETag), checksumElems: checksumElemsOf(part.Checksums, "")})
	return nil
}

// partArgs reads the partNumber and uploadId of UploadPart(Copy).
func partArgs(q url.Values) (int, string, error) {
	uploadID := q.Get("uploadId")
	if uploadID == "" {
		return 0, "", errorf(codeInvalidArgument, "This operation needs an uploadId.")
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > store.MaxParts {
		return 0, "", errorf(codeInvalidArgument, "Part number must be an integer between 1 and %d, inclusive", store.MaxParts)
	}
	return n, uploadID, nil
}

// copySourceRange parses x-amz-copy-source-range, bytes=first-last (both
// required, inclusive): nil if absent. The store checks it against the
// source's size.
func copySourceRange(v string) (*store.Range, error) {
	if v == "" {
		return nil, nil
	}
	bad := errorf(codeInvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return nil, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return nil, bad
	}
	return &store.Range{Start: first, End: last}, nil
}

// completeMultipartUpload assembles the object from its parts:
// POST /bucket/key?uploadId=ID with the list of parts.
func (h *Handler) completeMultipartUpload(q *request) error {
	uploadID := q.r.URL.Query().Get("uploadId")
	if uploadID == "" {
		return errorf(codeInvalidArgument, "This operation needs an uploadId.")
	}
	if q.r.Header.Get("If-Match") != "" || q.r.Header.Get("If-None-Match") != "" {
		return errorf(codeNotImplemented, "CompleteMultipartUpload with If-Match or If-None-Match (a conditional write) is not implemented by minikv.")
	}
	var req completeRequest
	if err := readXML(q, &req); err != nil {
		return err
	}
	parts := make([]store.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = store.CompletePart{Number: p.PartNumber, ETag: trimETag(p.ETag), Checksums: p.checksums()}
	}
	meta, err := h.store.CompleteMultipartUpload(q.r.Context(), q.rt.bucket, q.rt.key, uploadID, parts)
	if err != nil {
		return err
	}
	writeXML(q.w, http.StatusOK, completeMultipartUploadResult{NS: s3NS, Location: objectURL(q.r, q.rt),
		Bucket: q.rt.bucket, Key: q.rt.key, ETag: quoteETag(meta.ETag),
		checksumElems: checksumElemsOf(meta.Checksums, meta.ChecksumType)})
	return nil
}

// checksums returns the checksums a CompleteMultipartUpload gives a part.
func (p completePart) checksums() map[string]string {
	var m map[string]string
	for alg, v := range map[string]string{
		store.ChecksumCRC32: p.ChecksumCRC32, store.ChecksumCRC32C: p.ChecksumCRC32C,
		store.ChecksumCRC64NVME: p.ChecksumCRC64NVME, store.ChecksumSHA1: p.ChecksumSHA1, store.ChecksumSHA256: p.ChecksumSHA256,
	} {
		if v = strings.TrimSpace(v); v != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[alg] = v
		}
	}
	return m
}

// objectURL is the URL of the object a request names, as the client
// addressed it.
func objectURL(r *http.Request, rt route) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: "/" + rt.bucket + "/" + rt.key}
	return u.String()
}

// abortMultipartUpload aborts an upload: DELETE /bucket/key?uploadId=ID.
func (h *Handler) abortMultipartUpload(q *request) error {
	uploadID := q.r.URL.Query().Get("uploadId")
	if err := h.store.AbortMultipartUpload(q.r.Context(), q.rt.bucket, q.rt.key, uploadID); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"ListPartsResult"`
	NS                   string     `xml:"xmlns,attr"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	Initiator            owner      `xml:"Initiator"`
	Owner                owner      `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Parts                []partElem `xml:"Part"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string     `xml:"ChecksumType,omitempty"`
}

type partElem struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumElems
}

// listParts lists an upload's parts: GET /bucket/key?uploadId=ID.
func (h *Handler) listParts(q *request) error {
	args := q.r.URL.Query()
	uploadID := args.Get("uploadId")
	marker, err := intArg(args, "part-number-marker", 0)
	if err != nil {
		return err
	}
	maxParts, err := intArg(args, "max-parts", store.MaxListKeys)
	if err != nil {
		return err
	}
	// One read: the upload and the page of its parts. max-parts=0 is a
	// page of nothing, but the upload must exist.
	page, err := h.store.ListParts(q.r.Context(), q.rt.bucket, q.rt.key, uploadID, marker, max(maxParts, 1))
	if err != nil {
		return err
	}
	// minikv has one owner, the access key: it initiated every upload.
	me := ownerOf(q.auth.AccessKey)
	up := page.Upload
	res := listPartsResult{NS: s3NS, Bucket: q.rt.bucket, Key: q.rt.key, UploadID: uploadID,
		Initiator: me, Owner: me, StorageClass: up.StorageClass,
		PartNumberMarker: marker, MaxParts: min(maxParts, store.MaxListKeys)}
	if up.ChecksumAlgorithm != "" {
		res.ChecksumAlgorithm, res.ChecksumType = up.ChecksumAlgorithm, up.Meta.ChecksumType
	}
	if maxParts > 0 {
		res.IsTruncated, res.NextPartNumberMarker = page.Truncated, page.Next
		for _, p := range page.Parts {
			res.Parts = append(res.Parts, partElem{PartNumber: p.Number, LastModified: isoTime(p.LastModified),
				ETag: quoteETag(p.ETag), Size: p.Size, checksumElems: checksumElemsOf(p.Checksums, "")})
		}
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	NS                 string         `xml:"xmlns,attr"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadElem   `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

type uploadElem struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

// listMultipartUploads lists a bucket's unfinished uploads:
// GET /bucket?uploads.
func (h *Handler) listMultipartUploads(q *request) error {
	args := q.r.URL.Query()
	enc, err := encodingType(args)
	if err != nil {
		return err
	}
	maxUploads, err := intArg(args, "max-uploads", store.MaxListKeys)
	if err != nil {
		return err
	}
	opts := store.ListUploadsOptions{Prefix: args.Get("prefix"), Delimiter: args.Get("delimiter"),
		KeyMarker: args.Get("key-marker"), UploadIDMarker: args.Get("upload-id-marker"), MaxUploads: maxUploads}
	res := listMultipartUploadsResult{NS: s3NS, Bucket: q.rt.bucket, KeyMarker: enc(opts.KeyMarker),
		UploadIDMarker: opts.UploadIDMarker, Prefix: enc(opts.Prefix), Delimiter: enc(opts.Delimiter),
		MaxUploads: min(maxUploads, store.MaxListKeys), EncodingType: args.Get("encoding-type")}
	if maxUploads == 0 {
		if _, err := h.store.HeadBucket(q.r.Context(), q.rt.bucket); err != nil {
			return err
		}
		writeXML(q.w, http.StatusOK, res)
		return nil
	}
	uploads, prefixes, truncated, nextKey, nextID, err := h.store.ListMultipartUploads(q.r.Context(), q.rt.bucket, opts)
	if err != nil {
		return err
	}
	res.IsTruncated = truncated
	if truncated {
		res.NextKeyMarker, res.NextUploadIDMarker = enc(nextKey), nextID
	}
	me := ownerOf(q.auth.AccessKey)
	for _, up := range uploads {
		res.Uploads = append(res.Uploads, uploadElem{Key: enc(up.Key), UploadID: up.UploadID, Initiator: me, Owner: me,
			StorageClass: up.StorageClass, Initiated: isoTime(up.Initiated),
			ChecksumAlgorithm: up.ChecksumAlgorithm, ChecksumType: up.Meta.ChecksumType})
	}
	for _, p := range prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(p)})
	}
	writeXML(q.w, http.StatusOK, res)
	return nil
}
