package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

// newBucket starts a node and creates a bucket on it.
func newBucket(t *testing.T, name string) (*testNode, *awss3.Client) {
	t.Helper()
	n := startSingle(t, s3.Options{})
	c := awsClient(n)
	_, err := c.CreateBucket(ctxT(t), &awss3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	return n, c
}

func getString(t *testing.T, c *awss3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(ctxT(t), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return string(b)
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func TestPutGetHeadDelete(t *testing.T) {
	_, c := newBucket(t, "objects")
	ctx := ctxT(t)
	b := aws.String("objects")
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("doc.txt"), Body: body("hello, world"),
		ContentType: aws.String("text/plain"), ContentEncoding: aws.String("identity"), ContentDisposition: aws.String(`attachment; filename="doc.txt"`),
		ContentLanguage: aws.String("en"), CacheControl: aws.String("max-age=60"), Expires: &expires,
		Metadata: map[string]string{"Colour": "blue", "multi-word": "a b c"}})
	require.NoError(t, err)
	require.Equal(t, `"`+md5hex([]byte("hello, world"))+`"`, *put.ETag)

	get, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("doc.txt")})
	require.NoError(t, err)
	data, _ := io.ReadAll(get.Body)
	get.Body.Close()
	require.Equal(t, "hello, world", string(data))
	require.Equal(t, *put.ETag, *get.ETag)
	require.Equal(t, "text/plain", *get.ContentType)
	require.Equal(t, "identity", *get.ContentEncoding)
	require.Equal(t, `attachment; filename="doc.txt"`, *get.ContentDisposition)
	require.Equal(t, "en", *get.ContentLanguage)
	require.Equal(t, "max-age=60", *get.CacheControl)
	require.Equal(t, expires, get.Expires.UTC())
	require.Equal(t, map[string]string{"colour": "blue", "multi-word": "a b c"}, get.Metadata)
	require.Equal(t, int64(12), *get.ContentLength)
	require.Equal(t, "bytes", *get.AcceptRanges)
	require.WithinDuration(t, time.Now(), *get.LastModified, 5*time.Second)

	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("doc.txt")})
	require.NoError(t, err)
	require.Equal(t, *put.ETag, *head.ETag)
	require.Equal(t, int64(12), *head.ContentLength)
	require.Equal(t, "blue", head.Metadata["colour"])

	// Without a Content-Type, S3 answers binary/octet-stream. (The SDK
	// always sends one.)
	req, _ := http.NewRequest(http.MethodPut, *c.Options().BaseEndpoint+"/objects/plain", nil)
	require.Equal(t, http.StatusOK, signedDo(t, req, []byte("x")).status)
	head, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("plain")})
	require.NoError(t, err)
	require.Equal(t, "binary/octet-stream", *head.ContentType)

	// An empty object has the MD5 of nothing.
	put, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("empty"), Body: body("")})
	require.NoError(t, err)
	require.Equal(t, `"d41d8cd98f00b204e9800998ecf8427e"`, *put.ETag)
	require.Equal(t, "", getString(t, c, "objects", "empty"))

	// Overwrite.
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("doc.txt"), Body: body("v2")})
	require.NoError(t, err)
	require.Equal(t, "v2", getString(t, c, "objects", "doc.txt"))

	// Missing things.
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("nope")})
	requireCode(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("nope")})
	requireCode(t, err, "NotFound", http.StatusNotFound)
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("no-bucket"), Key: aws.String("k")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)

	// Delete, twice: S3 answers 204 both times.
	_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("doc.txt")})
	require.NoError(t, err)
	_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("doc.txt")})
	require.NoError(t, err)
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("doc.txt")})
	requireCode(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("no-bucket"), Key: aws.String("k")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
}

// TestKeysAreTakenLiterally: keys are the decoded path as it is, never
// cleaned or decoded twice.
func TestKeysAreTakenLiterally(t *testing.T) {
	_, c := newBucket(t, "keys")
	ctx := ctxT(t)
	keys := []string{"a//b", "../up", "./dot", "dir/", "dir/sub/", "a+b c", "100%", "%2B", "ünïcödé/ключ", "a?b=c&d", "tab\tand#hash",
		"semi;colon", "~tilde*star'quote(paren)", "/leading"}
	for i, k := range keys {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k), Body: body(fmt.Sprint(i))})
		require.NoError(t, err, k)
	}
	for i, k := range keys {
		require.Equal(t, fmt.Sprint(i), getString(t, c, "keys", k), k)
	}
	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("keys")})
	require.NoError(t, err)
	var got []string
	for _, o := range list.Contents {
		got = append(got, *o.Key)
	}
	require.ElementsMatch(t, keys, got)
}

