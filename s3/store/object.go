package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ObjectMeta is what the store keeps about an object besides its data.
type ObjectMeta struct {
	Bucket       string    `json:"bucket,omitempty"`
	Key          string    `json:"key,omitempty"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"` // without quotes: the MD5 in hex, or md5-of-md5s-N
	LastModified time.Time `json:"modified"`

	ContentType        string `json:"type,omitempty"`
	ContentEncoding    string `json:"encoding,omitempty"`
	ContentDisposition string `json:"disposition,omitempty"`
	ContentLanguage    string `json:"language,omitempty"`
	CacheControl       string `json:"cache,omitempty"`
	Expires            string `json:"expires,omitempty"`

	// UserMeta holds the x-amz-meta-* headers: lower-case names without
	// the prefix.
	UserMeta map[string]string `json:"meta,omitempty"`
	// Checksums maps an algorithm ("CRC32", "CRC32C", "SHA1", "SHA256",
	// "CRC64NVME") to its base64 value, as S3 returns it. A multipart
	// object's COMPOSITE checksum ends in "-N".
	Checksums map[string]string `json:"checksums,omitempty"`
	// ChecksumType is FULL_OBJECT or COMPOSITE when a checksum is stored.
	// On CreateMultipartUpload it is the type the client asks for ("":
	// COMPOSITE, or FULL_OBJECT for CRC64NVME).
	ChecksumType string `json:"checksum_type,omitempty"`
	// PartsCount is the number of parts of a multipart object, 0 otherwise.
	PartsCount int `json:"parts,omitempty"`
}

// PutInput is a PutObject request.
type PutInput struct {
	Bucket, Key string
	Body        io.Reader
	Size        int64      // -1 if unknown (streamed)
	Meta        ObjectMeta // the header fields to store: Content-Type..., UserMeta
	// ContentMD5 (16 bytes), if set, is verified: ErrBadDigest, and no
	// object is created.
	ContentMD5 []byte
	// Checksums maps algorithms to expected base64 values, verified like
	// ContentMD5 (a *ChecksumError).
	Checksums map[string]string
	// ChecksumAlgorithm is computed and stored even if no value is given.
	ChecksumAlgorithm string
	// Trailer, if set, is a checksum that follows the body; it is
	// computed, verified once the body has ended (like Checksums), and
	// stored.
	Trailer *TrailingChecksum
	// IfNoneMatch "*" makes the put fail with ErrPreconditionFailed if the
	// key exists; IfMatch (an ETag) makes it fail unless the current
	// object has that ETag (ErrNoSuchKey if there is none). S3's
	// conditional writes.
	IfNoneMatch string
	IfMatch     string
}

// PutObject stores an object, streaming its body in chunks. The object
// appears, or replaces the previous one, atomically when its metadata
// record is written, after all its data.
func (s *Store) PutObject(ctx context.Context, in PutInput) (ObjectMeta, error) {
	if err := checkKey(in.Key); err != nil {
		return ObjectMeta{}, err
	}
	if err := checkMeta(in.Meta); err != nil {
		return ObjectMeta{}, err
	}
	if err := checkChecksumArgs(in.ContentMD5, in.Checksums, in.ChecksumAlgorithm); err != nil {
		return ObjectMeta{}, err
	}
	algs := checksumAlgs(in.ChecksumAlgorithm, in.Checksums)
	if in.Trailer != nil {
		if err := checkChecksumArgs(nil, nil, in.Trailer.Algorithm); err != nil {
			return ObjectMeta{}, err
		}
		algs = append(algs, in.Trailer.Algorithm)
	}
	if in.IfNoneMatch != "" && in.IfNoneMatch != "*" {
		return ObjectMeta{}, errorf(ErrNotImplemented, "PutObject with an If-None-Match other than \"*\" is not implemented by minikv.")
	}
	if in.Size > MaxPutSize {
		return ObjectMeta{}, ErrEntityTooLarge
	}
	if err := s.writableBucket(ctx, in.Bucket); err != nil {
		return ObjectMeta{}, err
	}
	if in.IfNoneMatch != "" || in.IfMatch != "" {
		// Fail before reading the body; the write checks again.
		if _, _, err := s.recordForWrite(ctx, in.Bucket, in.Key, true, in.IfMatch, in.IfNoneMatch); err != nil {
			return ObjectMeta{}, err
		}
	}
	ing, err := s.ingest(ctx, in.Body, in.Size, MaxPutSize, algs, "")
	if err != nil {
		return ObjectMeta{}, err
	}
	if err := ing.check(in.ContentMD5, in.Checksums, in.Trailer); err != nil {
		ing.w.abandon(ctx)
		return ObjectMeta{}, err
	}
	return s.publish(ctx, in.Bucket, in.Key, ing, in.Meta, in.IfMatch, in.IfNoneMatch)
}

