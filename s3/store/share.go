package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Copies share data. CopyObject of a chunked single-part object writes a
// record that names the source's data ID instead of copying its chunks,
// and UploadPartCopy of a chunk-aligned range of one writes a part that
// names those chunks (dataRef.First). Each counts the extra reference in
// the data's ref record, r/<dataID> = {"refs": n, "chunks": c}: n records
// or parts name the data, whose chunks are [0, c). No ref record: the data
// was never shared, and its one record names all of it. Data is deleted
// only by the collector, from a queue entry that a replaced or deleted
// record (or part) left, so the collector is where the count is honoured:
//
//   - a ref record of n ≥ 2: the entry only drops one reference (a record
//     of n = 1 stays, for its chunk count);
//   - n = 1, or none: this was the last reference, and all c chunks go,
//     whatever range the entry named. If that takes more than one
//     command, the first turns the ref record into a "dead" marker, which
//     keeps out a copy that read its source before the source was
//     replaced (it starts again from the source); the last command
//     removes it.
//
// A copy's command is conditional on the ref record's version (so it
// cannot race a collector's decision) and on the source record's version
// (so the source still names the data: the data cannot be queued, let
// alone collected, under it).

// refRecord counts the records that name a piece of data.
type refRecord struct {
	Refs   int  `json:"refs,omitempty"`
	Chunks int  `json:"chunks,omitempty"` // the data's chunks, for the last holder to delete
	Dead   bool `json:"dead,omitempty"`   // being collected: no new reference
}

// shared is the ref record once one more record names data whose chunks
// are [0, chunks).
func (r refRecord) shared(chunks int) refRecord {
	return refRecord{Refs: max(r.Refs, 1) + 1, Chunks: max(r.Chunks, chunks)}
}

// errSourceChanged: the copy source was replaced since it was read.
var errSourceChanged = errors.New("s3 store: the copy source changed")

// readRef reads a data ID's ref record (version 0: none, one reference).
func (s *Store) readRef(ctx context.Context, id string) (refRecord, uint64, error) {
	it, ok, err := s.get(ctx, refKey(id), false)
	if err != nil || !ok {
		return refRecord{}, 0, err
	}
	var r refRecord
	err = decodeJSON("ref", it.Value, &r)
	return r, it.Version, err
}

// sharable reports whether a copy of rec can share its data.
func sharable(rec objectRecord) bool {
	return rec.Data != nil && rec.Data.chunks() > 0 && rec.Multipart == "" && rec.Meta.PartsCount == 0
}

// shareCopy publishes a copy of the source record src (version srcVer)
// that names src's data. meta is the copy's metadata; its size, ETag and
// checksums are the source's.
func (s *Store) shareCopy(ctx context.Context, in CopyInput, src objectRecord, srcVer uint64, meta ObjectMeta) (ObjectMeta, error) {
	meta.Bucket, meta.Key = in.DstBucket, in.DstKey
	meta.Size, meta.ETag, meta.PartsCount = src.Meta.Size, src.Meta.ETag, 0
	meta.Checksums, meta.ChecksumType = src.Meta.Checksums, src.Meta.ChecksumType
	sameKey := in.SrcBucket == in.DstBucket && in.SrcKey == in.DstKey
	id := src.Data.ID
	for attempt := 0; attempt < maxAttempts; attempt++ {
		ref, rv, err := s.readRef(ctx, id)
		if err != nil {
			return ObjectMeta{}, err
		}
		if ref.Dead {
			// Collected: no record names it any more, so the source
			// was replaced after it was read.
			return ObjectMeta{}, errSourceChanged
		}
		old, dver, err := s.recordForWrite(ctx, in.DstBucket, in.DstKey, attempt == 0, "", "")
		if err != nil {
			return ObjectMeta{}, err
		}
		if sameKey && dver != srcVer {
			return ObjectMeta{}, errSourceChanged
		}
		meta.LastModified = s.stamp()
		var b batch
		si := -1
		if !sameKey { // (the same key: the record's own condition says it)
			si = b.putIf(objectKey(in.SrcBucket, in.SrcKey), encodeObject(&src, nil), srcVer)
		}
		ri := b.putIf(refKey(id), mustJSON(ref.shared(src.Data.chunks())), rv)
		oi, ti := s.putRecord(&b, in.DstBucket, in.DstKey, encodeObject(&objectRecord{Meta: meta, Data: src.Data}, nil), dver, old)
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return meta, nil
		case !conflict:
			return ObjectMeta{}, fmt.Errorf("s3 store: copy to %s/%s: %w", in.DstBucket, in.DstKey, err)
		case op == si || sameKey && op == oi:
			return ObjectMeta{}, errSourceChanged
		case op == ti:
			if err := s.bucketGone(ctx, in.DstBucket); err != nil {
				return ObjectMeta{}, err
			}
		case op == ri, op == oi:
			// A collector or another copy moved the count, or a write
			// replaced the destination: read again.
		}
	}
	return ObjectMeta{}, ErrOperationAborted
}

