package store_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// Multipart tests use 1 MiB chunks: parts are at least 5 MiB.
func newMultipartEnv(t *testing.T) *env {
	return newEnv(t, func(o *store.Options) { o.ChunkSize = mib })
}

func (e *env) uploadPart(b, key, id string, n int, data []byte) store.PartInfo {
	e.t.Helper()
	p, err := e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: key, UploadID: id, Number: n, Body: bytes.NewReader(data), Size: int64(len(data))})
	require.NoError(e.t, err)
	require.Equal(e.t, md5hex(data), p.ETag)
	require.Equal(e.t, int64(len(data)), p.Size)
	return p
}

func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

func TestMultipartUpload(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("mpu")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "obj", store.ObjectMeta{ContentType: "video/mp4", UserMeta: map[string]string{"k": "v"}}, "")
	require.NoError(t, err)
	require.Equal(t, b, up.Bucket)
	require.Equal(t, "obj", up.Key)
	require.NotEmpty(t, up.UploadID)

	p1, p2, p3 := randomBytes(5*mib, 1), randomBytes(5*mib+7, 2), randomBytes(1234, 3)
	// Out of order, and part 2 twice: the second upload replaces the first.
	i3, err := e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "obj", UploadID: up.UploadID, Number: 3, Body: bytes.NewReader(p3), Size: -1}) // size unknown
	require.NoError(t, err)
	i1 := e.uploadPart(b, "obj", up.UploadID, 1, p1)
	e.uploadPart(b, "obj", up.UploadID, 2, randomBytes(5*mib, 9))
	i2 := e.uploadPart(b, "obj", up.UploadID, 2, p2)

	page, err := e.s.ListParts(e.ctx, b, "obj", up.UploadID, 0, 0)
	require.NoError(t, err)
	require.False(t, page.Truncated)
	require.Equal(t, 3, page.Next)
	parts := page.Parts
	require.Len(t, parts, 3)
	// The page says what upload it is, as CreateMultipartUpload made it.
	require.Equal(t, up.UploadID, page.Upload.UploadID)
	require.Equal(t, "video/mp4", page.Upload.Meta.ContentType)
	require.Equal(t, store.StorageClass, page.Upload.StorageClass)
	require.True(t, up.Initiated.Equal(page.Upload.Initiated))
	for i, want := range []store.PartInfo{i1, i2, i3} {
		require.Equal(t, want.Number, parts[i].Number)
		require.Equal(t, want.ETag, parts[i].ETag)
		require.Equal(t, want.Size, parts[i].Size)
	}
	page, err = e.s.ListParts(e.ctx, b, "obj", up.UploadID, 0, 2)
	require.NoError(t, err)
	require.True(t, page.Truncated)
	require.Equal(t, 2, page.Next)
	require.Len(t, page.Parts, 2)
	page, err = e.s.ListParts(e.ctx, b, "obj", up.UploadID, page.Next, 2)
	require.NoError(t, err)
	require.False(t, page.Truncated)
	require.Equal(t, 3, page.Parts[0].Number)

	uploads, _, _, _, _, err := e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{})
	require.NoError(t, err)
	require.Len(t, uploads, 1)
	require.Equal(t, up.UploadID, uploads[0].UploadID)
	require.Equal(t, "video/mp4", uploads[0].Meta.ContentType)

	meta, err := e.s.CompleteMultipartUpload(e.ctx, b, "obj", up.UploadID, []store.CompletePart{
		{Number: 1, ETag: `"` + i1.ETag + `"`}, {Number: 2, ETag: i2.ETag}, {Number: 3, ETag: i3.ETag},
	})
	require.NoError(t, err)
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	require.Equal(t, multipartETag(p1, p2, p3), meta.ETag)
	require.Equal(t, int64(len(whole)), meta.Size)
	require.Equal(t, 3, meta.PartsCount)
	head, err := e.s.HeadObject(e.ctx, b, "obj")
	require.NoError(t, err)
	require.Equal(t, meta.ETag, head.ETag)
	require.Equal(t, "video/mp4", head.ContentType)
	require.Equal(t, map[string]string{"k": "v"}, head.UserMeta)
	require.Equal(t, 3, head.PartsCount)
	require.Equal(t, whole, e.get(b, "obj", nil))
	for _, r := range []store.Range{{5*mib - 10, 5*mib + 10}, {5 * mib, 5 * mib}, {5*mib - 1, 5*mib - 1}, {6*mib - 1, 6 * mib},
		{10*mib + 7, int64(len(whole)) - 1}, {10*mib + 6, 10*mib + 7}, {0, int64(len(whole)) - 1}, {3, 4}} {
		require.Equal(t, whole[r.Start:r.End+1], e.get(b, "obj", &r), "%+v", r)
	}

	// The upload is gone...
	uploads, _, _, _, _, err = e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{})
	require.NoError(t, err)
	require.Empty(t, uploads)
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "obj", UploadID: up.UploadID, Number: 4, Body: strings.NewReader("x"), Size: 1})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	require.ErrorIs(t, e.s.AbortMultipartUpload(e.ctx, b, "obj", up.UploadID), store.ErrNoSuchUpload)
	_, err = e.s.ListParts(e.ctx, b, "obj", up.UploadID, 0, 0)
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	// ...but a retried completion (a lost response) gets the object.
	again, err := e.s.CompleteMultipartUpload(e.ctx, b, "obj", up.UploadID, []store.CompletePart{{Number: 1, ETag: i1.ETag}})
	require.NoError(t, err)
	require.Equal(t, meta.ETag, again.ETag)

	// The replaced part 2 (5 chunks) goes at once; part records too.
	require.Equal(t, 5, e.gc())
	require.Zero(t, e.count(partsPrefix))
	require.Equal(t, whole, e.get(b, "obj", nil))

	// Replacing the object queues all its parts: 5 + 6 + 1 chunks.
	e.put(b, "obj", []byte("small now"))
	require.Zero(t, e.gc())
	require.Equal(t, 12, e.gcAfterGrace())
	require.Zero(t, e.count(chunksPrefix))
	require.Zero(t, e.count(queuePrefix))
	require.Zero(t, e.count("\x00s3/m/"), "the manifest went with its parts")
}