// publish writes the metadata record of an ingested body, with the last
// chunk, and queues the data of the object it replaces for collection
// after GCGrace — all in one command, conditional on the version of the
// record it replaces (so that the right data is queued), on the data's
// pending marker, and on the absence of a bucket tombstone.
func (s *Store) publish(ctx context.Context, bucket, key string, ing *ingested, meta ObjectMeta, ifMatch, ifNoneMatch string) (ObjectMeta, error) {
	meta.Bucket, meta.Key = bucket, key
	meta.Size = ing.size()
	meta.ETag = hex.EncodeToString(ing.md5)
	meta.Checksums, meta.ChecksumType, meta.PartsCount = ing.sums, "", 0
	if len(ing.sums) > 0 {
		meta.ChecksumType = ChecksumFullObject
	}
	inline := ing.w.written == 0 && ing.size() <= int64(s.opts.InlineMax)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		old, ver, err := s.recordForWrite(ctx, bucket, key, attempt == 0, ifMatch, ifNoneMatch)
		if err != nil {
			ing.w.abandon(ctx)
			return ObjectMeta{}, err
		}
		meta.LastModified = s.stamp()
		rec := objectRecord{Meta: meta}
		var b batch
		mi := -1
		var value []byte
		if inline {
			value = encodeObject(&rec, ing.last)
		} else {
			mi = ing.w.finish(&b, ing.last)
			ref := ing.w.ref
			rec.Data = &ref
			value = encodeObject(&rec, nil)
		}
		oi, ti := s.putRecord(&b, bucket, key, value, ver, old)
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return meta, nil
		case !conflict:
			ing.w.abandon(ctx)
			return ObjectMeta{}, fmt.Errorf("s3 store: put %s/%s: %w", bucket, key, err)
		case op == mi:
			return ObjectMeta{}, errorf(ErrRequestTimeout, "The upload stalled for longer than %v and was abandoned.", s.opts.GCGrace)
		case op == ti:
			if err := s.bucketGone(ctx, bucket); err != nil {
				ing.w.abandon(ctx)
				return ObjectMeta{}, err
			}
		case op == oi:
			// Another write replaced the object since we read it.
		}
	}
	ing.w.abandon(ctx)
	return ObjectMeta{}, ErrOperationAborted
}

// writableBucket checks, before a write reads its body, that the bucket
// exists. It reads this node's state, which is the leader's (writes run
// there), without a read barrier: the write's command settles the
// question with its condition that the bucket has no tombstone, so a
// stale "yes" costs nothing but that check, and a "no" is confirmed by a
// linearizable read before it is believed.
func (s *Store) writableBucket(ctx context.Context, bucket string) error {
	if _, err := s.headBucket(ctx, bucket, true); !errors.Is(err, ErrNoSuchBucket) {
		return err
	}
	_, err := s.headBucket(ctx, bucket, false)
	return err
}

// recordForWrite reads the record a write replaces (version 0 if none) and
// applies the write's If-Match / If-None-Match to it. The write's command
// is conditional on the version read, so the read may be stale (this
// node's state, no read barrier): a stale version makes the command fail
// and the caller read again. A precondition that fails on a stale read is
// confirmed by a linearizable one before it is reported.
func (s *Store) recordForWrite(ctx context.Context, bucket, key string, stale bool, ifMatch, ifNoneMatch string) (objectRecord, uint64, error) {
	rec, _, ver, err := s.readRecord(ctx, bucket, key, stale)
	if err == nil {
		err = checkWrite(rec, ver, ifMatch, ifNoneMatch)
	}
	if err != nil && stale {
		return s.recordForWrite(ctx, bucket, key, false, ifMatch, ifNoneMatch)
	}
	return rec, ver, err
}

// checkWrite applies If-Match / If-None-Match of a write to the current
// object rec (version ver, 0 if none).
func checkWrite(rec objectRecord, ver uint64, ifMatch, ifNoneMatch string) error {
	if ifNoneMatch == "*" && ver != 0 {
		return ErrPreconditionFailed
	}
	if ifMatch == "" {
		return nil
	}
	if ver == 0 {
		return ErrNoSuchKey
	}
	if !etagMatches(ifMatch, rec.Meta.ETag) {
		return ErrPreconditionFailed
	}
	return nil
}

