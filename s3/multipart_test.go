package s3_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

// multipartETag is S3's ETag of a multipart object: the MD5 of the parts'
// MD5s, then the number of parts.
func multipartETag(parts ...[]byte) string {
	var all []byte
	for _, p := range parts {
		sum := md5.Sum(p)
		all = append(all, sum[:]...)
	}
	sum := md5.Sum(all)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum[:]), len(parts))
}

// TestUploadManager uploads 20 MiB with the SDK's upload manager (5 MiB
// parts, in parallel, with its default checksums) and downloads it with
// its download manager (ranged GETs in parallel); then copies ranges of
// it into a new multipart object with UploadPartCopy.
func TestUploadManager(t *testing.T) {
	_, c := newBucket(t, "mpu")
	ctx := ctxT(t)
	data := randomBytes(20 << 20)
	const partSize = 5 << 20

	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = partSize })
	res, err := up.Upload(ctx, &awss3.PutObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/object"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"m": "v"}})
	require.NoError(t, err)
	require.Len(t, res.CompletedParts, 4)
	want := multipartETag(data[:partSize], data[partSize:2*partSize], data[2*partSize:3*partSize], data[3*partSize:])
	require.Equal(t, want, *res.ETag)

	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/object")})
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), *head.ContentLength)
	require.Equal(t, want, *head.ETag)
	require.Equal(t, "application/x-test", *head.ContentType)
	require.Equal(t, "v", head.Metadata["m"])

	down := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize = 3 << 20 })
	buf := manager.NewWriteAtBuffer(make([]byte, 0, len(data)))
	n, err := down.Download(ctx, buf, &awss3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big/object")})
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	require.True(t, bytes.Equal(data, buf.Bytes()), "the download is the upload")

	// UploadPartCopy: the first 5 MiB and the last 1000 bytes.
	create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("assembled")})
	require.NoError(t, err)
	p1, err := c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, PartNumber: aws.Int32(1), CopySource: aws.String("mpu/big/object"),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", partSize-1))})
	require.NoError(t, err)
	p2, err := c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, PartNumber: aws.Int32(2), CopySource: aws.String("mpu/big/object"),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", len(data)-1000, len(data)-1)), CopySourceIfMatch: aws.String(want)})
	require.NoError(t, err)
	_, err = c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, PartNumber: aws.Int32(3), CopySource: aws.String("mpu/big/object"),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", len(data), len(data)+10))})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, PartNumber: aws.Int32(3), CopySource: aws.String("mpu/big/object"), CopySourceIfNoneMatch: aws.String(want)})
	requireCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, PartNumber: aws.Int32(3), CopySource: aws.String("mpu/big/object"), CopySourceRange: aws.String("bytes=9-1")})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("assembled"),
		UploadId: create.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}}})
	require.NoError(t, err)
	require.Equal(t, multipartETag(data[:partSize], data[len(data)-1000:]), *done.ETag)
	require.Equal(t, "assembled", *done.Key)
	require.Contains(t, *done.Location, "/mpu/assembled")
	got := getString(t, c, "mpu", "assembled")
	require.True(t, got == string(data[:partSize])+string(data[len(data)-1000:]), "the copied parts are the ranges")
}

