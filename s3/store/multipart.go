package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// Upload is a multipart upload in progress.
type Upload struct {
	Bucket, Key, UploadID string
	Initiated             time.Time
	Meta                  ObjectMeta // the object's metadata to be, from CreateMultipartUpload
	ChecksumAlgorithm     string     // computed for every part; Meta.ChecksumType says how they combine
	// StorageClass is the object's storage class to be: STANDARD, the
	// only one there is (uploads recorded before the field have "" in the
	// record, and StorageClass when read).
	StorageClass string
}

// StorageClass is the storage class of every object and upload.
const StorageClass = "STANDARD"

func (up *Upload) fill() {
	if up.StorageClass == "" {
		up.StorageClass = StorageClass
	}
}

// PartsPage is a page of ListParts: the upload and some of its parts.
type PartsPage struct {
	Upload    Upload // as CreateMultipartUpload made it
	Parts     []PartInfo
	Truncated bool
	Next      int // the last part number returned: the marker of the next page
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number       int
	ETag         string // the part's MD5 in hex, without quotes
	Size         int64
	LastModified time.Time
	Checksums    map[string]string
}

// CompletePart is one part of a CompleteMultipartUpload request.
type CompletePart struct {
	Number    int
	ETag      string            // with or without quotes
	Checksums map[string]string // if given, must match the part's
}

// ListUploadsOptions select a page of ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix, Delimiter, KeyMarker, UploadIDMarker string
	MaxUploads                                   int // 0: 1000; at most 1000
}

// CreateMultipartUpload starts a multipart upload of key. meta holds the
// object's headers, and its ChecksumType the checksum type asked for (see
// ObjectMeta); checksumAlgorithm, if set, is computed for every part.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, meta ObjectMeta, checksumAlgorithm string) (Upload, error) {
	if err := checkKey(key); err != nil {
		return Upload{}, err
	}
	if err := checkMeta(meta); err != nil {
		return Upload{}, err
	}
	if err := checkChecksumArgs(nil, nil, checksumAlgorithm); err != nil {
		return Upload{}, err
	}
	typ, err := checksumType(checksumAlgorithm, meta.ChecksumType)
	if err != nil {
		return Upload{}, err
	}
	if _, err := s.headBucket(ctx, bucket, false); err != nil {
		return Upload{}, err
	}
	meta.Bucket, meta.Key, meta.ChecksumType = bucket, key, typ
	now := s.now()
	up := Upload{Bucket: bucket, Key: key, UploadID: newID(now), Initiated: now.UTC().Truncate(time.Millisecond),
		Meta: meta, ChecksumAlgorithm: checksumAlgorithm, StorageClass: StorageClass}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var b batch
		b.putIf(uploadKey(bucket, key, up.UploadID), mustJSON(up), 0)
		b.put(uploadIndexKey(up.UploadID), mustJSON(uploadIndex{Bucket: bucket, Key: key}))
		ti := b.delIf(tombKey(bucket), 0)
		_, err := s.apply(ctx, &b)
		if op, conflict := failedOp(err); conflict && op == ti {
			if err := s.bucketGone(ctx, bucket); err != nil {
				return Upload{}, err
			}
			continue
		}
		if err != nil {
			return Upload{}, fmt.Errorf("s3 store: create upload %s/%s: %w", bucket, key, err)
		}
		return up, nil
	}
	return Upload{}, ErrOperationAborted
}