// putRecord adds to b the ops that make value the record of bucket/key in
// place of version ver (0: none), whose record was old: the record,
// conditional on ver; the check that the bucket has no tombstone; and the
// queue entry for the replaced data. It returns the indexes of the first
// two ops, to tell which condition failed.
func (s *Store) putRecord(b *batch, bucket, key string, value []byte, ver uint64, old objectRecord) (oi, ti int) {
	oi = b.putIf(objectKey(bucket, key), value, ver)
	ti = b.delIf(tombKey(bucket), 0)
	if ver != 0 {
		s.queueReplaced(b, old)
	}
	return oi, ti
}

// queueData adds to b a queue entry for data, due at after: the collector
// deletes its chunks, or drops one reference if other records share them
// (collectData). Every entry has a key of its own, so that two references
// to shared data queued at the same instant stay two.
func (s *Store) queueData(b *batch, data dataRef, after time.Time) {
	if data.chunks() == 0 {
		return
	}
	id := data.ID + "." + newID(after)
	b.put(gcKey(after, gcData, id), mustJSON(gcEntry{Data: &data, Chunks: data.chunks()}))
}

// queueReplaced adds to b the queue entry for the data of a replaced or
// deleted object, to be collected after GCGrace: readers that began on
// it read to the end.
func (s *Store) queueReplaced(b *batch, old objectRecord) {
	after := s.now().Add(s.opts.GCGrace)
	switch {
	case old.Data != nil:
		s.queueData(b, *old.Data, after)
	case old.Multipart != "":
		b.put(gcKey(after, gcManifest, old.Multipart), mustJSON(gcEntry{Upload: old.Multipart}))
	}
}

// readRecord reads an object's record: a zero version if there is none.
func (s *Store) readRecord(ctx context.Context, bucket, key string, stale bool) (objectRecord, []byte, uint64, error) {
	it, ok, err := s.get(ctx, objectKey(bucket, key), stale)
	if err != nil || !ok {
		return objectRecord{}, nil, 0, err
	}
	rec, inline, err := decodeObject(it.Value, bucket, key)
	return rec, inline, it.Version, err
}

// readObject reads an object's record linearizably: ErrNoSuchKey or
// ErrNoSuchBucket if there is none.
func (s *Store) readObject(ctx context.Context, bucket, key string) (objectRecord, []byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return objectRecord{}, nil, 0, err
	}
	if ValidBucketName(bucket) != nil {
		return objectRecord{}, nil, 0, ErrNoSuchBucket
	}
	rec, inline, ver, err := s.readRecord(ctx, bucket, key, false)
	if err != nil || ver != 0 {
		return rec, inline, ver, err
	}
	// The read above was linearizable: this node is up to date.
	if _, err := s.headBucket(ctx, bucket, true); err != nil {
		return rec, nil, 0, err
	}
	return rec, nil, 0, ErrNoSuchKey
}

// HeadObject returns an object's metadata.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (ObjectMeta, error) {
	rec, _, _, err := s.readObject(ctx, bucket, key)
	return rec.Meta, err
}

// GetObject returns an object's metadata and its data, or the bytes of
// rng (nil: all). The metadata is read linearizably, so a GET on any node
// sees every PUT that completed before it began; the data streams chunk
// by chunk from the version that metadata names, even if the object is
// replaced meanwhile (for GCGrace). The caller must close the reader.
func (s *Store) GetObject(ctx context.Context, bucket, key string, rng *Range) (ObjectMeta, io.ReadCloser, error) {
	rec, inline, _, err := s.readObject(ctx, bucket, key)
	if err != nil {
		return ObjectMeta{}, nil, err
	}
	if err := rng.check(rec.Meta.Size); err != nil {
		return rec.Meta, nil, err
	}
	body, err := s.openBody(ctx, rec, inline, rng)
	if err != nil {
		return ObjectMeta{}, nil, err
	}
	return rec.Meta, body, nil
}

// ReadOptions say what OpenObject reads of an object: what a GET or a
// HEAD asks for.
type ReadOptions struct {
	// Conditions are the request's conditional headers, checked first
	// (ErrPreconditionFailed, ErrNotModified).
	Conditions Conditions
	// Range is the request's Range header, resolved against the object's
	// size as ParseRange does ("": the whole object).
	Range string
	// MetaOnly reads no data (HEAD).
	MetaOnly bool
}

