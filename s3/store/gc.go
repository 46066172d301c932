package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// CollectGarbage deletes what no object references any more and what its
// writers abandoned, and returns how many chunks it deleted. The leader
// calls it periodically (every minute or so is plenty); on a follower it
// fails with the kv's *kv.NotLeaderError. It does, in order:
//
//  1. abort the multipart uploads older than UploadTTL;
//  2. queue the data of pending markers untouched for GCGrace (bodies
//     whose PUT failed or whose writer died);
//  3. work through the queue of entries whose time has come: the chunks
//     of a data ID, the parts and manifest of a multipart object, the
//     part records of a closed upload (and the data of its unused parts);
//  4. drop closed-upload records older than twice UploadTTL and bucket
//     tombstones older than UploadTTL: no request still in flight can
//     need them.
//
// Every step is idempotent, so a run that fails halfway (a leader change)
// is finished by the next one.
func (s *Store) CollectGarbage(ctx context.Context) (deletedChunks int, err error) {
	now := s.now()
	if err := s.expireUploads(ctx, now); err != nil {
		return 0, err
	}
	if err := s.reapPending(ctx, now); err != nil {
		return 0, err
	}
	n, err := s.drainQueue(ctx, s.now()) // including what the steps above queued
	if err != nil {
		return n, err
	}
	return n, s.pruneTombstones(ctx, now)
}

// idPrefix is the hex prefix of the IDs created before t.
func idPrefix(t time.Time) string {
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
}

// scanAll calls f for every item under prefix, before end if end is set,
// one page at a time. The first page is read linearizably.
func (s *Store) scanAll(ctx context.Context, prefix, end []byte, f func(kv.Item) error) error {
	req := kv.ScanRequest{Prefix: prefix, End: end, Limit: 500}
	for stale := false; ; stale = true {
		res, err := s.kv.Scan(ctx, req, stale)
		if err != nil {
			return fmt.Errorf("s3 store: gc: %w", err)
		}
		for _, it := range res.Items {
			if err := f(it); err != nil {
				return err
			}
		}
		if res.Next == nil {
			return nil
		}
		req.Start = res.Next
	}
}

func (s *Store) expireUploads(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-s.opts.UploadTTL)
	if cutoff.UnixNano() <= 0 {
		return nil
	}
	return s.scanAll(ctx, []byte(prefixUploadIx), key(prefixUploadIx, idPrefix(cutoff)), func(it kv.Item) error {
		id := string(it.Key[len(prefixUploadIx):])
		var ix uploadIndex
		if err := decodeJSON("upload index", it.Value, &ix); err != nil {
			return err
		}
		u, ok, err := s.get(ctx, uploadKey(ix.Bucket, ix.Key, id), true)
		if err != nil {
			return err
		}
		if !ok { // cannot happen: the index goes with the upload
			var b batch
			b.delIf(it.Key, it.Version)
			_, err := s.apply(ctx, &b)
			return ignoreConflict(err)
		}
		var up Upload
		if err := decodeJSON("upload", u.Value, &up); err != nil {
			return err
		}
		if err := s.closeUpload(ctx, up, u.Version, closedExpired); err != nil && err != ErrNoSuchUpload {
			return err
		}
		return nil
	})
}

func ignoreConflict(err error) error {
	if _, conflict := failedOp(err); conflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3 store: gc: %w", err)
	}
	return nil
}

func (s *Store) reapPending(ctx context.Context, now time.Time) error {
	return s.scanAll(ctx, []byte(prefixPending), nil, func(it kv.Item) error {
		var p pendingRecord
		if err := decodeJSON("pending", it.Value, &p); err != nil {
			return err
		}
		if now.Sub(p.Touched) <= s.opts.GCGrace {
			return nil
		}
		id := string(it.Key[len(prefixPending):])
		ref := dataRef{ID: id, Size: int64(p.Chunks) * int64(p.ChunkSize), ChunkSize: p.ChunkSize}
		var b batch
		b.delIf(it.Key, it.Version) // fails if the writer wrote a chunk meanwhile
		b.put(gcKey(now, gcData, id), mustJSON(gcEntry{Data: &ref, Chunks: p.Chunks}))
		_, err := s.apply(ctx, &b)
		return ignoreConflict(err)
	})
}