func TestRanges(t *testing.T) {
	_, c := newBucket(t, "ranges")
	ctx := ctxT(t)
	data := randomBytes(3*testChunkSize + 1000) // several chunks
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("ranges"), Key: aws.String("big"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("ranges"), Key: aws.String("empty"), Body: body("")})
	require.NoError(t, err)
	size := int64(len(data))
	for _, tc := range []struct {
		rng        string
		start, end int64
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=0-99", 0, 99},
		{fmt.Sprintf("bytes=%d-%d", testChunkSize-10, 2*testChunkSize+10), testChunkSize - 10, 2*testChunkSize + 10},
		{"bytes=100-", 100, size - 1},
		{"bytes=-500", size - 500, size - 1},
		{fmt.Sprintf("bytes=%d-%d", size-5, size+1000), size - 5, size - 1}, // an end past EOF is clamped
		{fmt.Sprintf("bytes=-%d", size+10), 0, size - 1},
	} {
		out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("big"), Range: aws.String(tc.rng)})
		require.NoError(t, err, tc.rng)
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		require.NoError(t, err)
		require.Equal(t, data[tc.start:tc.end+1], got, tc.rng)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size), *out.ContentRange)
		require.Equal(t, tc.end-tc.start+1, *out.ContentLength)
	}
	// HEAD with a range describes the range.
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("ranges"), Key: aws.String("big"), Range: aws.String("bytes=10-19")})
	require.NoError(t, err)
	require.Equal(t, int64(10), *head.ContentLength)

	for _, tc := range []struct{ key, rng string }{
		{"big", fmt.Sprintf("bytes=%d-", size)},
		{"big", fmt.Sprintf("bytes=%d-%d", size+1, size+5)},
		{"empty", "bytes=0-0"},
		{"empty", "bytes=-1"},
	} {
		_, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String(tc.key), Range: aws.String(tc.rng)})
		requireCode(t, err, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)
	}
	// The 416 says how big the object is.
	n := c.Options().BaseEndpoint
	req, _ := http.NewRequest(http.MethodGet, *n+"/ranges/big", nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", size))
	a := signedDo(t, req, nil)
	a.requireError(t, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	require.Equal(t, fmt.Sprintf("bytes */%d", size), a.header.Get("Content-Range"))

	// A malformed or multiple range is ignored: the whole object.
	for _, rng := range []string{"bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=x-y"} {
		req, _ := http.NewRequest(http.MethodGet, *n+"/ranges/empty", nil)
		req.Header.Set("Range", rng)
		a := signedDo(t, req, nil)
		require.Equal(t, http.StatusOK, a.status, rng)
	}
}

// readCountingKV counts the store's linearizable reads: each one is a
// round of the read barrier, and an object's record is read that way.
type readCountingKV struct {
	store.KV
	linearizable atomic.Int64
}

func (k *readCountingKV) Get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	if !stale {
		k.linearizable.Add(1)
	}
	return k.KV.Get(ctx, key, stale)
}

// TestGetReadsTheRecordOnce: a GET, a ranged GET and a HEAD (with
// conditions) read the object's record once; the range and the
// conditions are resolved against that read.
func TestGetReadsTheRecordOnce(t *testing.T) {
	counter := &readCountingKV{}
	n := startSingle(t, s3.Options{}, func(k store.KV) store.KV { counter.KV = k; return counter })
	c := awsClient(n)
	ctx := ctxT(t)
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("once")})
	require.NoError(t, err)
	data := randomBytes(3*testChunkSize + 5) // chunked, not inline
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("once"), Key: aws.String("k"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	for _, tc := range []struct {
		method, rng string
		status      int
		length      int
	}{
		{"GET", "", 200, len(data)},
		{"GET", "bytes=10-19", 206, 10},
		{"GET", fmt.Sprintf("bytes=%d-", testChunkSize), 206, len(data) - testChunkSize},
		{"GET", "bytes=-7", 206, 7},
		{"GET", fmt.Sprintf("bytes=%d-", len(data)), 416, -1},
		{"HEAD", "bytes=10-19", 206, 0},
		{"HEAD", "", 200, 0},
	} {
		req := mustRequest(tc.method, n.url+"/once/k", "")
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		req.Header.Set("If-Match", *put.ETag)
		before := counter.linearizable.Load()
		a := signedDo(t, req, nil)
		require.Equal(t, tc.status, a.status, "%s %s: %s", tc.method, tc.rng, a.body)
		if tc.length >= 0 {
			require.Len(t, a.body, tc.length)
		}
		require.Equal(t, int64(1), counter.linearizable.Load()-before, "%s %s: linearizable reads", tc.method, tc.rng)
	}
}

