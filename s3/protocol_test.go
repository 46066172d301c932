package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/s3"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestVirtualHostStyle: with a domain, bucket.domain addresses a bucket;
// path style keeps working.
func TestVirtualHostStyle(t *testing.T) {
	const domain = "s3.minikv.test"
	n := startSingle(t, s3.Options{Domain: domain})
	_, port, _ := net.SplitHostPort(n.host)
	// Every name resolves to the node.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, n.host)
	}
	vc := awsClientWith("http://"+domain+":"+port, accessKey, secretKey, func(o *awss3.Options) {
		o.UsePathStyle = false
		o.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dial}}
	})
	ctx := ctxT(t)
	_, err := vc.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("vhost")})
	require.NoError(t, err)
	_, err = vc.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a//b/"), Body: body("virtual")})
	require.NoError(t, err)
	require.Equal(t, "virtual", getString(t, vc, "vhost", "a//b/"))
	list, err := vc.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	require.NoError(t, err)
	require.Equal(t, []string{"a//b/"}, contents(list.Contents))
	buckets, err := vc.ListBuckets(ctx, &awss3.ListBucketsInput{})
	require.NoError(t, err)
	require.Len(t, buckets.Buckets, 1)

	// The same object, path style.
	require.Equal(t, "virtual", getString(t, awsClient(n), "vhost", "a//b/"))
}

// chunkedBody frames payload as one aws-chunked chunk (unsigned), then the
// final chunk and the trailer lines.
func chunkedBody(payload string, trailer ...string) string {
	var b strings.Builder
	if payload != "" {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(payload), payload)
	}
	b.WriteString("0\r\n")
	for _, line := range trailer {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestTrailingChecksums sends aws-chunked bodies with an unsigned trailing
// checksum, as boto3 and the aws CLI do over HTTPS.
func TestTrailingChecksums(t *testing.T) {
	n, c := newBucket(t, "trailer")
	put := func(key, payload string, trailer ...string) rawAnswer {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, n.url+"/trailer/"+key, strings.NewReader(chunkedBody(payload, trailer...)))
		req.Header.Set("Content-Encoding", "aws-chunked,gzip")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(payload)))
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32")
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
			req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", region, time.Now())
		require.NoError(t, err)
		return rawDo(t, req)
	}
	good := store.Checksum(store.ChecksumCRC32, []byte("hello trailer"))
	a := put("good", "hello trailer", "x-amz-checksum-crc32:"+good)
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, good, a.header.Get("X-Amz-Checksum-Crc32"))
	require.Equal(t, "hello trailer", getString(t, c, "trailer", "good"))
	head, err := c.HeadObject(ctxT(t), &awss3.HeadObjectInput{Bucket: aws.String("trailer"), Key: aws.String("good"), ChecksumMode: "ENABLED"})
	require.NoError(t, err)
	require.Equal(t, good, *head.ChecksumCRC32)
	require.Equal(t, "gzip", *head.ContentEncoding, "aws-chunked is the framing of the upload, not an encoding of the object")

	a = put("empty", "", "x-amz-checksum-crc32:"+store.Checksum(store.ChecksumCRC32, nil))
	require.Equal(t, http.StatusOK, a.status, a.body)

	a = put("bad", "hello trailer", "x-amz-checksum-crc32:"+store.Checksum(store.ChecksumCRC32, []byte("other")))
	a.requireError(t, http.StatusBadRequest, "BadDigest")
	a = put("bad", "", "x-amz-checksum-crc32:"+good)
	a.requireError(t, http.StatusBadRequest, "BadDigest")
	a = put("bad", "hello trailer")
	require.Equal(t, http.StatusBadRequest, a.status, a.body)
	_, err = c.HeadObject(ctxT(t), &awss3.HeadObjectInput{Bucket: aws.String("trailer"), Key: aws.String("bad")})
	requireCode(t, err, "NotFound", http.StatusNotFound)
}