// checksumType resolves the checksum type of an upload.
func checksumType(alg, typ string) (string, error) {
	sha := alg == ChecksumSHA1 || alg == ChecksumSHA256
	switch {
	case alg == "" && typ != "":
		return "", errorf(ErrInvalidRequest, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case alg == "":
		return "", nil
	case typ == "" && alg == ChecksumCRC64NVME, typ == ChecksumFullObject && !sha:
		return ChecksumFullObject, nil
	case typ == "" || typ == ChecksumComposite && alg != ChecksumCRC64NVME:
		return ChecksumComposite, nil
	}
	return "", errorf(ErrInvalidRequest, "The %s checksum type cannot be used with the %s checksum algorithm.", lower(typ), lower(alg))
}

// readUpload reads an open upload's record linearizably.
func (s *Store) readUpload(ctx context.Context, bucket, key, uploadID string) (Upload, uint64, error) {
	if err := checkKey(key); err != nil {
		return Upload{}, 0, err
	}
	if ValidBucketName(bucket) != nil {
		return Upload{}, 0, ErrNoSuchBucket
	}
	if !validID(uploadID) {
		return Upload{}, 0, ErrNoSuchUpload
	}
	it, ok, err := s.get(ctx, uploadKey(bucket, key, uploadID), false)
	if err != nil {
		return Upload{}, 0, err
	}
	if !ok {
		if _, err := s.headBucket(ctx, bucket, true); err != nil {
			return Upload{}, 0, err
		}
		return Upload{}, 0, ErrNoSuchUpload
	}
	var up Upload
	if err := decodeJSON("upload", it.Value, &up); err != nil {
		return Upload{}, 0, err
	}
	up.fill()
	return up, it.Version, nil
}

// readClosed reads an upload's closed record: its state ("" if open) and
// version.
func (s *Store) readClosed(ctx context.Context, uploadID string, stale bool) (string, uint64, error) {
	it, ok, err := s.get(ctx, closedKey(uploadID), stale)
	if err != nil || !ok {
		return "", 0, err
	}
	var c closedRecord
	if err := decodeJSON("closed upload", it.Value, &c); err != nil {
		return "", 0, err
	}
	return c.State, it.Version, nil
}

func checkPartNumber(n int) error {
	if n < 1 || n > MaxParts {
		return errorf(ErrInvalidArgument, "Part number must be an integer between 1 and %d, inclusive", MaxParts)
	}
	return nil
}

// PartInput is an UploadPart request.
type PartInput struct {
	Bucket, Key, UploadID string
	Number                int // 1 to MaxParts
	Body                  io.Reader
	Size                  int64 // -1 if unknown (streamed)
	// ContentMD5, Checksums and Trailer are verified as for PutObject.
	// Besides the upload's checksum algorithm, the part keeps the
	// checksums of the algorithms they name.
	ContentMD5 []byte
	Checksums  map[string]string
	Trailer    *TrailingChecksum
}

// UploadPart stores a part of an upload, streaming its body. Uploading a
// part number again replaces the part.
func (s *Store) UploadPart(ctx context.Context, in PartInput) (PartInfo, error) {
	if err := checkPartNumber(in.Number); err != nil {
		return PartInfo{}, err
	}
	if err := checkChecksumArgs(in.ContentMD5, in.Checksums, ""); err != nil {
		return PartInfo{}, err
	}
	if in.Trailer != nil {
		if err := checkChecksumArgs(nil, nil, in.Trailer.Algorithm); err != nil {
			return PartInfo{}, err
		}
	}
	if in.Size > MaxPartSize {
		return PartInfo{}, ErrEntityTooLarge
	}
	up, err := s.openUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return PartInfo{}, err
	}
	algs := checksumAlgs(up.ChecksumAlgorithm, in.Checksums)
	if in.Trailer != nil {
		algs = append(algs, in.Trailer.Algorithm)
	}
	ing, err := s.ingest(ctx, in.Body, in.Size, MaxPartSize, algs, in.UploadID)
	if err != nil {
		return PartInfo{}, err
	}
	if err := ing.check(in.ContentMD5, in.Checksums, in.Trailer); err != nil {
		ing.w.abandon(ctx)
		return PartInfo{}, err
	}
	return s.publishPart(ctx, in.UploadID, in.Number, ing)
}

// openUpload returns an upload that is open to new parts.
func (s *Store) openUpload(ctx context.Context, bucket, key, uploadID string) (Upload, error) {
	up, _, err := s.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return Upload{}, err
	}
	state, _, err := s.readClosed(ctx, uploadID, true)
	if err != nil {
		return Upload{}, err
	}
	if state != "" {
		return Upload{}, ErrNoSuchUpload
	}
	return up, nil
}

// UploadPartCopy stores part number of an upload from the bytes rng (nil:
// all) of an existing object, which must satisfy cond (the
// x-amz-copy-source-if-* headers).
func (s *Store) UploadPartCopy(ctx context.Context, bucket, key, uploadID string, number int, srcBucket, srcKey string, rng *Range, cond Conditions) (PartInfo, error) {
	if err := checkPartNumber(number); err != nil {
		return PartInfo{}, err
	}
	up, err := s.openUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return PartInfo{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		info, err := s.uploadPartCopy(ctx, up, number, srcBucket, srcKey, rng, cond)
		if err != errSourceChanged {
			return info, err
		}
	}
	return PartInfo{}, ErrOperationAborted
}