func TestCompleteMultipartErrors(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("mperr")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, store.ChecksumCRC32)
	require.NoError(t, err)
	p1, p2, p3 := randomBytes(5*mib, 1), randomBytes(100, 2), randomBytes(200, 3)
	i1 := e.uploadPart(b, "k", up.UploadID, 1, p1)
	i2 := e.uploadPart(b, "k", up.UploadID, 2, p2)
	i3 := e.uploadPart(b, "k", up.UploadID, 3, p3)
	require.Equal(t, store.Checksum(store.ChecksumCRC32, p2), i2.Checksums[store.ChecksumCRC32], "the upload's algorithm is computed for every part")

	complete := func(parts ...store.CompletePart) error {
		_, err := e.s.CompleteMultipartUpload(e.ctx, b, "k", up.UploadID, parts)
		return err
	}
	cp := func(i store.PartInfo) store.CompletePart { return store.CompletePart{Number: i.Number, ETag: i.ETag} }
	require.ErrorIs(t, complete(), store.ErrMalformedXML)
	require.ErrorIs(t, complete(cp(i2), cp(i1)), store.ErrInvalidPartOrder)
	require.ErrorIs(t, complete(cp(i1), cp(i1)), store.ErrInvalidPartOrder)
	require.ErrorIs(t, complete(store.CompletePart{Number: 1, ETag: i2.ETag}), store.ErrInvalidPart)
	require.ErrorIs(t, complete(cp(i1), store.CompletePart{Number: 4, ETag: i3.ETag}), store.ErrInvalidPart)
	require.ErrorIs(t, complete(store.CompletePart{Number: 0, ETag: i1.ETag}), store.ErrInvalidArgument)
	require.ErrorIs(t, complete(cp(i1), cp(i2), cp(i3)), store.ErrEntityTooSmall)
	bad := cp(i3)
	bad.Checksums = map[string]string{store.ChecksumCRC32: "AAAAAA=="}
	require.ErrorIs(t, complete(cp(i1), bad), store.ErrInvalidPart)

	// Errors leave the upload open: parts can still come, and a right
	// list completes it. Part 2 is left out.
	require.Len(t, e.listParts(b, "k", up.UploadID), 3)
	i3 = e.uploadPart(b, "k", up.UploadID, 3, p3)
	good := cp(i3)
	good.Checksums = map[string]string{store.ChecksumCRC32: store.Checksum(store.ChecksumCRC32, p3)}
	meta, err := e.s.CompleteMultipartUpload(e.ctx, b, "k", up.UploadID, []store.CompletePart{cp(i1), good})
	require.NoError(t, err)
	require.Equal(t, multipartETag(p1, p3), meta.ETag)
	require.Equal(t, append(p1, p3...), e.get(b, "k", nil))
	require.Equal(t, 1+1, e.gc(), "the unused part 2 and the first part 3")

	// Part numbers and uploads that do not exist.
	up2, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "")
	require.NoError(t, err)
	for _, n := range []int{0, -1, 10001} {
		_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up2.UploadID, Number: n, Body: strings.NewReader("x"), Size: 1})
		require.ErrorIs(t, err, store.ErrInvalidArgument, "part %d", n)
	}
	e.uploadPart(b, "k", up2.UploadID, 10000, []byte("x"))
	for _, tc := range []struct{ bucket, key, id string }{
		{b, "k", "0123456789abcdef0123456789abcdef"},
		{b, "k", "../../etc"},
		{b, "other-key", up2.UploadID},
	} {
		_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: tc.bucket, Key: tc.key, UploadID: tc.id, Number: 1, Body: strings.NewReader("x"), Size: 1})
		require.ErrorIs(t, err, store.ErrNoSuchUpload, "%+v", tc)
	}
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: "nobucket", Key: "k", UploadID: up2.UploadID, Number: 1, Body: strings.NewReader("x"), Size: 1})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up2.UploadID, Number: 1, Body: strings.NewReader("x"), Size: 6 << 30})
	require.ErrorIs(t, err, store.ErrEntityTooLarge)
	wrong := md5.Sum([]byte("y"))
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up2.UploadID, Number: 1, Body: strings.NewReader("x"), Size: 1, ContentMD5: wrong[:]})
	require.ErrorIs(t, err, store.ErrBadDigest)
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up2.UploadID, Number: 1, Body: strings.NewReader("x"), Size: 1, Checksums: map[string]string{store.ChecksumSHA1: store.Checksum(store.ChecksumSHA1, []byte("y"))}})
	require.ErrorIs(t, err, store.ErrBadDigest)
	_, err = e.s.CompleteMultipartUpload(e.ctx, b, "k", "0123456789abcdef0123456789abcdef", []store.CompletePart{cp(i1)})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	_, err = e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "MD5")
	require.ErrorIs(t, err, store.ErrInvalidRequest)
	_, err = e.s.CreateMultipartUpload(e.ctx, "nobucket", "k", store.ObjectMeta{}, "")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
}