// OpenObject serves a GET or a HEAD: it reads the object's metadata once
// (linearizably, as GetObject does), checks the conditions against it,
// resolves the range against its size, and, unless MetaOnly, opens the
// bytes of the range (nil: all) of that very version. On ErrNotModified,
// ErrPreconditionFailed and ErrInvalidRange the metadata is returned too:
// their answers name the object's ETag or size. The caller must close the
// reader.
func (s *Store) OpenObject(ctx context.Context, bucket, key string, opts ReadOptions) (ObjectMeta, *Range, io.ReadCloser, error) {
	rec, inline, _, err := s.readObject(ctx, bucket, key)
	if err != nil {
		return ObjectMeta{}, nil, nil, err
	}
	if err := CheckConditions(rec.Meta, opts.Conditions); err != nil {
		return rec.Meta, nil, nil, err
	}
	rng, err := ParseRange(opts.Range, rec.Meta.Size)
	if err != nil || opts.MetaOnly {
		return rec.Meta, rng, nil, err
	}
	body, err := s.openBody(ctx, rec, inline, rng)
	if err != nil {
		return ObjectMeta{}, nil, nil, err
	}
	return rec.Meta, rng, body, nil
}

func (s *Store) openBody(ctx context.Context, rec objectRecord, inline []byte, rng *Range) (io.ReadCloser, error) {
	start, end := int64(0), rec.Meta.Size
	if rng != nil {
		start, end = rng.Start, rng.End+1
	}
	var parts []dataRef
	switch {
	case rec.Data != nil:
		parts = []dataRef{*rec.Data}
	case rec.Multipart != "":
		it, ok, err := s.get(ctx, manifestKey(rec.Multipart), true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errDataGone
		}
		mparts, err := decodeManifest(it.Value)
		if err != nil {
			return nil, err
		}
		for _, p := range mparts {
			parts = append(parts, p.Data)
		}
	default:
		if int64(len(inline)) != rec.Meta.Size {
			return nil, fmt.Errorf("s3 store: object %s/%s: inline data has %d bytes, want %d", rec.Meta.Bucket, rec.Meta.Key, len(inline), rec.Meta.Size)
		}
		return io.NopCloser(bytes.NewReader(inline[start:end])), nil
	}
	return newChunkReader(ctx, s.kv, parts, start, end), nil
}

// DeleteObject deletes an object; deleting a missing key is no error, as
// in S3. The object's data is queued for collection after GCGrace.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		rec, _, ver, err := s.readObject(ctx, bucket, key)
		if errors.Is(err, ErrNoSuchKey) {
			return nil
		}
		if err != nil {
			return err
		}
		var b batch
		b.delIf(objectKey(bucket, key), ver)
		s.queueReplaced(&b, rec)
		_, err = s.apply(ctx, &b)
		if _, conflict := failedOp(err); !conflict {
			if err != nil {
				return fmt.Errorf("s3 store: delete %s/%s: %w", bucket, key, err)
			}
			return nil
		}
	}
	return ErrOperationAborted
}

// DeleteObjects deletes keys (S3's multi-object delete) and returns one
// error per key, nil for a key deleted or absent. Keys are deleted many
// to a command.
func (s *Store) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	errs := make([]error, len(keys))
	if _, err := s.headBucket(ctx, bucket, false); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	const perCommand = maxOpsPerBatch / 2 // a delete and a queue entry each
	for lo := 0; lo < len(keys); lo += perCommand {
		hi := min(lo+perCommand, len(keys))
		var b batch
		seen := map[string]bool{}
		for i := lo; i < hi; i++ {
			k := keys[i]
			if errs[i] = checkKey(k); errs[i] != nil || seen[k] {
				continue
			}
			seen[k] = true
			rec, _, ver, err := s.readRecord(ctx, bucket, k, true)
			if errs[i] = err; err != nil || ver == 0 {
				continue
			}
			b.delIf(objectKey(bucket, k), ver)
			s.queueReplaced(&b, rec)
		}
		if len(b.ops) == 0 {
			continue
		}
		_, err := s.apply(ctx, &b)
		_, conflict := failedOp(err)
		for i := lo; i < hi; i++ {
			switch {
			case errs[i] != nil:
			case conflict: // lost a race with another write: one by one
				errs[i] = s.DeleteObject(ctx, bucket, keys[i])
			case err != nil:
				errs[i] = fmt.Errorf("s3 store: delete %s/%s: %w", bucket, keys[i], err)
			}
		}
	}
	return errs
}

// CopyInput is a CopyObject request. The conditions apply to the source
// (x-amz-copy-source-if-*).
type CopyInput struct {
	SrcBucket, SrcKey, DstBucket, DstKey string
	// ReplaceMeta stores Meta (x-amz-metadata-directive: REPLACE);
	// otherwise the source's metadata is copied.
	ReplaceMeta                        bool
	Meta                               ObjectMeta
	IfMatch, IfNoneMatch               string
	IfModifiedSince, IfUnmodifiedSince time.Time
}