func (s *Store) uploadPartCopy(ctx context.Context, up Upload, number int, srcBucket, srcKey string, rng *Range, cond Conditions) (PartInfo, error) {
	uploadID := up.UploadID
	src, inline, srcVer, err := s.readObject(ctx, srcBucket, srcKey)
	if err != nil {
		return PartInfo{}, err
	}
	if err := checkConditions(src.Meta, cond, true); err != nil {
		return PartInfo{}, err
	}
	length := src.Meta.Size
	if rng != nil {
		if rng.check(src.Meta.Size) != nil {
			return PartInfo{}, errorf(ErrInvalidArgument, "Range specified is not valid for source object of size: %d", src.Meta.Size)
		}
		length = rng.Length()
	}
	if length > MaxPartSize {
		return PartInfo{}, errorf(ErrInvalidRequest, "The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(MaxPartSize))
	}
	if part, ok := sharableRange(src, rng); ok {
		return s.sharePartCopy(ctx, up, number, srcBucket, srcKey, src, srcVer, part, rng)
	}
	body, err := s.openBody(ctx, src, inline, rng)
	if err != nil {
		return PartInfo{}, err
	}
	ing, err := s.ingest(ctx, body, length, MaxPartSize, checksumAlgs(up.ChecksumAlgorithm, nil), uploadID)
	body.Close()
	if err != nil {
		return PartInfo{}, err
	}
	return s.publishPart(ctx, uploadID, number, ing)
}

// putPart adds to b the ops that make rec part number of the upload in
// place of the part read as cur (exists: there was one): the part record,
// conditional on cur's version; the check that the upload is not closed;
// and the queue entry for the replaced part's data. It returns the
// indexes of the first two ops, to tell which condition failed.
func (s *Store) putPart(b *batch, uploadID string, number int, rec partRecord, cur kv.Item, exists bool) (pi, ci int, err error) {
	pi = b.putIf(partKey(uploadID, number), mustJSON(rec), cur.Version)
	ci = b.delIf(closedKey(uploadID), 0)
	if exists {
		var old partRecord
		if err := decodeJSON("part", cur.Value, &old); err != nil {
			return pi, ci, err
		}
		s.queueData(b, old.Data, s.now())
	}
	return pi, ci, nil
}

func (r partRecord) info(number int) PartInfo {
	return PartInfo{Number: number, ETag: r.ETag, Size: r.Size, LastModified: r.LastModified, Checksums: r.Checksums}
}

// publishPart writes a part's record with its last chunk, conditional on
// the upload being open and on the version of the part it replaces,
// whose data it queues for deletion (nothing reads the parts of an
// unfinished upload).
func (s *Store) publishPart(ctx context.Context, uploadID string, number int, ing *ingested) (PartInfo, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		now := s.stamp()
		rec := partRecord{ETag: hex.EncodeToString(ing.md5), Size: ing.size(), LastModified: now, Checksums: ing.sums, Data: ing.w.ref}
		it, exists, err := s.get(ctx, partKey(uploadID, number), true)
		if err != nil {
			ing.w.abandon(ctx)
			return PartInfo{}, err
		}
		var b batch
		mi := ing.w.finish(&b, ing.last)
		pi, ci, err := s.putPart(&b, uploadID, number, rec, it, exists)
		if err != nil {
			ing.w.abandon(ctx)
			return PartInfo{}, err
		}
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return rec.info(number), nil
		case conflict && op == pi:
			continue // the part was uploaded again meanwhile
		case conflict && op == mi:
			return PartInfo{}, errorf(ErrRequestTimeout, "The upload stalled for longer than %v and was abandoned.", s.opts.GCGrace)
		case conflict && op == ci:
			err = ErrNoSuchUpload
		default:
			err = fmt.Errorf("s3 store: upload part %d: %w", number, err)
		}
		ing.w.abandon(ctx)
		return PartInfo{}, err
	}
	ing.w.abandon(ctx)
	return PartInfo{}, ErrOperationAborted
}