func TestMultipartLowLevel(t *testing.T) {
	_, c := newBucket(t, "parts")
	ctx := ctxT(t)
	b, k := aws.String("parts"), aws.String("obj")

	create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: k, ContentType: aws.String("text/x-parts"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	require.NoError(t, err)
	require.Equal(t, types.ChecksumAlgorithmCrc32, create.ChecksumAlgorithm)
	id := create.UploadId

	part := func(n int32, data string) *awss3.UploadPartOutput {
		t.Helper()
		out, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: id, PartNumber: aws.Int32(n),
			Body: strings.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		require.NoError(t, err)
		require.Equal(t, `"`+md5hex([]byte(data))+`"`, *out.ETag)
		require.Equal(t, store.Checksum(store.ChecksumCRC32, []byte(data)), *out.ChecksumCRC32)
		return out
	}
	p1 := part(1, "one")
	p2 := part(2, "two")
	p2 = part(2, "TWO") // a part uploaded again replaces the first
	p3 := part(3, "three")

	// Listing parts and uploads.
	lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: id})
	require.NoError(t, err)
	require.Len(t, lp.Parts, 3)
	require.Equal(t, int64(3), *lp.Parts[1].Size)
	require.Equal(t, *p2.ETag, *lp.Parts[1].ETag)
	require.False(t, *lp.IsTruncated)
	// The upload's own description, as S3 gives it.
	require.Equal(t, types.ChecksumAlgorithmCrc32, lp.ChecksumAlgorithm)
	require.Equal(t, types.ChecksumTypeComposite, lp.ChecksumType)
	require.Equal(t, types.StorageClassStandard, lp.StorageClass)
	require.Equal(t, accessKey, *lp.Initiator.DisplayName)
	require.Equal(t, store.Checksum(store.ChecksumCRC32, []byte("TWO")), *lp.Parts[1].ChecksumCRC32)
	lp0, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: id, MaxParts: aws.Int32(0)})
	require.NoError(t, err)
	require.Empty(t, lp0.Parts)
	require.Equal(t, types.ChecksumAlgorithmCrc32, lp0.ChecksumAlgorithm)
	lp, err = c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: id, MaxParts: aws.Int32(2)})
	require.NoError(t, err)
	require.Len(t, lp.Parts, 2)
	require.True(t, *lp.IsTruncated)
	require.Equal(t, "2", *lp.NextPartNumberMarker)
	lp, err = c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: id, PartNumberMarker: lp.NextPartNumberMarker})
	require.NoError(t, err)
	require.Len(t, lp.Parts, 1)
	require.Equal(t, int32(3), *lp.Parts[0].PartNumber)

	other, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("dir/other")})
	require.NoError(t, err)
	lu, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: b})
	require.NoError(t, err)
	require.Len(t, lu.Uploads, 2)
	require.Equal(t, "dir/other", *lu.Uploads[0].Key)
	require.Equal(t, *id, *lu.Uploads[1].UploadId)
	lu, err = c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: b, Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Len(t, lu.Uploads, 1)
	require.Equal(t, []string{"dir/"}, prefixes(lu.CommonPrefixes))
	lu, err = c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: b, MaxUploads: aws.Int32(1)})
	require.NoError(t, err)
	require.True(t, *lu.IsTruncated)
	require.Equal(t, "dir/other", *lu.NextKeyMarker)
	_, err = c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("dir/other"), UploadId: other.UploadId})
	require.NoError(t, err)
	_, err = c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("dir/other"), UploadId: other.UploadId})
	requireCode(t, err, "NoSuchUpload", http.StatusNotFound)

	completed := func(parts ...types.CompletedPart) *types.CompletedMultipartUpload {
		return &types.CompletedMultipartUpload{Parts: parts}
	}
	cp := func(n int32, etag *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	}
	complete := func(parts *types.CompletedMultipartUpload) error {
		_, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: id, MultipartUpload: parts})
		return err
	}
	// Errors leave the upload open.
	requireCode(t, complete(completed(cp(1, p1.ETag), cp(2, p2.ETag))), "EntityTooSmall", http.StatusBadRequest)
	requireCode(t, complete(completed(cp(1, p2.ETag))), "InvalidPart", http.StatusBadRequest)
	requireCode(t, complete(completed(cp(4, p1.ETag))), "InvalidPart", http.StatusBadRequest)
	requireCode(t, complete(completed(cp(2, p2.ETag), cp(1, p1.ETag))), "InvalidPartOrder", http.StatusBadRequest)
	bad := cp(1, p1.ETag)
	bad.ChecksumCRC32 = aws.String(store.Checksum(store.ChecksumCRC32, []byte("nope")))
	requireCode(t, complete(completed(bad)), "InvalidPart", http.StatusBadRequest)
	requireCode(t, complete(completed()), "MalformedXML", http.StatusBadRequest)

	// One part may be small; its ETag may come without quotes, and with
	// its checksum.
	last := cp(3, aws.String(strings.Trim(*p3.ETag, `"`)))
	last.ChecksumCRC32 = p3.ChecksumCRC32
	require.NoError(t, complete(completed(last)))
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: k, ChecksumMode: types.ChecksumModeEnabled})
	require.NoError(t, err)
	require.Equal(t, multipartETag([]byte("three")), *head.ETag)
	require.Equal(t, "text/x-parts", *head.ContentType)
	require.Equal(t, types.ChecksumTypeComposite, head.ChecksumType)
	require.True(t, strings.HasSuffix(*head.ChecksumCRC32, "-1"), *head.ChecksumCRC32)
	require.Equal(t, "three", getString(t, c, "parts", "obj"))

	// The upload is gone.
	_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: id, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	requireCode(t, err, "NoSuchUpload", http.StatusNotFound)
	_, err = c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: id})
	requireCode(t, err, "NoSuchUpload", http.StatusNotFound)
	_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: aws.String("no-such-upload"), PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	requireCode(t, err, "NoSuchUpload", http.StatusNotFound)
	for _, n := range []int32{0, 10001} {
		_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: id, PartNumber: aws.Int32(n), Body: strings.NewReader("x")})
		requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	}
	_, err = c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("no-bucket"), Key: k})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
}
