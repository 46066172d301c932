package s3_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/s3"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
)

// TestMinioClient drives the node with minio-go's defaults: over plain
// HTTP it signs every 64 KiB chunk of an upload (aws-chunked), uploads
// big objects in 16 MiB parts, and sends unquoted ETags when completing.
func TestMinioClient(t *testing.T) {
	n := startSingle(t, s3.Options{})
	mc := minioClient(t, n)
	ctx := ctxT(t)

	require.NoError(t, mc.MakeBucket(ctx, "minio", minio.MakeBucketOptions{Region: region}))
	ok, err := mc.BucketExists(ctx, "minio")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = mc.BucketExists(ctx, "nothere")
	require.NoError(t, err)
	require.False(t, ok)
	err = mc.MakeBucket(ctx, "minio", minio.MakeBucketOptions{Region: region})
	require.Equal(t, "BucketAlreadyOwnedByYou", minio.ToErrorResponse(err).Code)
	loc, err := mc.GetBucketLocation(ctx, "minio")
	require.NoError(t, err)
	require.Equal(t, region, loc)

	// A small object, streamed in signed chunks, with metadata.
	small := randomBytes(200 << 10)
	info, err := mc.PutObject(ctx, "minio", "dir/small", bytes.NewReader(small), int64(len(small)),
		minio.PutObjectOptions{ContentType: "application/x-small", UserMetadata: map[string]string{"Origin": "minio"}})
	require.NoError(t, err)
	require.Equal(t, md5hex(small), info.ETag)
	st, err := mc.StatObject(ctx, "minio", "dir/small", minio.StatObjectOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(len(small)), st.Size)
	require.Equal(t, "application/x-small", st.ContentType)
	require.Equal(t, "minio", st.UserMetadata["Origin"])

	// A 20 MiB object: multipart, 16 MiB parts.
	big := randomBytes(20 << 20)
	info, err = mc.PutObject(ctx, "minio", "big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{})
	require.NoError(t, err)
	require.Equal(t, strings.Trim(multipartETag(big[:16<<20], big[16<<20:]), `"`), info.ETag)
	obj, err := mc.GetObject(ctx, "minio", "big", minio.GetObjectOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got))
	// Ranged reads.
	part := make([]byte, 1000)
	_, err = obj.ReadAt(part, 16<<20-500)
	require.NoError(t, err)
	require.Equal(t, big[16<<20-500:16<<20+500], part)
	obj.Close()
	opts := minio.GetObjectOptions{}
	require.NoError(t, opts.SetRange(100, 199))
	obj, err = mc.GetObject(ctx, "minio", "dir/small", opts)
	require.NoError(t, err)
	got, err = io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, small[100:200], got)
	obj.Close()

	// An upload of unknown size.
	info, err = mc.PutObject(ctx, "minio", "stream", io.LimitReader(bytes.NewReader(big), 1<<20), -1, minio.PutObjectOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(1<<20), info.Size)

	// Copy, and compose from ranges (UploadPartCopy).
	_, err = mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "minio", Object: "copy"}, minio.CopySrcOptions{Bucket: "minio", Object: "dir/small"})
	require.NoError(t, err)
	_, err = mc.ComposeObject(ctx, minio.CopyDestOptions{Bucket: "minio", Object: "composed"},
		minio.CopySrcOptions{Bucket: "minio", Object: "big", MatchRange: true, Start: 0, End: 5<<20 - 1},
		minio.CopySrcOptions{Bucket: "minio", Object: "dir/small"})
	require.NoError(t, err)
	obj, err = mc.GetObject(ctx, "minio", "composed", minio.GetObjectOptions{})
	require.NoError(t, err)
	got, err = io.ReadAll(obj)
	require.NoError(t, err)
	obj.Close()
	require.True(t, bytes.Equal(append(append([]byte(nil), big[:5<<20]...), small...), got))

	// Listing.
	var keys []string
	for o := range mc.ListObjects(ctx, "minio", minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	require.Equal(t, []string{"big", "composed", "copy", "dir/small", "stream"}, keys)
	keys = nil
	for o := range mc.ListObjects(ctx, "minio", minio.ListObjectsOptions{}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	require.ElementsMatch(t, []string{"big", "composed", "copy", "dir/", "stream"}, keys)
	keys = nil
	for o := range mc.ListObjects(ctx, "minio", minio.ListObjectsOptions{Recursive: true, UseV1: true}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	require.Len(t, keys, 5)

	// A presigned GET.
	u, err := mc.PresignedGetObject(ctx, "minio", "dir/small", time.Minute, nil)
	require.NoError(t, err)
	resp, err := http.Get(u.String())
	require.NoError(t, err)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, small, got)

	// Errors.
	_, err = mc.StatObject(ctx, "minio", "missing", minio.StatObjectOptions{})
	require.Equal(t, "NoSuchKey", minio.ToErrorResponse(err).Code)
	err = mc.RemoveBucket(ctx, "minio")
	require.Equal(t, "BucketNotEmpty", minio.ToErrorResponse(err).Code)

	// Delete everything, one and many.
	require.NoError(t, mc.RemoveObject(ctx, "minio", "copy", minio.RemoveObjectOptions{}))
	ch := make(chan minio.ObjectInfo, 8)
	for _, k := range []string{"big", "composed", "dir/small", "stream"} {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for e := range mc.RemoveObjects(ctx, "minio", ch, minio.RemoveObjectsOptions{}) {
		require.NoError(t, e.Err)
	}
	require.NoError(t, mc.RemoveBucket(ctx, "minio"))
}

// TestMinioMultipartAbort: an abandoned multipart upload is listed, then
// aborted.
func TestMinioMultipartAbort(t *testing.T) {
	n := startSingle(t, s3.Options{})
	mc := minioClient(t, n)
	core := minio.Core{Client: mc}
	ctx := ctxT(t)
	require.NoError(t, mc.MakeBucket(ctx, "abort", minio.MakeBucketOptions{}))
	id, err := core.NewMultipartUpload(ctx, "abort", "k", minio.PutObjectOptions{})
	require.NoError(t, err)
	p, err := core.PutObjectPart(ctx, "abort", "k", id, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{})
	require.NoError(t, err)
	require.Equal(t, md5hex([]byte("part")), p.ETag)
	res, err := core.ListMultipartUploads(ctx, "abort", "", "", "", "", 10)
	require.NoError(t, err)
	require.Len(t, res.Uploads, 1)
	require.Equal(t, id, res.Uploads[0].UploadID)
	require.NoError(t, core.AbortMultipartUpload(ctx, "abort", "k", id))
	_, err = core.ListObjectParts(ctx, "abort", "k", id, 0, 10)
	require.Equal(t, "NoSuchUpload", minio.ToErrorResponse(err).Code)
	require.NoError(t, mc.RemoveBucket(ctx, "abort"), "an aborted upload does not keep the bucket from being deleted")
}