// TestBodyMustMatchItsSignature: an object appears only if its body
// verifies, even when the store has all the bytes it expects before the
// verifier gives its verdict.
func TestBodyMustMatchItsSignature(t *testing.T) {
	n, c := newBucket(t, "sigbody")
	for _, size := range []int{0, 10, 3*testChunkSize + 7} {
		// The client signs a payload of size+1 bytes, but size bytes are
		// sent (and Content-Length says size).
		signed := randomBytes(size + 1)
		req, _ := http.NewRequest(http.MethodPut, n.url+"/sigbody/k", bytes.NewReader(signed[:size]))
		sum := sha256.Sum256(signed)
		signHash(t, req, hex.EncodeToString(sum[:]), accessKey, secretKey)
		rawDo(t, req).requireError(t, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
		_, err := c.HeadObject(ctxT(t), &awss3.HeadObjectInput{Bucket: aws.String("sigbody"), Key: aws.String("k")})
		requireCode(t, err, "NotFound", http.StatusNotFound)
	}
	// A body shorter than its Content-Length.
	req, _ := http.NewRequest(http.MethodPut, n.url+"/sigbody/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		req, "UNSIGNED-PAYLOAD", "s3", region, time.Now()))
	req.Body = io.NopCloser(strings.NewReader("data"))
	req.ContentLength = -1 // sent chunked, no length
	rawDo(t, req).requireError(t, http.StatusLengthRequired, "MissingContentLength")
}

func TestMethodsAndRoutes(t *testing.T) {
	n, c := newBucket(t, "routes")
	_, err := c.PutObject(ctxT(t), &awss3.PutObjectInput{Bucket: aws.String("routes"), Key: aws.String("k"), Body: body("v")})
	require.NoError(t, err)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"PATCH", "/routes/k", 405, "MethodNotAllowed"},
		{"OPTIONS", "/routes/k", 405, "MethodNotAllowed"},
		{"PUT", "/", 405, "MethodNotAllowed"},
		{"DELETE", "/", 405, "MethodNotAllowed"},
		{"POST", "/routes", 501, "NotImplemented"},
		{"POST", "/routes/k?select&select-type=2", 501, "NotImplemented"},
		{"POST", "/routes/k?restore", 501, "NotImplemented"},
		{"GET", "/routes/k?torrent", 501, "NotImplemented"},
		{"PUT", "/routes/k?acl", 501, "NotImplemented"},
		{"PUT", "/routes?website", 501, "NotImplemented"},
		{"GET", "/routes/k?partNumber=1", 501, "NotImplemented"},
		{"GET", "/routes?list-type=3", 400, "InvalidArgument"},
		{"GET", "/routes?max-keys=ten", 400, "InvalidArgument"},
		{"GET", "/routes?uploads&max-uploads=-1", 400, "InvalidArgument"},
		{"GET", "/routes/k?uploadId=nope", 404, "NoSuchUpload"},
		{"DELETE", "/routes/k?uploadId=nope", 404, "NoSuchUpload"},
		{"PUT", "/routes/k?partNumber=1&uploadId=nope", 404, "NoSuchUpload"},
		{"PUT", "/routes/k?partNumber=x&uploadId=nope", 400, "InvalidArgument"},
		{"GET", "/routes/k?versionId=3HL4kqtJlcpXroDTDmJ", 400, "InvalidArgument"},
		{"DELETE", "/routes/k?versionId=3HL4kqtJlcpXroDTDmJ", 400, "InvalidArgument"},
		{"GET", "/routes/missing", 404, "NoSuchKey"},
		{"GET", "/no-such-bucket", 404, "NoSuchBucket"},
		{"GET", "/Not_A_Bucket/k", 404, "NoSuchBucket"},
	} {
		req := mustRequest(tc.method, n.url+tc.path, "")
		a := signedDo(t, req, nil)
		a.requireError(t, tc.status, tc.code)
		require.Contains(t, a.body, "<Resource>"+strings.SplitN(tc.path, "?", 2)[0]+"</Resource>")
	}
	// The x-id parameter of aws-sdk-go-v2, and unknown parameters, are
	// ignored.
	a := signedDo(t, mustRequest("GET", n.url+"/routes/k?x-id=GetObject&whatever=1&versionId=null", ""), nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "v", a.body)
}