func (e *env) listParts(b, key, id string) []store.PartInfo {
	e.t.Helper()
	page, err := e.s.ListParts(e.ctx, b, key, id, 0, 0)
	require.NoError(e.t, err)
	return page.Parts
}

func TestAbortMultipartUpload(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("abort")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "")
	require.NoError(t, err)
	e.uploadPart(b, "k", up.UploadID, 1, randomBytes(mib+1, 1))
	e.uploadPart(b, "k", up.UploadID, 2, randomBytes(mib+2, 2))
	require.ErrorIs(t, e.s.DeleteBucket(e.ctx, b), store.ErrBucketNotEmpty, "an unfinished upload keeps a bucket")
	require.NoError(t, e.s.AbortMultipartUpload(e.ctx, b, "k", up.UploadID))

	require.ErrorIs(t, e.s.AbortMultipartUpload(e.ctx, b, "k", up.UploadID), store.ErrNoSuchUpload)
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up.UploadID, Number: 3, Body: strings.NewReader("x"), Size: 1})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	_, err = e.s.CompleteMultipartUpload(e.ctx, b, "k", up.UploadID, []store.CompletePart{{Number: 1, ETag: "x"}})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	_, err = e.s.HeadObject(e.ctx, b, "k")
	require.ErrorIs(t, err, store.ErrNoSuchKey)

	require.Equal(t, 4, e.gc())
	require.Zero(t, e.count(partsPrefix))
	require.Zero(t, e.count(chunksPrefix))
	require.NoError(t, e.s.DeleteBucket(e.ctx, b))
}