// drainQueue processes the queue entries due by now, from the oldest.
// Processing an entry deletes it (and may queue more), so the queue is
// read from its start again until nothing is due.
func (s *Store) drainQueue(ctx context.Context, now time.Time) (int, error) {
	end := gcKey(now.Add(time.Nanosecond), 0, "")
	deleted := 0
	var last kv.Item // the first entry of the previous pass
	for {
		res, err := s.kv.Scan(ctx, kv.ScanRequest{Prefix: []byte(prefixGC), End: end, Limit: 200}, false)
		if err != nil {
			return deleted, fmt.Errorf("s3 store: gc: %w", err)
		}
		if len(res.Items) == 0 {
			return deleted, nil
		}
		if first := res.Items[0]; string(first.Key) == string(last.Key) && first.Version == last.Version {
			return deleted, fmt.Errorf("s3 store: gc: queue entry %q does not go away", first.Key)
		}
		last = res.Items[0]
		// Small data entries are collected many to a command.
		var small batch
		var smallItems []kv.Item
		var smallEntries []gcEntry
		flush := func() error {
			if len(small.ops) == 0 {
				return nil
			}
			res, err := s.apply(ctx, &small)
			if _, conflict := failedOp(err); conflict {
				// Another collector at work, or shared data: one by one.
				for i, it := range smallItems {
					n, err := s.collectData(ctx, it, smallEntries[i])
					deleted += n
					if err != nil {
						return err
					}
				}
			} else if err != nil {
				return fmt.Errorf("s3 store: gc: %w", err)
			} else {
				deleted += small.deletedChunks(res)
			}
			small, smallItems, smallEntries = batch{}, nil, nil
			return nil
		}
		for _, it := range res.Items {
			var e gcEntry
			if err := decodeJSON("gc", it.Value, &e); err != nil {
				return deleted, err
			}
			kind := it.Key[len(prefixGC)+8]
			if kind == gcData && e.Data != nil && e.Data.First == 0 && e.Chunks <= 16 {
				if len(small.ops)+e.Chunks+1 > maxOpsPerBatch {
					if err := flush(); err != nil {
						return deleted, err
					}
				}
				for i := range e.Chunks {
					small.delChunk(e.Data.ID, i)
				}
				small.delIf(refKey(e.Data.ID), 0) // shared data: one by one, below
				small.delIf(it.Key, it.Version)
				smallItems, smallEntries = append(smallItems, it), append(smallEntries, e)
				continue
			}
			if err := flush(); err != nil {
				return deleted, err
			}
			n, err := s.collect(ctx, it, kind, e, now)
			deleted += n
			if err != nil {
				return deleted, err
			}
		}
		if err := flush(); err != nil {
			return deleted, err
		}
	}
}

func (s *Store) collect(ctx context.Context, it kv.Item, kind byte, e gcEntry, now time.Time) (int, error) {
	switch kind {
	case gcData:
		return s.collectData(ctx, it, e)
	case gcManifest:
		return 0, s.collectManifest(ctx, it, e, now)
	case gcUpload:
		return 0, s.collectUpload(ctx, it, e, now)
	}
	var b batch // an entry of a kind this version does not know
	b.delIf(it.Key, it.Version)
	_, err := s.apply(ctx, &b)
	return 0, ignoreConflict(err)
}

// collectData deletes a data ID's chunks from the last, a batch per
// command, rewriting the entry with what is left. Data that other records
// still name (copies, share.go) loses one reference instead; the entry
// of its last reference deletes all of it, whatever range it named.
func (s *Store) collectData(ctx context.Context, it kv.Item, e gcEntry) (int, error) {
	deleted, ver := 0, it.Version
	var refVer uint64 // the data's ref record's version (0: none)
	dead := false     // ...and it is the "dead" marker
	if e.Data != nil {
		ref, rv, err := s.readRef(ctx, e.Data.ID)
		if err != nil {
			return 0, err
		}
		switch {
		case rv != 0 && !ref.Dead && ref.Refs >= 2:
			return 0, s.dropRef(ctx, it.Key, it.Version, e.Data.ID, ref, rv)
		case rv != 0:
			// The last reference, or a collection that stopped halfway:
			// the whole data goes.
			whole := *e.Data
			whole.First = 0
			e.Chunks = max(ref.Chunks, e.Data.First+e.Chunks)
			e.Data = &whole
			refVer, dead = rv, ref.Dead
		case e.Data.First != 0:
			return 0, fmt.Errorf("s3 store: gc: data %s: an entry for a range of it, and no ref record", e.Data.ID)
		}
	}
	for {
		var b batch
		lo := 0
		if e.Data != nil {
			lo = max(0, e.Chunks-maxOpsPerBatch)
			for i := lo; i < e.Chunks; i++ {
				b.delChunk(e.Data.ID, i)
			}
			switch {
			case lo == 0:
				// The last command: on condition that the ref record is
				// still the one read (or still absent, or the marker).
				b.delIf(refKey(e.Data.ID), refVer)
			case !dead:
				// More commands to come: from now on no copy may share it.
				b.putIf(refKey(e.Data.ID), mustJSON(refRecord{Dead: true}), refVer)
			}
		}
		if lo > 0 {
			e.Chunks = lo
			b.putIf(it.Key, mustJSON(e), ver)
		} else {
			b.delIf(it.Key, ver)
		}
		res, err := s.apply(ctx, &b)
		if err != nil {
			// A conflict: another collector, or a copy that shared the data
			// since the ref record was read. The next run looks again.
			return deleted, ignoreConflict(err)
		}
		deleted += b.deletedChunks(res)
		if lo == 0 {
			return deleted, nil
		}
		ver = res.Index
		if e.Data != nil && !dead {
			refVer, dead = res.Index, true
		}
	}
}