// dropRef is the collector's work for a queue entry (key and version)
// whose data other records still name: one reference fewer.
func (s *Store) dropRef(ctx context.Context, entryKey []byte, entryVer uint64, id string, ref refRecord, rv uint64) error {
	var b batch
	ref.Refs--
	b.putIf(refKey(id), mustJSON(ref), rv)
	b.delIf(entryKey, entryVer)
	_, err := s.apply(ctx, &b)
	return ignoreConflict(err)
}

// sharableRange returns the data of src that bytes rng (nil: all of it)
// are, if they are whole chunks of it: a part can then name them. The
// last chunk may be the data's short one.
func sharableRange(src objectRecord, rng *Range) (dataRef, bool) {
	if !sharable(src) || src.Data.First != 0 {
		return dataRef{}, false
	}
	d := *src.Data
	start, end := int64(0), d.Size // [start, end)
	if rng != nil {
		start, end = rng.Start, rng.End+1
	}
	cs := int64(d.ChunkSize)
	if end <= start || start%cs != 0 || end%cs != 0 && end != d.Size {
		return dataRef{}, false
	}
	return dataRef{ID: d.ID, Size: end - start, ChunkSize: d.ChunkSize, First: int(start / cs)}, true
}

// sharePartCopy publishes part number of upload up as part, a range of the
// source record src's data (version srcVer). It reads the range once, for
// the part's MD5 and checksums, and writes none of it.
func (s *Store) sharePartCopy(ctx context.Context, up Upload, number int, srcBucket, srcKey string, src objectRecord, srcVer uint64, part dataRef, rng *Range) (PartInfo, error) {
	md5sum, sums, err := s.hashRange(ctx, src, rng, checksumAlgs(up.ChecksumAlgorithm, nil))
	if err != nil {
		return PartInfo{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		ref, rv, err := s.readRef(ctx, part.ID)
		if err != nil {
			return PartInfo{}, err
		}
		if ref.Dead {
			return PartInfo{}, errSourceChanged // (see shareCopy)
		}
		it, exists, err := s.get(ctx, partKey(up.UploadID, number), true)
		if err != nil {
			return PartInfo{}, err
		}
		now := s.stamp()
		rec := partRecord{ETag: hex.EncodeToString(md5sum), Size: part.Size, LastModified: now, Checksums: sums, Data: part}
		var b batch
		si := b.putIf(objectKey(srcBucket, srcKey), encodeObject(&src, nil), srcVer)
		ri := b.putIf(refKey(part.ID), mustJSON(ref.shared(src.Data.chunks())), rv)
		pi, ci, err := s.putPart(&b, up.UploadID, number, rec, it, exists)
		if err != nil {
			return PartInfo{}, err
		}
		_, err = s.apply(ctx, &b)
		op, conflict := failedOp(err)
		switch {
		case err == nil:
			return rec.info(number), nil
		case !conflict:
			return PartInfo{}, fmt.Errorf("s3 store: upload part %d: %w", number, err)
		case op == si:
			return PartInfo{}, errSourceChanged
		case op == ci:
			return PartInfo{}, ErrNoSuchUpload
		case op == ri, op == pi:
			// The count moved, or the part was uploaded again: read again.
		}
	}
	return PartInfo{}, ErrOperationAborted
}

// hashRange reads bytes rng of src and returns their MD5 and checksums.
func (s *Store) hashRange(ctx context.Context, src objectRecord, rng *Range, algs []string) ([]byte, map[string]string, error) {
	body, err := s.openBody(ctx, src, nil, rng)
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	h := newHasher(algs)
	buf := make([]byte, 256<<10)
	for {
		n, err := body.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("s3 store: reading the copy source: %w", err)
		}
	}
	md5sum, sums := h.sums()
	return md5sum, sums, nil
}