func TestConditionalGet(t *testing.T) {
	_, c := newBucket(t, "cond")
	ctx := ctxT(t)
	b, k := aws.String("cond"), aws.String("k")
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("data")})
	require.NoError(t, err)
	etag := *put.ETag
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: k})
	require.NoError(t, err)
	modified := *head.LastModified
	before, after := modified.Add(-time.Hour), modified.Add(time.Hour)

	type cond struct {
		ifMatch, ifNoneMatch               string
		ifModifiedSince, ifUnmodifiedSince time.Time
	}
	for _, tc := range []struct {
		name   string
		c      cond
		status int // 200, 304 or 412
	}{
		{"If-Match matches", cond{ifMatch: etag}, 200},
		{"If-Match unquoted", cond{ifMatch: strings.Trim(etag, `"`)}, 200},
		{"If-Match star", cond{ifMatch: "*"}, 200},
		{"If-Match list", cond{ifMatch: `"nope", ` + etag}, 200},
		{"If-Match differs", cond{ifMatch: `"nope"`}, 412},
		{"If-None-Match matches", cond{ifNoneMatch: etag}, 304},
		{"If-None-Match differs", cond{ifNoneMatch: `"nope"`}, 200},
		{"If-Modified-Since before", cond{ifModifiedSince: before}, 200},
		{"If-Modified-Since after", cond{ifModifiedSince: after}, 304},
		{"If-Unmodified-Since after", cond{ifUnmodifiedSince: after}, 200},
		{"If-Unmodified-Since before", cond{ifUnmodifiedSince: before}, 412},
		// S3's documented combinations.
		{"If-Match true, If-Unmodified-Since false", cond{ifMatch: etag, ifUnmodifiedSince: before}, 200},
		{"If-None-Match false, If-Modified-Since true", cond{ifNoneMatch: etag, ifModifiedSince: before}, 304},
		{"If-None-Match true, If-Modified-Since false", cond{ifNoneMatch: `"nope"`, ifModifiedSince: after}, 200},
		{"If-Match false wins over If-None-Match", cond{ifMatch: `"nope"`, ifNoneMatch: etag}, 412},
	} {
		in := &awss3.GetObjectInput{Bucket: b, Key: k}
		hin := &awss3.HeadObjectInput{Bucket: b, Key: k}
		if tc.c.ifMatch != "" {
			in.IfMatch, hin.IfMatch = aws.String(tc.c.ifMatch), aws.String(tc.c.ifMatch)
		}
		if tc.c.ifNoneMatch != "" {
			in.IfNoneMatch, hin.IfNoneMatch = aws.String(tc.c.ifNoneMatch), aws.String(tc.c.ifNoneMatch)
		}
		if !tc.c.ifModifiedSince.IsZero() {
			in.IfModifiedSince, hin.IfModifiedSince = &tc.c.ifModifiedSince, &tc.c.ifModifiedSince
		}
		if !tc.c.ifUnmodifiedSince.IsZero() {
			in.IfUnmodifiedSince, hin.IfUnmodifiedSince = &tc.c.ifUnmodifiedSince, &tc.c.ifUnmodifiedSince
		}
		out, err := c.GetObject(ctx, in)
		_, herr := c.HeadObject(ctx, hin)
		switch tc.status {
		case 200:
			require.NoError(t, err, tc.name)
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			require.Equal(t, "data", string(got))
			require.NoError(t, herr, tc.name)
		case 304:
			require.Equal(t, 304, httpStatus(err), "%s: %v", tc.name, err)
			require.Equal(t, 304, httpStatus(herr), "%s: %v", tc.name, herr)
		case 412:
			requireCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
			require.Equal(t, 412, httpStatus(herr), tc.name)
		}
	}
	// A 304 names the version the client has.
	req, _ := http.NewRequest(http.MethodGet, *c.Options().BaseEndpoint+"/cond/k", nil)
	req.Header.Set("If-None-Match", etag)
	a := signedDo(t, req, nil)
	require.Equal(t, http.StatusNotModified, a.status)
	require.Equal(t, etag, a.header.Get("ETag"))
	require.Empty(t, a.body)
}

func TestConditionalPut(t *testing.T) {
	_, c := newBucket(t, "condput")
	ctx := ctxT(t)
	b, k := aws.String("condput"), aws.String("k")
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("one"), IfNoneMatch: aws.String("*")})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("two"), IfNoneMatch: aws.String("*")})
	requireCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("two"), IfMatch: aws.String(`"0123"`)})
	requireCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("two"), IfMatch: put.ETag})
	require.NoError(t, err)
	require.Equal(t, "two", getString(t, c, "condput", "k"))
}