// CompleteMultipartUpload assembles the object from parts, which must be
// in ascending order, name uploaded parts with their ETags (and
// checksums, if given), and be at least MinPartSize each but the last.
// The object's ETag is the MD5 of the parts' MD5s, "-", the number of
// parts. Parts not used are deleted.
//
// First a closed-upload record ("completing") shuts the upload to new
// parts, so that the parts read and checked next stay as they are; if
// they fail the checks the record is removed again and the client may
// try again. Then one command writes the manifest (the list of parts)
// and the object's record, deletes the upload, marks it completed and
// queues its part records for deletion — conditional on the completing
// record, so an upload completes once.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart) (ObjectMeta, error) {
	if len(parts) == 0 {
		return ObjectMeta{}, errorf(ErrMalformedXML, "You must specify at least one part.")
	}
	for i, p := range parts {
		if err := checkPartNumber(p.Number); err != nil {
			return ObjectMeta{}, err
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return ObjectMeta{}, ErrInvalidPartOrder
		}
	}
	up, uver, err := s.readUpload(ctx, bucket, key, uploadID)
	if errors.Is(err, ErrNoSuchUpload) {
		return s.completedBefore(ctx, bucket, key, uploadID)
	}
	if err != nil {
		return ObjectMeta{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		// Close the upload to new parts. A "completing" record left by a
		// completion that failed (a leader change) is taken over.
		state, cver, err := s.readClosed(ctx, uploadID, true)
		if err != nil {
			return ObjectMeta{}, err
		}
		switch state {
		case "", closedCompleting:
		case closedCompleted: // by a concurrent request
			return s.completedBefore(ctx, bucket, key, uploadID)
		default:
			return ObjectMeta{}, ErrNoSuchUpload
		}
		var b batch
		b.putIf(closedKey(uploadID), mustJSON(closedRecord{State: closedCompleting, Time: s.now()}), cver)
		res, err := s.apply(ctx, &b)
		if _, conflict := failedOp(err); conflict {
			continue
		}
		if err != nil {
			return ObjectMeta{}, fmt.Errorf("s3 store: complete upload: %w", err)
		}
		cver = res.Index
		meta, manifest, err := s.assemble(ctx, up, parts)
		if err != nil {
			s.reopen(ctx, uploadID, cver)
			return ObjectMeta{}, err
		}
		meta, err = s.publishUpload(ctx, up, uver, cver, meta, manifest)
		if err == errRetry {
			continue
		}
		if err != nil {
			// Let parts come again (if the command did apply after all,
			// or the upload was aborted, the record moved on and this
			// does nothing).
			s.reopen(ctx, uploadID, cver)
		}
		return meta, err
	}
	return ObjectMeta{}, ErrOperationAborted
}

// completedBefore answers a CompleteMultipartUpload of an upload that is
// gone: if it completed into the object that is there now, the request
// is a retry (after a timeout, a leader change) and gets the object.
func (s *Store) completedBefore(ctx context.Context, bucket, key, uploadID string) (ObjectMeta, error) {
	state, _, err := s.readClosed(ctx, uploadID, true)
	if err != nil {
		return ObjectMeta{}, err
	}
	if state != closedCompleted {
		return ObjectMeta{}, ErrNoSuchUpload
	}
	rec, _, ver, err := s.readRecord(ctx, bucket, key, true)
	if err != nil {
		return ObjectMeta{}, err
	}
	if ver == 0 || rec.Multipart != uploadID {
		return ObjectMeta{}, ErrNoSuchUpload
	}
	return rec.Meta, nil
}

// reopen removes the completing record of a completion that failed its
// checks, so the client can upload parts and complete again.
func (s *Store) reopen(ctx context.Context, uploadID string, cver uint64) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	var b batch
	b.delIf(closedKey(uploadID), cver)
	_, _ = s.apply(ctx, &b)
}

// readParts returns the part records of an upload.
func (s *Store) readParts(ctx context.Context, uploadID string) (map[int]partRecord, error) {
	have := map[int]partRecord{}
	req := kv.ScanRequest{Prefix: partPrefix(uploadID), Limit: 1000}
	for {
		res, err := s.kv.Scan(ctx, req, true)
		if err != nil {
			return nil, fmt.Errorf("s3 store: read parts: %w", err)
		}
		for _, it := range res.Items {
			var p partRecord
			if err := decodeJSON("part", it.Value, &p); err != nil {
				return nil, err
			}
			have[int(binary.BigEndian.Uint32(it.Key[len(it.Key)-4:]))] = p
		}
		if res.Next == nil {
			return have, nil
		}
		req.Start = res.Next
	}
}