// A part still streaming when its upload is aborted fails, and leaves
// nothing behind.
func TestAbortDuringPartUpload(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("abort2")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "")
	require.NoError(t, err)
	r := &stallingReader{data: randomBytes(4*mib, 1), stallAt: 2 * mib, stall: func() {
		require.NoError(t, e.s.AbortMultipartUpload(e.ctx, b, "k", up.UploadID))
	}}
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "k", UploadID: up.UploadID, Number: 1, Body: r, Size: -1})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	e.gc()
	require.Zero(t, e.count(chunksPrefix))
	require.Zero(t, e.count(pendingPrefix))
	require.Zero(t, e.count(partsPrefix))
}

func TestListMultipartUploads(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("uploads")
	type ref struct{ key, id string }
	var want []ref
	for _, k := range []string{"b/1", "a", "c", "b/2", "a", "a/x/y", "ü"} {
		up, err := e.s.CreateMultipartUpload(e.ctx, b, k, store.ObjectMeta{}, "")
		require.NoError(t, err)
		want = append(want, ref{k, up.UploadID})
		e.clock.Advance(time.Millisecond) // IDs order uploads of one key by age
	}
	// By key, then by age.
	order := []ref{want[1], want[4], want[5], want[0], want[3], want[2], want[6]}
	var got []ref
	km, im := "", ""
	for pages := 0; ; pages++ {
		ups, prefixes, truncated, nk, ni, err := e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{KeyMarker: km, UploadIDMarker: im, MaxUploads: 2})
		require.NoError(t, err)
		require.Empty(t, prefixes)
		require.LessOrEqual(t, len(ups), 2)
		for _, u := range ups {
			got = append(got, ref{u.Key, u.UploadID})
		}
		if !truncated {
			break
		}
		km, im = nk, ni
	}
	require.Equal(t, order, got)

	ups, prefixes, truncated, _, _, err := e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{Delimiter: "/"})
	require.NoError(t, err)
	require.False(t, truncated)
	require.Equal(t, []string{"a/", "b/"}, prefixes)
	require.Len(t, ups, 4) // a, a, c, ü
	ups, prefixes, _, _, _, err = e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{Prefix: "b/"})
	require.NoError(t, err)
	require.Empty(t, prefixes)
	require.Len(t, ups, 2)
	// After a key: its uploads are skipped.
	ups, _, _, _, _, err = e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{KeyMarker: "a"})
	require.NoError(t, err)
	require.Equal(t, "a/x/y", ups[0].Key)
	// Common prefix as a marker: skipped whole.
	ups, prefixes, _, nk, ni, err := e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{Delimiter: "/", MaxUploads: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"a/"}, prefixes)
	require.Equal(t, "a/", nk)
	require.Empty(t, ni)
	ups, prefixes, _, _, _, err = e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{Delimiter: "/", KeyMarker: nk})
	require.NoError(t, err)
	require.Equal(t, []string{"b/"}, prefixes)
	require.Len(t, ups, 2)
	_, _, _, _, _, err = e.s.ListMultipartUploads(e.ctx, "nobucket", store.ListUploadsOptions{})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
}