func TestResponseOverrides(t *testing.T) {
	_, c := newBucket(t, "override")
	ctx := ctxT(t)
	b, k := aws.String("override"), aws.String("k")
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x"), ContentType: aws.String("text/plain")})
	require.NoError(t, err)
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: k,
		ResponseContentType: aws.String("application/json"), ResponseContentDisposition: aws.String("attachment"),
		ResponseCacheControl: aws.String("no-cache"), ResponseContentLanguage: aws.String("fr"),
		ResponseContentEncoding: aws.String("gzip")})
	require.NoError(t, err)
	out.Body.Close()
	require.Equal(t, "application/json", *out.ContentType)
	require.Equal(t, "attachment", *out.ContentDisposition)
	require.Equal(t, "no-cache", *out.CacheControl)
	require.Equal(t, "fr", *out.ContentLanguage)
	require.Equal(t, "gzip", *out.ContentEncoding)
}

func TestChecksums(t *testing.T) {
	_, c := newBucket(t, "sums")
	ctx := ctxT(t)
	b := aws.String("sums")
	data := randomBytes(2*testChunkSize + 17)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		k := aws.String("obj-" + string(alg))
		put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(data), ChecksumAlgorithm: alg})
		require.NoError(t, err, alg)
		want := store.Checksum(string(alg), data)
		get, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: k, ChecksumMode: types.ChecksumModeEnabled})
		require.NoError(t, err, alg)
		got, err := io.ReadAll(get.Body) // the SDK validates the checksum as it reads
		get.Body.Close()
		require.NoError(t, err)
		require.Equal(t, data, got)
		head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: k, ChecksumMode: types.ChecksumModeEnabled})
		require.NoError(t, err)
		var gotSum, putSum *string
		switch alg {
		case types.ChecksumAlgorithmCrc32:
			gotSum, putSum = head.ChecksumCRC32, put.ChecksumCRC32
		case types.ChecksumAlgorithmCrc32c:
			gotSum, putSum = head.ChecksumCRC32C, put.ChecksumCRC32C
		case types.ChecksumAlgorithmSha1:
			gotSum, putSum = head.ChecksumSHA1, put.ChecksumSHA1
		case types.ChecksumAlgorithmSha256:
			gotSum, putSum = head.ChecksumSHA256, put.ChecksumSHA256
		case types.ChecksumAlgorithmCrc64nvme:
			gotSum, putSum = head.ChecksumCRC64NVME, put.ChecksumCRC64NVME
		}
		require.NotNil(t, gotSum, alg)
		require.Equal(t, want, *gotSum, alg)
		require.NotNil(t, putSum, alg)
		require.Equal(t, want, *putSum, alg)
		require.Equal(t, types.ChecksumTypeFullObject, head.ChecksumType)
	}
	// Without checksum mode, no checksum headers.
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("obj-SHA256")})
	require.NoError(t, err)
	require.Nil(t, head.ChecksumSHA256)

	// A wrong checksum or Content-MD5 is BadDigest, and nothing is stored.
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("bad"), Body: body("data"),
		ChecksumCRC32: aws.String(store.Checksum(store.ChecksumCRC32, []byte("other")))})
	requireCode(t, err, "BadDigest", http.StatusBadRequest)
	sum := md5.Sum([]byte("other"))
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("bad"), Body: body("data"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
	requireCode(t, err, "BadDigest", http.StatusBadRequest)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("bad"), Body: body("data"), ContentMD5: aws.String("not base64")})
	requireCode(t, err, "InvalidDigest", http.StatusBadRequest)
	_, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("bad")})
	requireCode(t, err, "NotFound", http.StatusNotFound)

	// A right Content-MD5 is fine.
	sum = md5.Sum([]byte("data"))
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("good"), Body: body("data"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
	require.NoError(t, err)
}