// assemble checks the parts of a completion and returns the object's
// metadata and manifest.
func (s *Store) assemble(ctx context.Context, up Upload, parts []CompletePart) (ObjectMeta, []manifestPart, error) {
	have, err := s.readParts(ctx, up.UploadID)
	if err != nil {
		return ObjectMeta{}, nil, err
	}
	md5s := md5.New()
	manifest := make([]manifestPart, 0, len(parts))
	var sums []string
	var sizes []int64
	var total int64
	for i, p := range parts {
		rec, ok := have[p.Number]
		if !ok || normalizeETag(p.ETag) != rec.ETag {
			return ObjectMeta{}, nil, errorf(ErrInvalidPart, "%s Part %d.", ErrInvalidPart.Message, p.Number)
		}
		for alg, v := range p.Checksums {
			if got, ok := rec.Checksums[alg]; ok && got != v {
				return ObjectMeta{}, nil, errorf(ErrInvalidPart, "The %s checksum of part %d does not match.", lower(alg), p.Number)
			}
		}
		if i < len(parts)-1 && rec.Size < MinPartSize {
			return ObjectMeta{}, nil, errorf(ErrEntityTooSmall, "%s Part %d is %d bytes; every part but the last must be at least %d.",
				ErrEntityTooSmall.Message, p.Number, rec.Size, MinPartSize)
		}
		total += rec.Size
		raw, _ := hex.DecodeString(rec.ETag)
		md5s.Write(raw)
		manifest = append(manifest, manifestPart{Number: p.Number, Data: rec.Data})
		sums = append(sums, rec.Checksums[up.ChecksumAlgorithm])
		sizes = append(sizes, rec.Size)
	}
	if total > MaxObjectSize {
		return ObjectMeta{}, nil, ErrEntityTooLarge
	}
	meta := up.Meta
	meta.Bucket, meta.Key, meta.Size = up.Bucket, up.Key, total
	meta.ETag = hex.EncodeToString(md5s.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	meta.PartsCount = len(parts)
	meta.Checksums = nil
	if alg := up.ChecksumAlgorithm; alg != "" {
		var v string
		var ok bool
		if meta.ChecksumType == ChecksumFullObject {
			v, ok = fullObjectCRC(alg, sums, sizes)
		} else {
			v, ok = compositeChecksum(alg, sums)
		}
		if ok {
			meta.Checksums = map[string]string{alg: v}
		} else {
			meta.ChecksumType = ""
		}
	}
	return meta, manifest, nil
}

// publishUpload is the command that completes an upload.
func (s *Store) publishUpload(ctx context.Context, up Upload, uver, cver uint64, meta ObjectMeta, manifest []manifestPart) (ObjectMeta, error) {
	mbytes := encodeManifest(manifest)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		old, _, over, err := s.readRecord(ctx, up.Bucket, up.Key, true)
		if err != nil {
			return ObjectMeta{}, err
		}
		meta.LastModified = s.stamp()
		var b batch
		b.put(manifestKey(up.UploadID), mbytes)
		oi, ti := s.putRecord(&b, up.Bucket, up.Key, encodeObject(&objectRecord{Meta: meta, Multipart: up.UploadID}, nil), over, old)
		b.delIf(uploadKey(up.Bucket, up.Key, up.UploadID), uver)
		b.del(uploadIndexKey(up.UploadID))
		ci := b.putIf(closedKey(up.UploadID), mustJSON(closedRecord{State: closedCompleted, Time: s.now()}), cver)
		b.put(gcKey(s.now(), gcUpload, up.UploadID), mustJSON(gcEntry{Upload: up.UploadID, Manifest: true}))
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return meta, nil
		case !conflict:
			return ObjectMeta{}, fmt.Errorf("s3 store: complete upload: %w", err)
		case op == oi:
			continue
		case op == ci:
			return ObjectMeta{}, errRetry // another completion took over, or an abort: look again
		case op == ti:
			if err := s.bucketGone(ctx, up.Bucket); err != nil {
				return ObjectMeta{}, err
			}
			continue
		default: // the upload record: aborted or expired
			return ObjectMeta{}, ErrNoSuchUpload
		}
	}
	return ObjectMeta{}, ErrOperationAborted
}

