package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/minikv-go/minikv/kv"
)

// dataWriter writes one piece of data (an object's body or a part) chunk
// by chunk: one kv command per chunk, which also rewrites the data's
// pending marker with the count of chunks so far, on condition that the
// marker is still the one the previous chunk wrote. The command that
// publishes the data writes the last chunk and deletes the marker (on the
// same condition), so a body that failed midway, or whose writer died,
// leaves a marker the collector finds, and data the collector reaped can
// never be published.
type dataWriter struct {
	s       *Store
	ref     dataRef // ID and ChunkSize; Size is set when the body ends
	written int     // chunks written so far
	marker  uint64  // the marker's version; 0 before the first chunk
	upload  string  // part data: the upload, which must stay open
}

// ingested is a body read to its end: all chunks but the last written,
// the last one in memory, its digests computed.
type ingested struct {
	w    *dataWriter
	last []byte // the final chunk, not written yet (empty for an empty body)
	md5  []byte
	sums map[string]string
}

func (in *ingested) size() int64 { return in.w.ref.Size }

// check verifies what the client sent to protect the body: Content-MD5,
// x-amz-checksum-* values, a trailing checksum.
func (in *ingested) check(contentMD5 []byte, checksums map[string]string, trailer *TrailingChecksum) error {
	if err := checkDigests(in.md5, contentMD5, in.sums, checksums); err != nil {
		return err
	}
	return checkTrailer(trailer, in.sums)
}

// ingest reads body to its end — size bytes if size >= 0 (fewer is
// ErrIncompleteBody, more is an error too), any number up to limit if
// size < 0 — hashing it with MD5 and algs, and writes every chunk but the
// last. It holds at most two chunks in memory. On error, nothing is left
// behind but what the collector will delete.
//
// It always reads until body returns io.EOF, even once size bytes have
// come: a body may give its verdict only there (the SigV4 verifier checks
// the payload's hash or its last chunk signature at the end, an
// aws-chunked body's trailer follows the data), and no data is published
// from a body that has not ended well.
func (s *Store) ingest(ctx context.Context, body io.Reader, size, limit int64, algs []string, upload string) (*ingested, error) {
	if size > limit {
		return nil, ErrEntityTooLarge
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	cs := s.opts.ChunkSize
	w := &dataWriter{s: s, ref: dataRef{ID: newID(s.now()), ChunkSize: cs}, upload: upload}
	h := newHasher(algs)
	var total int64
	// fill reads the next chunk into buf and reports whether the body has
	// ended.
	fill := func(buf []byte) ([]byte, bool, error) {
		if size >= 0 {
			buf = buf[:min(int64(len(buf)), size-total)]
		}
		n, err := io.ReadFull(body, buf)
		total += int64(n)
		h.Write(buf[:n])
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			if size >= 0 && total < size {
				return nil, false, ErrIncompleteBody
			}
			return buf[:n], true, nil
		case err != nil:
			return nil, false, fmt.Errorf("s3 store: reading the body: %w", err)
		case total > limit:
			return nil, false, ErrEntityTooLarge
		case size >= 0 && total == size:
			// All the declared bytes: the body must end here.
			if err := readEnd(body, size); err != nil {
				return nil, false, err
			}
			return buf[:n], true, nil
		}
		return buf[:n], false, nil
	}
	first := cs
	if size >= 0 && size < int64(cs) {
		first = int(size) // small bodies get a buffer their size
	}
	cur, eof, err := fill(make([]byte, first))
	var spare []byte
	for err == nil && !eof {
		if spare == nil {
			spare = make([]byte, cs)
		}
		var next []byte
		if next, eof, err = fill(spare[:cs]); err != nil || len(next) == 0 && eof {
			break // cur is the last chunk
		}
		if err = w.writeChunk(ctx, cur); err != nil {
			break
		}
		cur, spare = next, cur[:cap(cur)]
	}
	if err != nil {
		w.abandon(ctx)
		return nil, err
	}
	w.ref.Size = total
	md5sum, sums := h.sums()
	return &ingested{w: w, last: cur, md5: md5sum, sums: sums}, nil
}

// readEnd reads what follows the declared size bytes of a body: nothing
// but its end, io.EOF. A body that goes on is refused; an error the body
// returns instead of io.EOF (a payload that does not verify) is returned.
func readEnd(body io.Reader, size int64) error {
	var one [1]byte
	for range 100 {
		n, err := body.Read(one[:])
		switch {
		case n > 0:
			return errorf(ErrInvalidRequest, "The request body is longer than its declared length, %d bytes.", size)
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("s3 store: reading the body: %w", err)
		}
	}
	return fmt.Errorf("s3 store: reading the body: %w", io.ErrNoProgress)
}

