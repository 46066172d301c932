package s3_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minikv-go/minikv/s3"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/stretchr/testify/require"
)

func TestAuthenticationErrors(t *testing.T) {
	n, c := newBucket(t, "auth")
	ctx := ctxT(t)
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("auth"), Key: aws.String("k"), Body: body("secret data")})
	require.NoError(t, err)

	wrongSecret := awsClientWith(n.url, accessKey, "not-the-secret")
	_, err = wrongSecret.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("auth"), Key: aws.String("k")})
	requireCode(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
	_, err = wrongSecret.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("auth"), Key: aws.String("k"), Body: body("overwritten")})
	requireCode(t, err, "SignatureDoesNotMatch", http.StatusForbidden)

	unknownKey := awsClientWith(n.url, "nobody", secretKey)
	_, err = unknownKey.ListBuckets(ctx, &awss3.ListBucketsInput{})
	requireCode(t, err, "InvalidAccessKeyId", http.StatusForbidden)

	// Anonymous requests are refused with S3's XML error.
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, n.url+"/auth/k", strings.NewReader("anonymous"))
		rawDo(t, req).requireError(t, http.StatusForbidden, "AccessDenied")
	}
	// A HEAD error has no body.
	req, _ := http.NewRequest(http.MethodHead, n.url+"/auth/k", nil)
	a := rawDo(t, req)
	require.Equal(t, http.StatusForbidden, a.status)
	require.Empty(t, a.body)

	// A clock 20 minutes off.
	req, _ = http.NewRequest(http.MethodGet, n.url+"/auth/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		req, emptySHA256, "s3", region, time.Now().Add(-20*time.Minute))
	require.NoError(t, err)
	rawDo(t, req).requireError(t, http.StatusForbidden, "RequestTimeTooSkewed")

	require.Equal(t, "secret data", getString(t, c, "auth", "k"), "no failed request changed anything")
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestPresignedURLs(t *testing.T) {
	n, c := newBucket(t, "presign")
	ctx := ctxT(t)
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String("dir/file name+1.txt"), Body: body("shared")})
	require.NoError(t, err)

	ps := awss3.NewPresignClient(c)
	get, err := ps.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String("dir/file name+1.txt")},
		awss3.WithPresignExpires(5*time.Minute))
	require.NoError(t, err)
	resp, err := http.Get(get.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.Equal(t, "shared", string(b))

	// A presigned PUT, sent by plain net/http.
	put, err := ps.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String("uploaded")})
	require.NoError(t, err)
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("via presigned put"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	a := rawDo(t, req)
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "via presigned put", getString(t, c, "presign", "uploaded"))

	// A tampered URL and an expired one are refused.
	resp, err = http.Get(strings.Replace(get.URL, "presign/dir", "presign/Dir", 1))
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, string(b), "<Code>SignatureDoesNotMatch</Code>")

	req, _ = http.NewRequest(http.MethodGet, n.url+"/presign/uploaded?X-Amz-Expires=60", nil)
	url, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, req, "UNSIGNED-PAYLOAD", "s3", region, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodGet, url, nil)
	a = rawDo(t, req)
	a.requireError(t, http.StatusForbidden, "AccessDenied")
	require.Contains(t, a.body, "Request has expired")
}

