package s3_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
)

// TestClusterWritesThroughFollowers: writes sent to followers are
// forwarded to the leader, and a read on any other node right after sees
// them (reads are linearizable).
func TestClusterWritesThroughFollowers(t *testing.T) {
	nodes := startCluster(t, 3)
	lead, fol := roles(t, nodes)
	ctx := ctxT(t)
	a, b := awsClient(fol[0]), awsClient(fol[1])

	_, err := a.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("cluster")})
	require.NoError(t, err)
	_, err = b.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("cluster")})
	require.NoError(t, err)

	for i := range 20 {
		w, r := a, b
		if i%2 == 1 {
			w, r = b, awsClient(lead)
		}
		v := fmt.Sprintf("value %d", i)
		_, err := w.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("cluster"), Key: aws.String("k"), Body: body(v)})
		require.NoError(t, err)
		require.Equal(t, v, getString(t, r, "cluster", "k"), "a read right after a write sees it, on any node")
	}

	// The forwarded answer is the leader's.
	req := mustRequest(http.MethodPut, fol[0].url+"/cluster/raw", "")
	ans := signedDo(t, req, []byte("raw"))
	require.Equal(t, http.StatusOK, ans.status, ans.body)
	require.Equal(t, strconv.FormatUint(lead.node.ID(), 10), ans.header.Get("X-Minikv-Node"))
	require.Len(t, ans.header.Values("X-Amz-Request-Id"), 1)

	// minio-go streams signed chunks; through the follower they reach the
	// leader intact, and a multipart upload too.
	mc := minioClient(t, fol[1])
	data := randomBytes(6 << 20)
	_, err = mc.PutObject(ctx, "cluster", "minio", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, []byte(getString(t, a, "cluster", "minio"))))

	// A presigned PUT through a follower: the Host it was signed for is
	// what the leader sees.
	ps, err := awss3.NewPresignClient(a).PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("cluster"), Key: aws.String("presigned")})
	require.NoError(t, err)
	preq, _ := http.NewRequest(ps.Method, ps.URL, bytes.NewReader([]byte("presigned body")))
	require.Equal(t, http.StatusOK, rawDo(t, preq).status)
	require.Equal(t, "presigned body", getString(t, b, "cluster", "presigned"))

	// Errors come back as they are; a bad signature is refused by the
	// follower itself.
	_, err = a.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("cluster")})
	requireCode(t, err, "BucketNotEmpty", http.StatusConflict)
	_, err = awsClientWith(fol[0].url, accessKey, "wrong-secret").PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("cluster"), Key: aws.String("x"), Body: body("x")})
	requireCode(t, err, "SignatureDoesNotMatch", http.StatusForbidden)

	// Deletes.
	_, err = a.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("cluster"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k")}, {Key: aws.String("minio")}, {Key: aws.String("raw")}}}})
	require.NoError(t, err)
	_, err = b.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("cluster"), Key: aws.String("presigned")})
	require.NoError(t, err)
	list, err := awsClient(lead).ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("cluster")})
	require.NoError(t, err)
	require.Empty(t, list.Contents)
	_, err = b.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("cluster")})
	require.NoError(t, err)

	// A request some node already forwarded is not forwarded again.
	req = mustRequest(http.MethodPut, fol[0].url+"/again", "")
	req.Header.Set("X-Minikv-Forwarded-By", "9")
	signedDo(t, req, nil).requireError(t, http.StatusServiceUnavailable, "ServiceUnavailable")
}

// TestClusterLeaderFailsDuringMultipartUpload: the leader is stopped
// between the parts of an upload; the upload goes on with the new leader
// and the object is whole.
func TestClusterLeaderFailsDuringMultipartUpload(t *testing.T) {
	nodes := startCluster(t, 3)
	lead, fol := roles(t, nodes)
	ctx := ctxT(t)
	c := awsClient(fol[0])
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("failover")})
	require.NoError(t, err)
	create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("failover"), Key: aws.String("k")})
	require.NoError(t, err)
	p1data, p2data := randomBytes(5<<20), randomBytes(100<<10)
	p1, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("failover"), Key: aws.String("k"), UploadId: create.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(p1data)})
	require.NoError(t, err)

	lead.stop()
	require.Eventually(t, func() bool {
		for _, n := range fol {
			if n.node.Status().Role == "leader" {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "a new leader")
	// Both survivors know it before the next write goes out.
	require.Eventually(t, func() bool {
		_, ok0 := fol[0].node.Leader()
		_, ok1 := fol[1].node.Leader()
		return ok0 && ok1 && fol[0].node.Status().Leader == fol[1].node.Status().Leader && fol[0].node.Status().Leader != lead.node.ID()
	}, 10*time.Second, 10*time.Millisecond)

	p2, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("failover"), Key: aws.String("k"), UploadId: create.UploadId,
		PartNumber: aws.Int32(2), Body: bytes.NewReader(p2data)})
	require.NoError(t, err)
	_, err = awsClient(fol[1]).CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("failover"), Key: aws.String("k"),
		UploadId: create.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: p2.ETag}}}})
	require.NoError(t, err)
	for _, n := range fol {
		out, err := awsClient(n).GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("failover"), Key: aws.String("k")})
		require.NoError(t, err)
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		require.NoError(t, err)
		require.True(t, bytes.Equal(append(append([]byte(nil), p1data...), p2data...), got), "the part acknowledged by the old leader is there")
	}
}
