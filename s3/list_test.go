package s3_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"
)

// listKeys are the keys of the listing tests, put in this order; listings
// return them in UTF-8 binary order.
var listKeys = []string{
	"photos/2025/a.jpg", "photos/2025/b.jpg", "photos/2026/c.jpg", "photos/d.jpg",
	"docs/readme.md", "docs/x/y/z.txt", "top.txt", "Zebra", "a b+c", "ü-umlaut", "émile",
}

func sortedListKeys() []string {
	ks := append([]string(nil), listKeys...)
	sort.Strings(ks) // byte order = UTF-8 binary order
	return ks
}

func newListBucket(t *testing.T) *awss3.Client {
	t.Helper()
	_, c := newBucket(t, "list")
	for _, k := range listKeys {
		_, err := c.PutObject(ctxT(t), &awss3.PutObjectInput{Bucket: aws.String("list"), Key: aws.String(k), Body: body(k)})
		require.NoError(t, err)
	}
	return c
}

func TestListObjectsV2(t *testing.T) {
	c := newListBucket(t)
	ctx := ctxT(t)
	b := aws.String("list")

	all, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b})
	require.NoError(t, err)
	var keys []string
	for _, o := range all.Contents {
		keys = append(keys, *o.Key)
		require.Equal(t, int64(len(*o.Key)), *o.Size)
		require.Equal(t, `"`+md5hex([]byte(*o.Key))+`"`, *o.ETag)
		require.Equal(t, types.ObjectStorageClassStandard, o.StorageClass)
		require.Nil(t, o.Owner, "no owner without fetch-owner")
	}
	require.Equal(t, sortedListKeys(), keys)
	require.Equal(t, int32(len(listKeys)), *all.KeyCount)
	require.False(t, *all.IsTruncated)
	require.NotNil(t, all.Prefix, "<Prefix> is always there")

	// Pages of 3, by continuation token, with fetch-owner.
	var paged []string
	var token *string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(3), ContinuationToken: token, FetchOwner: aws.Bool(true)})
		require.NoError(t, err)
		require.LessOrEqual(t, len(out.Contents), 3)
		for _, o := range out.Contents {
			paged = append(paged, *o.Key)
			require.Equal(t, accessKey, *o.Owner.DisplayName)
		}
		if !*out.IsTruncated {
			require.Nil(t, out.NextContinuationToken)
			break
		}
		token = out.NextContinuationToken
	}
	require.Equal(t, sortedListKeys(), paged)

	// The SDK's paginator does the same.
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(4)})
	var n int
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		require.NoError(t, err)
		n += len(out.Contents)
	}
	require.Equal(t, len(listKeys), n)

	// Delimiter: common prefixes, each counted once.
	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Equal(t, []string{"docs/", "photos/"}, prefixes(out.CommonPrefixes))
	require.Equal(t, []string{"Zebra", "a b+c", "top.txt", "émile", "ü-umlaut"}, contents(out.Contents))
	require.Equal(t, int32(7), *out.KeyCount)

	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("photos/"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Equal(t, []string{"photos/2025/", "photos/2026/"}, prefixes(out.CommonPrefixes))
	require.Equal(t, []string{"photos/d.jpg"}, contents(out.Contents))
	require.Equal(t, "photos/", *out.Prefix)

	// Pages of common prefixes never repeat one.
	var seen []string
	token = nil
	for {
		out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("photos/"), Delimiter: aws.String("/"),
			MaxKeys: aws.Int32(1), ContinuationToken: token})
		require.NoError(t, err)
		seen = append(seen, prefixes(out.CommonPrefixes)...)
		seen = append(seen, contents(out.Contents)...)
		if !*out.IsTruncated {
			break
		}
		token = out.NextContinuationToken
	}
	require.Equal(t, []string{"photos/2025/", "photos/2026/", "photos/d.jpg"}, seen)

	// start-after.
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, StartAfter: aws.String("photos/2026/c.jpg")})
	require.NoError(t, err)
	require.Equal(t, []string{"photos/d.jpg", "top.txt", "émile", "ü-umlaut"}, contents(out.Contents))
	require.Equal(t, "photos/2026/c.jpg", *out.StartAfter)

	// encoding-type=url encodes keys and prefixes.
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, EncodingType: types.EncodingTypeUrl, Prefix: aws.String("a b")})
	require.NoError(t, err)
	require.Len(t, out.Contents, 1)
	require.Equal(t, "a+b%2Bc", *out.Contents[0].Key)
	dec, err := url.QueryUnescape(*out.Contents[0].Key)
	require.NoError(t, err)
	require.Equal(t, "a b+c", dec)
	require.Equal(t, "a+b", *out.Prefix)

	// max-keys=0 is an empty page.
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(0)})
	require.NoError(t, err)
	require.Empty(t, out.Contents)
	require.Equal(t, int32(0), *out.KeyCount)

	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("no-bucket")})
	requireCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, ContinuationToken: aws.String("!!not a token!!")})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(-1)})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, EncodingType: "base64"})
	requireCode(t, err, "InvalidArgument", http.StatusBadRequest)
}