// TestPresignedURLsV2: boto3 presigns with Signature Version 2 by
// default (AWSAccessKeyId, Expires, Signature in the query), path style
// and virtual-host style.
func TestPresignedURLsV2(t *testing.T) {
	const domain = "s3.minikv.test"
	n := startSingle(t, s3.Options{Domain: domain})
	c := awsClient(n)
	ctx := ctxT(t)
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("presign2")})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("presign2"), Key: aws.String("dir/file name+1.txt"), Body: body("shared")})
	require.NoError(t, err)

	get := func(req *http.Request) rawAnswer {
		t.Helper()
		req.Host = req.URL.Host // what the client signed; the connection goes to the node
		req.URL.Host = n.host
		return rawDo(t, req)
	}
	req, _ := http.NewRequest(http.MethodGet, n.url+"/presign2/dir/file%20name%2B1.txt?response-content-type=text%2Fplain", nil)
	a := get(signer.PreSignV2(*req, accessKey, secretKey, 300, false))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "shared", a.body)
	require.Equal(t, "text/plain", a.header.Get("Content-Type"))

	_, port, _ := net.SplitHostPort(n.host)
	req, _ = http.NewRequest(http.MethodGet, "http://presign2."+domain+":"+port+"/dir/file%20name%2B1.txt", nil)
	a = get(signer.PreSignV2(*req, accessKey, secretKey, 300, true))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "shared", a.body)

	// A presigned PUT.
	req, _ = http.NewRequest(http.MethodPut, n.url+"/presign2/uploaded", strings.NewReader("via a SigV2 URL"))
	a = get(signer.PreSignV2(*req, accessKey, secretKey, 300, false))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "via a SigV2 URL", getString(t, c, "presign2", "uploaded"))

	// Tampered, expired, a wrong secret.
	req, _ = http.NewRequest(http.MethodGet, n.url+"/presign2/uploaded", nil)
	u := signer.PreSignV2(*req, accessKey, secretKey, 300, false).URL.String()
	req, _ = http.NewRequest(http.MethodGet, strings.Replace(u, "/uploaded", "/dir/file%20name%2B1.txt", 1), nil)
	rawDo(t, req).requireError(t, http.StatusForbidden, "SignatureDoesNotMatch")
	req, _ = http.NewRequest(http.MethodGet, n.url+"/presign2/uploaded", nil)
	req = signer.PreSignV2(*req, accessKey, secretKey, -60, false)
	a = rawDo(t, req)
	a.requireError(t, http.StatusForbidden, "AccessDenied")
	require.Contains(t, a.body, "Request has expired")
	req, _ = http.NewRequest(http.MethodGet, n.url+"/presign2/uploaded", nil)
	rawDo(t, signer.PreSignV2(*req, accessKey, "wrong-secret", 300, false)).requireError(t, http.StatusForbidden, "SignatureDoesNotMatch")
}

// TestExpectContinue: a request that asks for "100 Continue" and fails
// authentication is answered before its body is sent; one that passes
// gets its body read.
func TestExpectContinue(t *testing.T) {
	n, _ := newBucket(t, "expect")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	for _, tc := range []struct {
		name   string
		creds  []string
		status int
		read   bool
	}{
		{"good signature", nil, http.StatusOK, true},
		{"bad signature", []string{accessKey, "wrong-secret"}, http.StatusForbidden, false},
	} {
		payload := []byte("a body that waits for 100 Continue")
		req, _ := http.NewRequest(http.MethodPut, n.url+"/expect/k", nil)
		sign(t, req, payload, tc.creds...)
		var read atomic.Bool
		req.Body = &watchedBody{r: strings.NewReader(string(payload)), read: &read}
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		require.NoError(t, err, tc.name)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode, tc.name)
		require.Equal(t, tc.read, read.Load(), tc.name)
	}
}

type watchedBody struct {
	r    io.Reader
	read *atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *watchedBody) Close() error { return nil }

// TestEveryAnswerIsNamed: request ids and the server name on every
// answer, errors included.
func TestEveryAnswerIsNamed(t *testing.T) {
	n := startSingle(t, s3.Options{})
	ids := map[string]bool{}
	for _, req := range []*http.Request{
		mustRequest(http.MethodGet, n.url+"/", ""),
		mustRequest(http.MethodGet, n.url+"/no-bucket/k", ""),
		mustRequest(http.MethodHead, n.url+"/no-bucket", ""),
	} {
		a := signedDo(t, req, nil)
		id := a.header.Get("X-Amz-Request-Id")
		require.Len(t, id, 16)
		require.False(t, ids[id], "request ids are unique")
		ids[id] = true
		require.NotEmpty(t, a.header.Get("X-Amz-Id-2"))
		require.Equal(t, "minikv", a.header.Get("Server"))
	}
	// Unauthenticated too.
	a := rawDo(t, mustRequest(http.MethodGet, n.url+"/", ""))
	require.Len(t, a.header.Get("X-Amz-Request-Id"), 16)
}

func mustRequest(method, url, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	if body == "" {
		req.Body, req.ContentLength = nil, 0
	}
	return req
}