// AbortMultipartUpload aborts an upload; its parts are deleted.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	up, uver, err := s.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return err
	}
	return s.closeUpload(ctx, up, uver, closedAborted)
}

// closeUpload aborts an upload (for a client, or because it expired).
func (s *Store) closeUpload(ctx context.Context, up Upload, uver uint64, state string) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cstate, cver, err := s.readClosed(ctx, up.UploadID, true)
		if err != nil {
			return err
		}
		if cstate != "" && cstate != closedCompleting {
			return ErrNoSuchUpload
		}
		var b batch
		ci := b.putIf(closedKey(up.UploadID), mustJSON(closedRecord{State: state, Time: s.now()}), cver)
		b.delIf(uploadKey(up.Bucket, up.Key, up.UploadID), uver)
		b.del(uploadIndexKey(up.UploadID))
		b.put(gcKey(s.now(), gcUpload, up.UploadID), mustJSON(gcEntry{Upload: up.UploadID}))
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return nil
		case !conflict:
			return fmt.Errorf("s3 store: abort upload: %w", err)
		case op != ci:
			return ErrNoSuchUpload
		}
	}
	return ErrOperationAborted
}

// ListParts returns the upload and its parts after part number marker,
// at most maxParts (0: 1000; at most 1000).
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (PartsPage, error) {
	up, _, err := s.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return PartsPage{}, err
	}
	page := PartsPage{Upload: up}
	maxParts = maxKeys(maxParts)
	req := kv.ScanRequest{Prefix: partPrefix(uploadID), Limit: maxParts + 1}
	if marker > 0 {
		req.Start = partKey(uploadID, min(marker, MaxParts)+1)
	}
	res, err := s.kv.Scan(ctx, req, true)
	if err != nil {
		return PartsPage{}, fmt.Errorf("s3 store: list parts: %w", err)
	}
	for i, it := range res.Items {
		if i == maxParts {
			page.Truncated = true
			break
		}
		var p partRecord
		if err := decodeJSON("part", it.Value, &p); err != nil {
			return PartsPage{}, err
		}
		page.Next = int(binary.BigEndian.Uint32(it.Key[len(it.Key)-4:]))
		page.Parts = append(page.Parts, PartInfo{Number: page.Next, ETag: p.ETag, Size: p.Size, LastModified: p.LastModified, Checksums: p.Checksums})
	}
	return page, nil
}

// ListMultipartUploads lists a bucket's unfinished uploads, by key and
// then by age, after KeyMarker (and, for that key, after UploadIDMarker).
// With a delimiter, keys roll up into common prefixes as in ListObjects.
// nextKey and nextUploadID are the last upload (or common prefix)
// returned.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (uploads []Upload, prefixes []string, truncated bool, nextKey, nextUploadID string, err error) {
	if _, err := s.headBucket(ctx, bucket, false); err != nil {
		return nil, nil, false, "", "", err
	}
	l := lister{s: s, base: uploadPrefix(bucket), prefix: opts.Prefix, delim: opts.Delimiter, page: 1000,
		name: func(rest []byte) string { k, _, _ := bytes.Cut(rest, []byte{0}); return string(k) }}
	var start []byte
	if opts.KeyMarker != "" {
		if cp, ok := l.commonPrefix(opts.KeyMarker); ok {
			start = l.past(cp)
		} else if opts.UploadIDMarker != "" {
			start = key(string(l.base), opts.KeyMarker, "\x00", opts.UploadIDMarker, "\x00")
		} else {
			start = key(string(l.base), opts.KeyMarker, "\x01")
		}
	}
	truncated, err = l.run(ctx, start, maxKeys(opts.MaxUploads),
		func(it kv.Item, name string) error {
			var up Upload
			if err := decodeJSON("upload", it.Value, &up); err != nil {
				return err
			}
			up.fill()
			uploads = append(uploads, up)
			nextKey, nextUploadID = up.Key, up.UploadID
			return nil
		},
		func(cp string) {
			prefixes = append(prefixes, cp)
			nextKey, nextUploadID = cp, ""
		})
	if err != nil {
		return nil, nil, false, "", "", err
	}
	return uploads, prefixes, truncated, nextKey, nextUploadID, nil
}