func TestDeleteObjects(t *testing.T) {
	_, c := newBucket(t, "multidel")
	ctx := ctxT(t)
	b := aws.String("multidel")
	for i := range 5 {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String(fmt.Sprintf("k%d", i)), Body: body("x")})
		require.NoError(t, err)
	}
	out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k0")}, {Key: aws.String("k1")}, {Key: aws.String("absent")}, {Key: aws.String("")},
	}}})
	require.NoError(t, err)
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, *d.Key)
	}
	require.ElementsMatch(t, []string{"k0", "k1", "absent"}, deleted, "a missing key counts as deleted, as in S3")
	require.Len(t, out.Errors, 1, "the empty key is an error of its own")
	require.Equal(t, "InvalidArgument", *out.Errors[0].Code)

	out, err = c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("k2")}, {Key: aws.String("k3")}}}})
	require.NoError(t, err)
	require.Empty(t, out.Deleted, "quiet: only errors are reported")
	require.Empty(t, out.Errors)

	// Only the "null" version exists: naming another deletes nothing.
	out, err = c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("k4"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")}}}})
	require.NoError(t, err)
	require.Len(t, out.Errors, 1)
	require.Equal(t, "NoSuchVersion", *out.Errors[0].Code)

	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b})
	require.NoError(t, err)
	require.Len(t, list.Contents, 1)
	require.Equal(t, "k4", *list.Contents[0].Key)

	_, err = c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("no-bucket"),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("k")}}}})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)

	// More than 1000 keys, or none, is MalformedXML, as in S3.
	var many []types.ObjectIdentifier
	for i := range 1001 {
		many = append(many, types.ObjectIdentifier{Key: aws.String(fmt.Sprint(i))})
	}
	_, err = c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: many}})
	requireCode(t, err, "MalformedXML", http.StatusBadRequest)
}

func TestCopyObject(t *testing.T) {
	_, c := newBucket(t, "copy")
	ctx := ctxT(t)
	b := aws.String("copy")
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("copy-dst")})
	require.NoError(t, err)
	data := randomBytes(testChunkSize*2 + 5)
	src := "dir/source file+plus"
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String(src), Body: bytes.NewReader(data),
		ContentType: aws.String("image/png"), Metadata: map[string]string{"a": "1"}})
	require.NoError(t, err)
	source := aws.String("copy/" + url.PathEscape(src))

	// COPY: data and metadata.
	out, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("copied"), CopySource: source})
	require.NoError(t, err)
	require.Equal(t, *put.ETag, *out.CopyObjectResult.ETag)
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("copied")})
	require.NoError(t, err)
	require.Equal(t, "image/png", *head.ContentType)
	require.Equal(t, map[string]string{"a": "1"}, head.Metadata)
	require.Equal(t, string(data), getString(t, c, "copy-dst", "copied"))

	// REPLACE: new metadata, same data; copying onto itself is fine then.
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String(src), CopySource: source,
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/plain"), Metadata: map[string]string{"b": "2"}})
	require.NoError(t, err)
	head, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String(src)})
	require.NoError(t, err)
	require.Equal(t, "text/plain", *head.ContentType)
	require.Equal(t, map[string]string{"b": "2"}, head.Metadata)
	require.Equal(t, string(data), getString(t, c, "copy", src))

	// Onto itself without a change is refused, as in S3.
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String(src), CopySource: source})
	requireCode(t, err, "InvalidRequest", http.StatusBadRequest)

	// Conditions on the source.
	future := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		in func(*awss3.CopyObjectInput)
		ok bool
	}{
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfMatch = put.ETag }, true},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(`"nope"`) }, false},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfNoneMatch = put.ETag }, false},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfNoneMatch = aws.String(`"nope"`) }, true},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfModifiedSince = &future }, false},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfModifiedSince = &past }, true},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = &past }, false},
		{func(in *awss3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = &future }, true},
	} {
		in := &awss3.CopyObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("cond"), CopySource: aws.String("copy-dst/copied")}
		tc.in(in)
		_, err := c.CopyObject(ctx, in)
		if tc.ok {
			require.NoError(t, err)
		} else {
			requireCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		}
	}

	// Bad sources.
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String("x"), CopySource: aws.String("copy/missing")})
	requireCode(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String("x"), CopySource: aws.String("no-bucket/k")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String("x"), CopySource: aws.String("justabucket")})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String("x"), CopySource: source, MetadataDirective: "MERGE"})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("no-bucket"), Key: aws.String("x"), CopySource: source})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
}

// minikv stores no tags: every object's tag set is empty, which the aws
// CLI asks for before it copies an object of more than 8 MiB.
func TestGetObjectTaggingAnswersAnEmptySet(t *testing.T) {
	n := startSingle(t, s3.Options{})
	c := awsClient(n)
	ctx := ctxT(t)
	b, k := aws.String("tags"), aws.String("k")
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: k, Body: body("x")})
	require.NoError(t, err)
	out, err := c.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: b, Key: k})
	require.NoError(t, err)
	require.Empty(t, out.TagSet)
	_, err = c.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: b, Key: aws.String("missing")})
	requireCode(t, err, "NoSuchKey", 404)
}