// TestHeadAnswersAsGet: HEAD is GET without the body. Whatever GET
// refuses (partNumber, ?tagging, ...) HEAD refuses with the same status;
// whatever GET answers, HEAD answers with the same status and length.
func TestHeadAnswersAsGet(t *testing.T) {
	n, c := newBucket(t, "heads")
	_, err := c.PutObject(ctxT(t), &awss3.PutObjectInput{Bucket: aws.String("heads"), Key: aws.String("k"), Body: body("value")})
	require.NoError(t, err)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/heads/k", 200},
		{"/heads/k?partNumber=1", 501},
		{"/heads/k?partNumber=1&versionId=null", 501},
		{"/heads/k?tagging", 200},
		{"/heads/missing?tagging", 404},
		{"/heads/k?attributes", 501},
		{"/heads/k?legal-hold", 501},
		{"/heads/k?acl", 200},
		{"/heads/k?uploadId=nope", 404},
		{"/heads/missing?partNumber=1", 501},
		{"/heads?versioning", 200},
		{"/heads?location", 200},
		{"/heads?policy", 404},
		{"/heads?tagging", 501},
		{"/heads?website", 501},
		{"/heads?uploads", 200},
	} {
		get := signedDo(t, mustRequest("GET", n.url+tc.path, ""), nil)
		head := signedDo(t, mustRequest("HEAD", n.url+tc.path, ""), nil)
		require.Equal(t, tc.status, get.status, "GET %s: %s", tc.path, get.body)
		require.Equal(t, tc.status, head.status, "HEAD %s", tc.path)
		require.Empty(t, head.body, "HEAD %s", tc.path)
		if tc.status == 200 {
			require.Equal(t, strconv.Itoa(len(get.body)), head.header.Get("Content-Length"), "HEAD %s", tc.path)
			require.Equal(t, get.header.Get("Content-Type"), head.header.Get("Content-Type"), "HEAD %s", tc.path)
		}
	}
	// The SDKs' HeadObject with PartNumber.
	_, err = c.HeadObject(ctxT(t), &awss3.HeadObjectInput{Bucket: aws.String("heads"), Key: aws.String("k"), PartNumber: aws.Int32(1)})
	require.Error(t, err)
	require.Equal(t, http.StatusNotImplemented, httpStatus(err), "%v", err)
	// A bucket: HEAD is HeadBucket, GET lists.
	require.Equal(t, http.StatusOK, signedDo(t, mustRequest("HEAD", n.url+"/heads", ""), nil).status)
	require.Equal(t, http.StatusNotFound, signedDo(t, mustRequest("HEAD", n.url+"/no-such-bucket", ""), nil).status)
}

func TestMalformedXMLBodies(t *testing.T) {
	n, c := newBucket(t, "xml")
	ctx := ctxT(t)
	create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("xml"), Key: aws.String("k")})
	require.NoError(t, err)
	huge := "<Delete>" + strings.Repeat("<Object><Key>k</Key></Object>", 100000) + "</Delete>"
	for _, tc := range []struct {
		method, path, body, code string
	}{
		{"POST", "/xml?delete", "", "MalformedXML"},
		{"POST", "/xml?delete", "not xml", "MalformedXML"},
		{"POST", "/xml?delete", "<Delete><Object><Key>k</Key></Object>", "MalformedXML"},
		{"POST", "/xml?delete", "<Other><Object><Key>k</Key></Object></Other>", "MalformedXML"},
		{"POST", "/xml?delete", "<Delete><Object><Key>k</Key></Object></Delete><Delete/>", "MalformedXML"},
		{"POST", "/xml?delete", "<Delete></Delete>", "MalformedXML"},
		{"POST", "/xml?delete", huge, "MalformedXML"},
		{"POST", "/xml/k?uploadId=" + *create.UploadId, "<CompleteMultipartUpload><Part>", "MalformedXML"},
		{"POST", "/xml/k?uploadId=" + *create.UploadId, "<CompleteMultipartUpload/>", "MalformedXML"},
		{"POST", "/xml/k?uploadId=" + *create.UploadId, "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>", "MalformedXML"},
		{"PUT", "/xml2", "<CreateBucketConfiguration><LocationConstraint>", "MalformedXML"},
		{"PUT", "/xml2", "<Nope/>", "MalformedXML"},
	} {
		req := mustRequest(tc.method, n.url+tc.path, "")
		signedDo(t, req, []byte(tc.body)).requireError(t, http.StatusBadRequest, tc.code)
	}
	// A Content-MD5 is checked when there is one (it is not required).
	req := mustRequest("POST", n.url+"/xml?delete", "")
	req.Header.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==") // of the empty string
	signedDo(t, req, []byte("<Delete><Object><Key>k</Key></Object></Delete>")).requireError(t, http.StatusBadRequest, "BadDigest")
	_, err = c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("xml2")})
	requireCode(t, err, "NotFound", http.StatusNotFound)
}

