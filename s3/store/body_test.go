package store_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

// endingReader is a body of data whose end says something: the read
// after the last byte returns verdict (io.EOF: all is well; an error: the
// body does not verify, as the SigV4 verifier's reader reports a payload
// whose hash or last chunk signature is wrong). It notes whether that
// read happened.
type endingReader struct {
	data    []byte
	verdict error
	ended   bool
}

func (r *endingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		r.ended = true
		return 0, r.verdict
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errVerdict = errors.New("the payload does not verify")

// TestPutReadsTheBodyToItsEnd: the store reads a body past its declared
// size to its end, where a body gives its verdict, before anything is
// published; a body longer than declared is refused.
func TestPutReadsTheBodyToItsEnd(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("ends")
	for _, size := range []int{0, 10, testInline + 1, 2 * testChunk, 2*testChunk + 3} {
		data := randomBytes(size, uint64(size))
		r := &endingReader{data: data, verdict: io.EOF}
		_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "ok", Body: r, Size: int64(size)})
		require.NoError(t, err, size)
		require.True(t, r.ended, "size %d: the body was not read to its end", size)
		require.Equal(t, data, e.get(b, "ok", nil))

		r = &endingReader{data: data, verdict: errVerdict}
		_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "bad", Body: r, Size: int64(size)})
		require.ErrorIs(t, err, errVerdict, size)
		_, err = e.s.HeadObject(e.ctx, b, "bad")
		require.ErrorIs(t, err, store.ErrNoSuchKey, "size %d: an object from a body that did not verify", size)

		_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "long", Body: bytes.NewReader(append(data, 'x')), Size: int64(size)})
		require.ErrorIs(t, err, store.ErrInvalidRequest, size)
		require.Contains(t, store.Message(err), "longer than its declared length")
		_, err = e.s.HeadObject(e.ctx, b, "long")
		require.ErrorIs(t, err, store.ErrNoSuchKey)
	}
	_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "short", Body: strings.NewReader("abc"), Size: 4})
	require.ErrorIs(t, err, store.ErrIncompleteBody)
}

func TestUploadPartReadsTheBodyToItsEnd(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("partends")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "")
	require.NoError(t, err)
	data := randomBytes(mib+5, 1)
	r := &endingReader{data: data, verdict: errVerdict}
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up.UploadID, Number: 1, Body: r, Size: int64(len(data))})
	require.ErrorIs(t, err, errVerdict)
	require.Empty(t, e.listParts(b, "k", up.UploadID))
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up.UploadID, Number: 1, Body: bytes.NewReader(append(data, 0)), Size: int64(len(data))})
	require.ErrorIs(t, err, store.ErrInvalidRequest)
	require.Empty(t, e.listParts(b, "k", up.UploadID))
	r = &endingReader{data: data, verdict: io.EOF}
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up.UploadID, Number: 1, Body: r, Size: int64(len(data))})
	require.NoError(t, err)
	require.True(t, r.ended)
}

// trailer is a trailing checksum whose value the test knows only after
// the body has ended, like an aws-chunked body's trailer.
func trailer(alg string, body *endingReader, value string) (*store.TrailingChecksum, *int) {
	calls := new(int)
	return &store.TrailingChecksum{Algorithm: alg, Value: func() string {
		*calls++
		if !body.ended {
			return "asked before the body ended"
		}
		return value
	}}, calls
}

// TestTrailingChecksums: the store computes a trailing checksum's
// algorithm, asks for its value once the body has ended, verifies it
// once, and keeps it.
func TestTrailingChecksums(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("trailers")
	data := randomBytes(2*testChunk+9, 7)
	good := store.Checksum(store.ChecksumCRC32C, data)

	r := &endingReader{data: data, verdict: io.EOF}
	tr, calls := trailer(store.ChecksumCRC32C, r, good)
	meta, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: r, Size: int64(len(data)), Trailer: tr})
	require.NoError(t, err)
	require.Equal(t, 1, *calls, "the trailer is read and verified once")
	require.Equal(t, map[string]string{store.ChecksumCRC32C: good}, meta.Checksums)
	require.Equal(t, store.ChecksumFullObject, meta.ChecksumType)
	head, err := e.s.HeadObject(e.ctx, b, "k")
	require.NoError(t, err)
	require.Equal(t, good, head.Checksums[store.ChecksumCRC32C])

	r = &endingReader{data: data, verdict: io.EOF}
	tr, _ = trailer(store.ChecksumCRC32C, r, store.Checksum(store.ChecksumCRC32C, []byte("other")))
	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "wrong", Body: r, Size: int64(len(data)), Trailer: tr})
	require.ErrorIs(t, err, store.ErrBadDigest)
	var ce *store.ChecksumError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, store.ChecksumCRC32C, ce.Algorithm)
	require.Equal(t, "The CRC32C you specified did not match the calculated checksum.", store.Message(err))
	_, err = e.s.HeadObject(e.ctx, b, "wrong")
	require.ErrorIs(t, err, store.ErrNoSuchKey)

	r = &endingReader{data: data, verdict: io.EOF}
	tr, _ = trailer(store.ChecksumCRC32C, r, "")
	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "missing", Body: r, Size: int64(len(data)), Trailer: tr})
	require.ErrorIs(t, err, store.ErrInvalidRequest)
	require.Equal(t, "The trailing checksum x-amz-checksum-crc32c announced in x-amz-trailer was not sent.", store.Message(err))

	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "alg", Body: bytes.NewReader(data), Size: int64(len(data)),
		Trailer: &store.TrailingChecksum{Algorithm: "MD5", Value: func() string { return "x" }}})
	require.ErrorIs(t, err, store.ErrInvalidRequest)

	// A part: the trailer's algorithm is verified and kept, whatever the
	// upload's.
	m := newMultipartEnv(t)
	mb := m.bucket("parttrailers")
	up, err := m.s.CreateMultipartUpload(m.ctx, mb, "k", store.ObjectMeta{}, store.ChecksumCRC32)
	require.NoError(t, err)
	r = &endingReader{data: data, verdict: io.EOF}
	tr, calls = trailer(store.ChecksumSHA256, r, store.Checksum(store.ChecksumSHA256, data))
	part, err := m.s.UploadPart(m.ctx, store.PartInput{Bucket: mb, Key: "k", UploadID: up.UploadID, Number: 1, Body: r, Size: int64(len(data)), Trailer: tr})
	require.NoError(t, err)
	require.Equal(t, 1, *calls)
	require.Equal(t, map[string]string{store.ChecksumCRC32: store.Checksum(store.ChecksumCRC32, data),
		store.ChecksumSHA256: store.Checksum(store.ChecksumSHA256, data)}, part.Checksums)
	r = &endingReader{data: data, verdict: io.EOF}
	tr, _ = trailer(store.ChecksumSHA256, r, store.Checksum(store.ChecksumSHA256, []byte("other")))
	_, err = m.s.UploadPart(m.ctx, store.PartInput{Bucket: mb, Key: "k", UploadID: up.UploadID, Number: 2, Body: r, Size: int64(len(data)), Trailer: tr})
	require.ErrorIs(t, err, store.ErrBadDigest)
	require.Len(t, m.listParts(mb, "k", up.UploadID), 1)
}

