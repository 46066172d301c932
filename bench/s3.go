package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Protocol speaks the S3 API, path style, every request signed with AWS
// Signature Version 4 by the AWS SDK's signer:
//
//	PUT /{bucket}                         create the bucket (prepare)
//	PUT /{bucket}/{key}  body: the object  200, ETag: the object's MD5
//	GET /{bucket}/{key}                    200 the object
//
// Signing never reads a body, so it costs the same few HMACs for 4 KiB as
// for 16 MiB: puts are UNSIGNED-PAYLOAD, or with SignPayload declare the
// SHA-256 of the value, computed once since every put writes the same
// value (the server still hashes every body to check it); gets declare the
// hash of the empty body.
type s3Protocol struct {
	bucket  string
	region  string
	creds   aws.Credentials
	signer  *v4.Signer // safe for concurrent use; caches the signing key
	putHash string     // the x-amz-content-sha256 of every put
	etag    string     // the ETag every put must answer: the value's MD5, quoted
}

const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func newS3Protocol(cfg S3Config, value []byte) *s3Protocol {
	p := &s3Protocol{
		bucket: cfg.Bucket,
		region: cfg.Region,
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		// S3 encodes the path once, as it is on the wire; the signer
		// would otherwise encode it a second time.
		signer:  v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		putHash: unsignedPayload,
	}
	sum := md5.Sum(value)
	p.etag = `"` + hex.EncodeToString(sum[:]) + `"`
	if cfg.SignPayload {
		sha := sha256.Sum256(value)
		p.putHash = hex.EncodeToString(sha[:])
	}
	return p
}

// sign signs req as of now, for a body whose x-amz-content-sha256 is
// payloadHash.
func (p *s3Protocol) sign(req *http.Request, payloadHash string) (*http.Request, error) {
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := p.signer.SignHTTP(req.Context(), p.creds, req, payloadHash, "s3", p.region, time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

func (p *s3Protocol) objectURL(endpoint, key string) string {
	return endpoint + "/" + p.bucket + "/" + url.PathEscape(key)
}

func (p *s3Protocol) putRequest(ctx context.Context, endpoint, key string, value []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.objectURL(endpoint, key), bytes.NewReader(value))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	return p.sign(req, p.putHash)
}

func (p *s3Protocol) getRequest(ctx context.Context, endpoint, key string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.objectURL(endpoint, key), nil)
	if err != nil {
		return nil, err
	}
	return p.sign(req, emptySHA256)
}

// checkPut checks the ETag, which for an object put in one piece is the
// MD5 of what the server stored.
func (p *s3Protocol) checkPut(h http.Header) error {
	if got := h.Get("ETag"); got != p.etag {
		return fmt.Errorf("put answered ETag %s, not the MD5 of the value, %s", got, p.etag)
	}
	return nil
}

func (p *s3Protocol) checkGet(body, want []byte) error {
	if !bytes.Equal(body, want) {
		return fmt.Errorf("read %d bytes, not the %d written", len(body), len(want))
	}
	return nil
}

// errorName reads the code of S3's error document:
// <Error><Code>SlowDown</Code>...</Error>.
func (p *s3Protocol) errorName(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, ok := bytes.Cut(rest, []byte("</Code>"))
	if !ok || len(code) > 64 || bytes.ContainsAny(code, "<> \t\r\n") {
		return ""
	}
	return string(code)
}

// prepare creates the bucket, unless this access key already has it.
func (p *s3Protocol) prepare(ctx context.Context, hc *http.Client, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var body []byte
	hash := emptySHA256
	if p.region != "us-east-1" { // S3's default region is the one not named
		body = []byte("<CreateBucketConfiguration><LocationConstraint>" + p.region +
			"</LocationConstraint></CreateBucketConfiguration>")
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint+"/"+p.bucket, bytes.NewReader(body))
	if err == nil {
		req, err = p.sign(req, hash)
	}
	if err != nil {
		return fmt.Errorf("creating bucket %q: %v", p.bucket, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("creating bucket %q on %s: %v", p.bucket, endpoint, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return fmt.Errorf("creating bucket %q on %s: %v", p.bucket, endpoint, err)
	}
	code := p.errorName(answer)
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusConflict && code == "BucketAlreadyOwnedByYou":
		return nil
	}
	f := statusFailure(resp.StatusCode, answer)
	if code != "" {
		f.kind += " " + code
	}
	return fmt.Errorf("creating bucket %q on %s: %v", p.bucket, endpoint, strings.TrimSpace(f.Error()))
}