func TestListObjectsV1(t *testing.T) {
	c := newListBucket(t)
	ctx := ctxT(t)
	b := aws.String("list")

	var keys []string
	var marker *string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		out, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: b, MaxKeys: aws.Int32(4), Marker: marker})
		require.NoError(t, err)
		require.Nil(t, out.NextMarker, "no NextMarker without a delimiter, as in S3")
		for _, o := range out.Contents {
			keys = append(keys, *o.Key)
			require.Equal(t, accessKey, *o.Owner.DisplayName, "v1 always has the owner")
		}
		if !*out.IsTruncated {
			break
		}
		marker = out.Contents[len(out.Contents)-1].Key
	}
	require.Equal(t, sortedListKeys(), keys)

	// With a delimiter, NextMarker continues the listing.
	var seen []string
	marker = nil
	for {
		out, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), Marker: marker})
		require.NoError(t, err)
		seen = append(seen, prefixes(out.CommonPrefixes)...)
		seen = append(seen, contents(out.Contents)...)
		if !*out.IsTruncated {
			break
		}
		require.NotNil(t, out.NextMarker)
		marker = out.NextMarker
	}
	sort.Strings(seen)
	require.Equal(t, []string{"Zebra", "a b+c", "docs/", "photos/", "top.txt", "émile", "ü-umlaut"}, seen)
}

func TestListObjectVersions(t *testing.T) {
	c := newListBucket(t)
	ctx := ctxT(t)
	var keys []string
	var marker *string
	for {
		out, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("list"), MaxKeys: aws.Int32(5), KeyMarker: marker})
		require.NoError(t, err)
		for _, v := range out.Versions {
			keys = append(keys, *v.Key)
			require.Equal(t, "null", *v.VersionId)
			require.True(t, *v.IsLatest)
		}
		require.Empty(t, out.DeleteMarkers)
		if !*out.IsTruncated {
			break
		}
		marker = out.NextKeyMarker
	}
	require.Equal(t, sortedListKeys(), keys)

	// A test suite's clean-up: list versions, delete them all, delete the
	// bucket.
	out, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("list")})
	require.NoError(t, err)
	var ids []types.ObjectIdentifier
	for _, v := range out.Versions {
		ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
	}
	del, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("list"), Delete: &types.Delete{Objects: ids}})
	require.NoError(t, err)
	require.Empty(t, del.Errors)
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("list")})
	require.NoError(t, err)
}

func TestListManyKeys(t *testing.T) {
	_, c := newBucket(t, "many")
	ctx := ctxT(t)
	const total = 1100
	sem := make(chan struct{}, 16)
	errs := make(chan error, total)
	for i := range total {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("many"), Key: aws.String(fmt.Sprintf("k%05d", i)), Body: body("")})
			errs <- err
		}()
	}
	for range total {
		require.NoError(t, <-errs)
	}
	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("many"), MaxKeys: aws.Int32(5000)})
	require.NoError(t, err)
	require.Len(t, out.Contents, 1000, "a page holds at most 1000 keys")
	require.Equal(t, int32(1000), *out.MaxKeys)
	require.True(t, *out.IsTruncated)
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("many"), ContinuationToken: out.NextContinuationToken})
	require.NoError(t, err)
	require.Len(t, out.Contents, 100)
	require.Equal(t, "k01000", *out.Contents[0].Key)
}

func prefixes(cps []types.CommonPrefix) []string {
	var out []string
	for _, p := range cps {
		out = append(out, *p.Prefix)
	}
	return out
}

func contents(objs []types.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, *o.Key)
	}
	return out
}