// TestEntityTooLarge: an upload over S3's 5 GiB limit for one PUT is
// refused before its body is sent.
func TestEntityTooLarge(t *testing.T) {
	n, c := newBucket(t, "large")
	create, err := c.CreateMultipartUpload(ctxT(t), &awss3.CreateMultipartUploadInput{Bucket: aws.String("large"), Key: aws.String("k")})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	for _, path := range []string{"/large/k", "/large/k?partNumber=1&uploadId=" + *create.UploadId} {
		const size = 5<<30 + 1
		req, _ := http.NewRequest(http.MethodPut, n.url+path, nil)
		req.ContentLength = size
		req.Header.Set("Expect", "100-continue")
		signHash(t, req, "UNSIGNED-PAYLOAD", accessKey, secretKey)
		var read atomic.Bool
		req.Body = &watchedBody{r: io.LimitReader(zeros{}, size), read: &read}
		resp, err := client.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
		require.Contains(t, string(b), "<Code>EntityTooLarge</Code>")
		require.False(t, read.Load(), "the body was never sent")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	n := startSingle(t, s3.Options{Metrics: api.NewMetrics(reg)})
	c := awsClient(n)
	_, err := c.ListBuckets(ctxT(t), &awss3.ListBucketsInput{})
	require.NoError(t, err)
	_, err = c.HeadBucket(ctxT(t), &awss3.HeadBucketInput{Bucket: aws.String("missing")})
	require.Error(t, err)
	families, err := reg.Gather()
	require.NoError(t, err)
	var labels []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			labels = append(labels, l["api"]+" "+l["op"]+" "+l["code"])
		}
	}
	require.ElementsMatch(t, []string{"s3 ListBuckets ok", "s3 HeadBucket NoSuchBucket"}, labels)
}

// TestSDKOverTLS: over HTTPS, aws-sdk-go-v2 (like boto3 and the aws CLI)
// sends uploads as aws-chunked bodies with unsigned chunks and a trailing
// CRC32 checksum, without Content-Length when the body is a stream.
func TestSDKOverTLS(t *testing.T) {
	n := startSingle(t, s3.Options{})
	tlsSrv := httptest.NewUnstartedServer(n.srv.Config.Handler)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	var modes sync.Map
	inner := tlsSrv.Config.Handler
	tlsSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			modes.Store(r.Header.Get("X-Amz-Content-Sha256")+" "+r.Header.Get("X-Amz-Trailer"), true)
		}
		inner.ServeHTTP(w, r)
	})
	c := awsClientWith(tlsSrv.URL, accessKey, secretKey, func(o *awss3.Options) { o.HTTPClient = tlsSrv.Client() })
	ctx := ctxT(t)
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("tls")})
	require.NoError(t, err)

	data := randomBytes(testChunkSize*2 + 3)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("k"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String("k"), ChecksumMode: "ENABLED"})
	require.NoError(t, err)
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Equal(t, store.Checksum(store.ChecksumCRC32, data), *out.ChecksumCRC32)

	big := randomBytes(6 << 20)
	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 << 20 })
	_, err = up.Upload(ctx, &awss3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("big"), Body: io.NopCloser(bytes.NewReader(big))})
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, []byte(getString(t, c, "tls", "big"))))

	_, trailer := modes.Load("STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-crc32")
	require.True(t, trailer, "the SDK sent trailing checksums")
}