func TestMultipartChecksums(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("mpsum")
	p1, p2 := randomBytes(5*mib+3, 1), randomBytes(777, 2)
	small := randomBytes(1000, 3)
	for _, tc := range []struct {
		alg, typ, wantType string
		parts              [][]byte // several parts need big parts: only for two algorithms
	}{
		{store.ChecksumCRC32, "", store.ChecksumComposite, [][]byte{p1, p2}},
		{store.ChecksumCRC64NVME, "", store.ChecksumFullObject, [][]byte{p1, p2}},
		{store.ChecksumCRC32C, store.ChecksumFullObject, store.ChecksumFullObject, [][]byte{small}},
		{store.ChecksumSHA256, "", store.ChecksumComposite, [][]byte{small}},
		{store.ChecksumSHA1, store.ChecksumComposite, store.ChecksumComposite, [][]byte{small}},
	} {
		key := tc.alg + tc.typ
		whole := bytes.Join(tc.parts, nil)
		up, err := e.s.CreateMultipartUpload(e.ctx, b, key, store.ObjectMeta{ChecksumType: tc.typ}, tc.alg)
		require.NoError(t, err)
		require.Equal(t, tc.wantType, up.Meta.ChecksumType)
		var parts []store.CompletePart
		var raw []byte
		for i, p := range tc.parts {
			info := e.uploadPart(b, key, up.UploadID, i+1, p)
			require.Equal(t, store.Checksum(tc.alg, p), info.Checksums[tc.alg])
			parts = append(parts, store.CompletePart{Number: i + 1, ETag: info.ETag, Checksums: info.Checksums})
			r, _ := base64.StdEncoding.DecodeString(info.Checksums[tc.alg])
			raw = append(raw, r...)
		}
		meta, err := e.s.CompleteMultipartUpload(e.ctx, b, key, up.UploadID, parts)
		require.NoError(t, err)
		require.Equal(t, tc.wantType, meta.ChecksumType)
		want := store.Checksum(tc.alg, whole)
		if tc.wantType == store.ChecksumComposite {
			want = fmt.Sprintf("%s-%d", store.Checksum(tc.alg, raw), len(tc.parts))
		}
		require.Equal(t, map[string]string{tc.alg: want}, meta.Checksums, "%+v", tc)
		head, err := e.s.HeadObject(e.ctx, b, key)
		require.NoError(t, err)
		require.Equal(t, meta.Checksums, head.Checksums)
	}
	// S3's composite CRC32, computed independently of the store.
	c1, c2 := crc32.ChecksumIEEE(p1), crc32.ChecksumIEEE(p2)
	cat := []byte{byte(c1 >> 24), byte(c1 >> 16), byte(c1 >> 8), byte(c1), byte(c2 >> 24), byte(c2 >> 16), byte(c2 >> 8), byte(c2)}
	c := crc32.ChecksumIEEE(cat)
	head, err := e.s.HeadObject(e.ctx, b, store.ChecksumCRC32)
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})+"-2", head.Checksums[store.ChecksumCRC32])
}