func (w *dataWriter) writeChunk(ctx context.Context, data []byte) error {
	var b batch
	b.put(chunkKey(w.ref.ID, w.written), data)
	rec := pendingRecord{Chunks: w.written + 1, ChunkSize: w.ref.ChunkSize, Touched: w.s.now(), Upload: w.upload}
	mi := b.putIf(pendingKey(w.ref.ID), mustJSON(rec), w.marker)
	ci := -1
	if w.upload != "" {
		ci = b.delIf(closedKey(w.upload), 0)
	}
	res, err := w.s.apply(ctx, &b)
	if err != nil {
		op, conflict := failedOp(err)
		switch {
		case conflict && op == mi:
			return errorf(ErrRequestTimeout, "The upload stalled for longer than %v and was abandoned.", w.s.opts.GCGrace)
		case conflict && op == ci:
			return ErrNoSuchUpload
		}
		return fmt.Errorf("s3 store: write chunk: %w", err)
	}
	w.marker = res.Index
	w.written++
	return nil
}

// finish adds to b the ops that publish the data: the last chunk and the
// marker's deletion. It returns the index of the marker op (-1 if none).
func (w *dataWriter) finish(b *batch, last []byte) int {
	if len(last) > 0 {
		b.put(chunkKey(w.ref.ID, w.written), last)
	}
	if w.marker == 0 {
		return -1
	}
	return b.delIf(pendingKey(w.ref.ID), w.marker)
}

// abandon queues the chunks written so far for deletion. If that fails,
// the marker stays, and the collector deletes them after GCGrace.
func (w *dataWriter) abandon(ctx context.Context) {
	if w.written == 0 {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	ref := w.ref
	ref.Size = int64(w.written) * int64(ref.ChunkSize)
	var b batch
	b.delIf(pendingKey(ref.ID), w.marker)
	b.put(gcKey(w.s.now(), gcData, ref.ID), mustJSON(gcEntry{Data: &ref, Chunks: w.written}))
	_, _ = w.s.apply(ctx, &b)
	w.written, w.marker = 0, 0
}

// errDataGone: the chunks of a version a slow reader was still reading
// were collected (GCGrace after it was replaced).
var errDataGone = errors.New("s3 store: the object was replaced and its old data collected while it was being read")

// chunkReader streams bytes [pos, end) of data made of parts (one part
// for a single-part object), one chunk at a time, reading the chunk after
// the current one in the background. Chunks are immutable and were
// written before the metadata that names them, so once the metadata has
// been read linearizably, stale (local) reads of the chunks are enough.
type chunkReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	kv     KV
	parts  []dataRef
	starts []int64 // offset of each part in the whole
	pos    int64   // next byte to return
	end    int64
	buf    []byte // the rest of the current chunk

	next    chan fetched // the prefetch in flight, or nil
	nextPos int64
}

type fetched struct {
	data []byte
	err  error
}

func newChunkReader(ctx context.Context, k KV, parts []dataRef, start, end int64) *chunkReader {
	r := &chunkReader{kv: k, parts: parts, pos: start, end: end}
	r.ctx, r.cancel = context.WithCancel(ctx)
	var off int64
	for _, p := range parts {
		r.starts = append(r.starts, off)
		off += p.Size
	}
	return r
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.pos >= r.end {
			return 0, io.EOF
		}
		var f fetched
		if r.next != nil && r.nextPos == r.pos {
			f = <-r.next
			r.next = nil
		} else {
			f.data, f.err = r.fetch(r.pos)
		}
		if f.err != nil {
			return 0, f.err
		}
		r.buf = f.data
		if np := r.pos + int64(len(f.data)); np < r.end && r.next == nil {
			r.next, r.nextPos = make(chan fetched, 1), np
			go func(ch chan<- fetched) {
				data, err := r.fetch(np)
				ch <- fetched{data, err}
			}(r.next)
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.pos += int64(n)
	return n, nil
}

// fetch returns the bytes from pos to the end of its chunk (or to r.end).
func (r *chunkReader) fetch(pos int64) ([]byte, error) {
	i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > pos }) - 1
	part := r.parts[i]
	off := pos - r.starts[i]
	ci := off / int64(part.ChunkSize)
	it, err := r.kv.Get(r.ctx, part.chunk(int(ci)), true)
	if errors.Is(err, kv.ErrNotFound) {
		return nil, errDataGone
	}
	if err != nil {
		return nil, fmt.Errorf("s3 store: read chunk: %w", err)
	}
	chunkStart := ci * int64(part.ChunkSize)
	if want := min(int64(part.ChunkSize), part.Size-chunkStart); int64(len(it.Value)) != want {
		return nil, fmt.Errorf("s3 store: chunk %d of data %s has %d bytes, want %d", ci, part.ID, len(it.Value), want)
	}
	lo := off - chunkStart
	hi := min(int64(len(it.Value)), lo+r.end-pos)
	return it.Value[lo:hi], nil
}

// Close stops the prefetch.
func (r *chunkReader) Close() error {
	r.cancel()
	if r.next != nil {
		<-r.next
		r.next = nil
	}
	return nil
}