// collectManifest queues the data of each part of a deleted multipart
// object, then deletes its manifest.
func (s *Store) collectManifest(ctx context.Context, it kv.Item, e gcEntry, now time.Time) error {
	m, ok, err := s.get(ctx, manifestKey(e.Upload), true)
	if err != nil {
		return err
	}
	if ok {
		parts, err := decodeManifest(m.Value)
		if err != nil {
			return err
		}
		var b batch
		for i, p := range parts {
			s.queueData(&b, p.Data, now)
			if len(b.ops) == maxOpsPerBatch || i == len(parts)-1 && len(b.ops) > 0 {
				if _, err := s.apply(ctx, &b); err != nil {
					return fmt.Errorf("s3 store: gc: %w", err)
				}
				b = batch{}
			}
		}
	}
	var b batch
	b.del(manifestKey(e.Upload))
	b.delIf(it.Key, it.Version)
	_, err = s.apply(ctx, &b)
	return ignoreConflict(err)
}

// collectUpload deletes the part records of a closed upload, queueing the
// data of the parts its object (if it completed) does not use.
func (s *Store) collectUpload(ctx context.Context, it kv.Item, e gcEntry, now time.Time) error {
	used := map[int]dataRef{} // by part number: parts may share a data ID
	if e.Manifest {
		m, ok, err := s.get(ctx, manifestKey(e.Upload), true)
		if err != nil {
			return err
		}
		if ok { // if the object is gone already, so is the need to keep its parts
			parts, err := decodeManifest(m.Value)
			if err != nil {
				return err
			}
			for _, p := range parts {
				used[p.Number] = p.Data
			}
		}
	}
	for {
		res, err := s.kv.Scan(ctx, kv.ScanRequest{Prefix: partPrefix(e.Upload), Limit: maxOpsPerBatch / 2}, true)
		if err != nil {
			return fmt.Errorf("s3 store: gc: %w", err)
		}
		if len(res.Items) == 0 {
			break
		}
		var b batch
		for _, p := range res.Items {
			var rec partRecord
			if err := decodeJSON("part", p.Value, &rec); err != nil {
				return err
			}
			b.del(p.Key)
			if u, ok := used[partNumber(p.Key)]; !ok || u != rec.Data {
				s.queueData(&b, rec.Data, now)
			}
		}
		if _, err := s.apply(ctx, &b); err != nil {
			return fmt.Errorf("s3 store: gc: %w", err)
		}
	}
	var b batch
	b.delIf(it.Key, it.Version)
	_, err := s.apply(ctx, &b)
	return ignoreConflict(err)
}

// pruneTombstones deletes closed-upload records and bucket tombstones
// that no request in flight can still need.
func (s *Store) pruneTombstones(ctx context.Context, now time.Time) error {
	var b batch
	flush := func() error {
		if len(b.ops) == 0 {
			return nil
		}
		_, err := s.apply(ctx, &b)
		b = batch{}
		return ignoreConflict(err)
	}
	if cutoff := now.Add(-2 * s.opts.UploadTTL); cutoff.UnixNano() > 0 {
		err := s.scanAll(ctx, []byte(prefixClosed), key(prefixClosed, idPrefix(cutoff)), func(it kv.Item) error {
			b.delIf(it.Key, it.Version)
			if len(b.ops) == maxOpsPerBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	err := s.scanAll(ctx, []byte(prefixTomb), nil, func(it kv.Item) error {
		var t tombRecord
		if err := decodeJSON("tombstone", it.Value, &t); err != nil {
			return err
		}
		if t.State == tombDeleted && now.Sub(t.Time) > s.opts.UploadTTL {
			b.delIf(it.Key, it.Version)
		}
		if len(b.ops) == maxOpsPerBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