func TestUploadPartCopy(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("pcopy")
	src := randomBytes(5*mib+5, 4)
	m := e.put(b, "src", src)
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "dst", store.ObjectMeta{}, "")
	require.NoError(t, err)
	i1, err := e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 1, b, "src", &store.Range{Start: 0, End: 5*mib - 1}, store.Conditions{IfMatch: m.ETag})
	require.NoError(t, err)
	require.Equal(t, md5hex(src[:5*mib]), i1.ETag)
	i2, err := e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 2, b, "src", nil, store.Conditions{})
	require.NoError(t, err)
	require.Equal(t, m.ETag, i2.ETag)
	i3, err := e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 3, b, "src", &store.Range{Start: 5 * mib, End: int64(len(src)) - 1}, store.Conditions{})
	require.NoError(t, err)

	_, err = e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 4, b, "src", &store.Range{Start: 0, End: int64(len(src))}, store.Conditions{})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	_, err = e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 4, b, "src", nil, store.Conditions{IfNoneMatch: m.ETag})
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, 4, b, "missing", nil, store.Conditions{})
	require.ErrorIs(t, err, store.ErrNoSuchKey)

	meta, err := e.s.CompleteMultipartUpload(e.ctx, b, "dst", up.UploadID, []store.CompletePart{
		{Number: 1, ETag: i1.ETag}, {Number: 2, ETag: i2.ETag}, {Number: 3, ETag: i3.ETag}})
	require.NoError(t, err)
	require.Equal(t, multipartETag(src[:5*mib], src, src[5*mib:]), meta.ETag)
	require.Equal(t, bytes.Join([][]byte{src[:5*mib], src, src[5*mib:]}, nil), e.get(b, "dst", nil))
}

func TestAbandonedUploadsExpire(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("expire")
	old, err := e.s.CreateMultipartUpload(e.ctx, b, "old", store.ObjectMeta{}, "")
	require.NoError(t, err)
	e.uploadPart(b, "old", old.UploadID, 1, randomBytes(2*mib, 1))
	e.clock.Advance(store.DefaultUploadTTL - time.Hour)
	young, err := e.s.CreateMultipartUpload(e.ctx, b, "young", store.ObjectMeta{}, "")
	require.NoError(t, err)
	e.uploadPart(b, "young", young.UploadID, 1, randomBytes(10, 1))

	require.Zero(t, e.gc())
	e.clock.Advance(2 * time.Hour)
	require.Equal(t, 2, e.gc(), "the old upload expired; its two chunks are gone")
	ups, _, _, _, _, err := e.s.ListMultipartUploads(e.ctx, b, store.ListUploadsOptions{})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.Equal(t, young.UploadID, ups[0].UploadID)
	_, err = e.s.UploadPart(e.ctx, store.PartInput{Bucket: b, Key: "old", UploadID: old.UploadID, Number: 2, Body: strings.NewReader("x"), Size: 1})
	require.ErrorIs(t, err, store.ErrNoSuchUpload)
	require.Len(t, e.listParts(b, "young", young.UploadID), 1)

	// Closed-upload records outlive the uploads, then go too.
	require.Equal(t, 1, e.count("\x00s3/c/"))
	e.clock.Advance(2 * store.DefaultUploadTTL)
	e.gc()
	require.Zero(t, e.count("\x00s3/c/"))
	require.Zero(t, e.count(chunksPrefix))
}

// Concurrent completions of one upload publish it once.
func TestConcurrentCompletion(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("once")
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "k", store.ObjectMeta{}, "")
	require.NoError(t, err)
	p := randomBytes(100, 1)
	i1 := e.uploadPart(b, "k", up.UploadID, 1, p)
	var wg sync.WaitGroup
	etags := make([]string, 4)
	for i := range etags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := e.s.CompleteMultipartUpload(e.ctx, b, "k", up.UploadID, []store.CompletePart{{Number: 1, ETag: i1.ETag}})
			if err == nil {
				etags[i] = m.ETag
			} else {
				require.ErrorIs(t, err, store.ErrNoSuchUpload)
			}
		}()
	}
	wg.Wait()
	require.Contains(t, etags, multipartETag(p))
	require.Equal(t, p, e.get(b, "k", nil))
	e.gc()
	require.Equal(t, 1, e.count(chunksPrefix))
	require.Zero(t, e.count(partsPrefix))
}