// TestOpenObject: one read of the record serves the conditions, the
// range and the data.
func TestOpenObject(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("open")
	data := randomBytes(3*testChunk+1, 3)
	meta := e.put(b, "k", data)
	read := func(opts store.ReadOptions) (store.ObjectMeta, *store.Range, []byte, error) {
		m, rng, body, err := e.s.OpenObject(e.ctx, b, "k", opts)
		if err != nil || body == nil {
			require.Nil(t, body)
			return m, rng, nil, err
		}
		defer body.Close()
		got, err := io.ReadAll(body)
		require.NoError(t, err)
		return m, rng, got, nil
	}
	m, rng, got, err := read(store.ReadOptions{})
	require.NoError(t, err)
	require.Nil(t, rng)
	require.Equal(t, data, got)
	require.Equal(t, meta.ETag, m.ETag)

	_, rng, got, err = read(store.ReadOptions{Range: "bytes=100-", Conditions: store.Conditions{IfMatch: `"` + meta.ETag + `"`}})
	require.NoError(t, err)
	require.Equal(t, &store.Range{Start: 100, End: int64(len(data)) - 1}, rng)
	require.Equal(t, data[100:], got)

	m, rng, got, err = read(store.ReadOptions{Range: "bytes=-5", MetaOnly: true})
	require.NoError(t, err)
	require.Equal(t, &store.Range{Start: int64(len(data)) - 5, End: int64(len(data)) - 1}, rng)
	require.Nil(t, got)
	require.Equal(t, int64(len(data)), m.Size)

	// The failures that need the metadata come with it.
	m, _, _, err = read(store.ReadOptions{Conditions: store.Conditions{IfNoneMatch: meta.ETag}})
	require.ErrorIs(t, err, store.ErrNotModified)
	require.Equal(t, meta.ETag, m.ETag)
	m, _, _, err = read(store.ReadOptions{Conditions: store.Conditions{IfMatch: `"nope"`}, Range: "bytes=0-0"})
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	m, _, _, err = read(store.ReadOptions{Range: "bytes=99999999-"})
	require.ErrorIs(t, err, store.ErrInvalidRange)
	require.Equal(t, int64(len(data)), m.Size)

	_, _, _, err = e.s.OpenObject(e.ctx, b, "missing", store.ReadOptions{Range: "bytes=0-0"})
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	_, _, _, err = e.s.OpenObject(e.ctx, "no-bucket", "k", store.ReadOptions{})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
}

// TestListPartsReturnsTheUpload: a page of parts says what upload it is
// of: its checksum algorithm and type, storage class, metadata.
func TestListPartsReturnsTheUpload(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("lpupload")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{ContentType: "text/plain", ChecksumType: store.ChecksumFullObject}, store.ChecksumCRC32C)
	require.NoError(t, err)
	e.uploadPart(b, "k", up.UploadID, 1, []byte("part one"))
	page, err := e.s.ListParts(e.ctx, b, "k", up.UploadID, 0, 0)
	require.NoError(t, err)
	require.Len(t, page.Parts, 1)
	got := page.Upload
	require.Equal(t, up.UploadID, got.UploadID)
	require.Equal(t, store.ChecksumCRC32C, got.ChecksumAlgorithm)
	require.Equal(t, store.ChecksumFullObject, got.Meta.ChecksumType)
	require.Equal(t, "text/plain", got.Meta.ContentType)
	require.Equal(t, store.StorageClass, got.StorageClass)
	// A page after the last part still names the upload.
	page, err = e.s.ListParts(e.ctx, b, "k", up.UploadID, 1, 0)
	require.NoError(t, err)
	require.Empty(t, page.Parts)
	require.Equal(t, store.ChecksumCRC32C, page.Upload.ChecksumAlgorithm)
}