// CopyObject copies an object (at most MaxPutSize bytes). A chunked
// single-part source's data is shared, not copied (share.go); any other
// source's bytes are streamed into a new single-part object.
func (s *Store) CopyObject(ctx context.Context, in CopyInput) (ObjectMeta, error) {
	if err := checkKey(in.DstKey); err != nil {
		return ObjectMeta{}, err
	}
	if in.ReplaceMeta {
		if err := checkMeta(in.Meta); err != nil {
			return ObjectMeta{}, err
		}
	}
	if in.SrcBucket == in.DstBucket && in.SrcKey == in.DstKey && !in.ReplaceMeta {
		return ObjectMeta{}, errorf(ErrInvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		meta, err := s.copyObject(ctx, in)
		if err != errSourceChanged {
			return meta, err
		}
	}
	return ObjectMeta{}, ErrOperationAborted
}

func (s *Store) copyObject(ctx context.Context, in CopyInput) (ObjectMeta, error) {
	src, inline, srcVer, err := s.readObject(ctx, in.SrcBucket, in.SrcKey)
	if err != nil {
		return ObjectMeta{}, err
	}
	cond := Conditions{IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch, IfModifiedSince: in.IfModifiedSince, IfUnmodifiedSince: in.IfUnmodifiedSince}
	if err := checkConditions(src.Meta, cond, true); err != nil {
		return ObjectMeta{}, err
	}
	if src.Meta.Size > MaxPutSize {
		return ObjectMeta{}, errorf(ErrInvalidRequest, "The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(MaxPutSize))
	}
	if _, err := s.headBucket(ctx, in.DstBucket, true); err != nil {
		return ObjectMeta{}, err
	}
	meta := src.Meta
	if in.ReplaceMeta {
		meta = in.Meta
	}
	if sharable(src) {
		return s.shareCopy(ctx, in, src, srcVer, meta)
	}
	var algs []string
	for a := range src.Meta.Checksums {
		algs = append(algs, a) // the copy keeps the source's algorithm, as a full-object checksum
	}
	body, err := s.openBody(ctx, src, inline, nil)
	if err != nil {
		return ObjectMeta{}, err
	}
	ing, err := s.ingest(ctx, body, src.Meta.Size, MaxPutSize, algs, "")
	body.Close()
	if err != nil {
		return ObjectMeta{}, err
	}
	if hex.EncodeToString(ing.md5) != src.Meta.ETag && src.Meta.PartsCount == 0 {
		ing.w.abandon(ctx)
		return ObjectMeta{}, fmt.Errorf("s3 store: copy %s/%s: the source's data does not match its ETag", in.SrcBucket, in.SrcKey)
	}
	return s.publish(ctx, in.DstBucket, in.DstKey, ing, meta, "", "")
}

// Conditions are the conditional headers of a GET or HEAD (If-Match,
// If-None-Match, If-Modified-Since, If-Unmodified-Since), or of a copy's
// source (x-amz-copy-source-if-*). Zero fields are absent.
type Conditions struct {
	IfMatch, IfNoneMatch               string
	IfModifiedSince, IfUnmodifiedSince time.Time
}

// CheckConditions evaluates the conditions of a GET or HEAD against an
// object as S3 does (RFC 9110's order): ErrPreconditionFailed (412) or
// ErrNotModified (304), nil to serve the object. Times are compared at
// the second, the precision of HTTP dates.
func CheckConditions(meta ObjectMeta, c Conditions) error { return checkConditions(meta, c, false) }

// checkConditions is CheckConditions; for a copy source, a condition that
// would give 304 gives 412.
func checkConditions(meta ObjectMeta, c Conditions, copySource bool) error {
	lm := meta.LastModified.Truncate(time.Second)
	notModified := ErrNotModified
	if copySource {
		notModified = ErrPreconditionFailed
	}
	if c.IfMatch != "" {
		if !etagMatches(c.IfMatch, meta.ETag) {
			return ErrPreconditionFailed
		}
	} else if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
		return ErrPreconditionFailed
	}
	if c.IfNoneMatch != "" {
		if etagMatches(c.IfNoneMatch, meta.ETag) {
			return notModified
		}
	} else if !c.IfModifiedSince.IsZero() && !lm.After(c.IfModifiedSince) {
		return notModified
	}
	return nil
}

// etagMatches reports whether an If-Match / If-None-Match header (an
// ETag, a list of them, or "*") matches etag. Quotes and W/ are ignored.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || normalizeETag(t) == etag {
			return true
		}
	}
	return false
}

func normalizeETag(t string) string {
	t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
	return strings.Trim(t, "\"")
}
