package store

import (
	"context"
	"errors"
	"fmt"
)

// Copies share data. CopyObject of a chunked single-part object writes a
// record that names the source's data ID instead of copying its chunks,
// and counts the extra reference in the data's ref record,
// r/<dataID> = {"refs": n}: n records name the data (no ref record: one
// does). Data is deleted only by the collector, from a queue entry that a
// replaced or deleted record left, so the collector is where the count is
// honoured:
//
//   - a ref record of n ≥ 2: the entry only drops one reference;
//   - none: the data is unshared, and its chunks go. If that takes more
//     than one command, the first turns the ref record into a "dead"
//     marker, which keeps out a copy that read its source before the
//     source was replaced (it starts again from the source); the last
//     command removes it.
//
// A copy's command is conditional on the ref record's version (so it
// cannot race a collector's decision) and on the source record's version
// (so the source still names the data: the data cannot be queued, let
// alone collected, under it).

// refRecord counts the records that name a piece of data.
type refRecord struct {
	Refs int  `json:"refs,omitempty"`
	Dead bool `json:"dead,omitempty"` // being collected: no new reference
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
		refs := max(ref.Refs, 1) + 1
		var b batch
		si := -1
		if !sameKey { // (the same key: the record's own condition says it)
			si = b.putIf(objectKey(in.SrcBucket, in.SrcKey), encodeObject(&src, nil), srcVer)
		}
		ri := b.putIf(refKey(id), mustJSON(refRecord{Refs: refs}), rv)
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
	if ref.Refs > 2 {
		b.putIf(refKey(id), mustJSON(refRecord{Refs: ref.Refs - 1}), rv)
	} else {
		b.delIf(refKey(id), rv) // one reference left: unshared again
	}
	b.delIf(entryKey, entryVer)
	_, err := s.apply(ctx, &b)
	return ignoreConflict(err)
}
