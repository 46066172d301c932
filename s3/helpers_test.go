package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minikv-go/minikv/s3"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
	"github.com/minikv-go/minikv/server/servertest"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"
)

// The credentials of every test node.
const (
	accessKey = "minikv-test"
	secretKey = "minikv-test-secret"
	region    = "us-east-1"
)

// testChunkSize keeps objects of a few MiB in many chunks, so that tests
// cross chunk boundaries without moving much data.
const testChunkSize = 64 << 10

// testNode is a real node serving the S3 API on a real loopback listener.
type testNode struct {
	node *server.Node
	st   *store.Store
	srv  *httptest.Server
	url  string // http://127.0.0.1:port
	host string // 127.0.0.1:port
	once sync.Once
}

// nodeConfig is a fast-ticking in-memory node whose S3 API listens on ln.
func nodeConfig(t *testing.T, id uint64, ln net.Listener) server.Config {
	cfg := server.DefaultConfig()
	cfg.ID = id
	cfg.DataDir = t.TempDir()
	cfg.Engine = "memory"
	cfg.Listen = server.Listen{HTTP: servertest.FreeAddr(t), RPC: servertest.FreeAddr(t), Raft: servertest.FreeAddr(t), S3: ln.Addr().String()}
	cfg.Raft.Tick = server.Duration(10 * time.Millisecond)
	cfg.S3.AccessKey, cfg.S3.SecretKey, cfg.S3.Region = accessKey, secretKey, region
	return cfg
}

// startNode opens a node and serves its S3 API on ln until the test ends.
// wrap, if given, wraps the kv the store uses (to watch what it reads).
func startNode(t *testing.T, cfg server.Config, ln net.Listener, opts s3.Options, wrap ...func(store.KV) store.KV) *testNode {
	t.Helper()
	require.NoError(t, cfg.Validate())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := server.Open(cfg, nil, quiet)
	require.NoError(t, err)
	var kv store.KV = n.Internal()
	for _, w := range wrap {
		kv = w(kv)
	}
	st := store.New(kv, store.Options{ChunkSize: testChunkSize})
	v := &sigv4.Verifier{Creds: sigv4.StaticCredentials{cfg.S3.AccessKey: cfg.S3.SecretKey}, Region: cfg.S3.Region}
	if opts.Logger == nil {
		opts.Logger = quiet
		if os.Getenv("MINIKV_S3_TEST_LOG") != "" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	tn := &testNode{node: n, st: st, url: "http://" + ln.Addr().String(), host: ln.Addr().String()}
	tn.srv = httptest.NewUnstartedServer(s3.New(n, st, v, opts))
	tn.srv.Listener.Close()
	tn.srv.Listener = ln
	tn.srv.Start()
	t.Cleanup(tn.stop)
	return tn
}

func (n *testNode) stop() {
	n.once.Do(func() {
		n.srv.Close()
		_ = n.node.Close()
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// startSingle starts a one-node cluster and waits until it leads.
func startSingle(t *testing.T, opts s3.Options, wrap ...func(store.KV) store.KV) *testNode {
	t.Helper()
	ln := listen(t)
	n := startNode(t, nodeConfig(t, 1, ln), ln, opts, wrap...)
	require.Eventually(t, func() bool {
		ok, _ := n.node.Ready()
		return ok && n.node.Status().Role == "leader"
	}, 10*time.Second, 10*time.Millisecond)
	return n
}

// startCluster starts a cluster of size nodes and waits until every node
// knows the leader.
func startCluster(t *testing.T, size int) []*testNode {
	t.Helper()
	lns := make([]net.Listener, size)
	cfgs := make([]server.Config, size)
	var members []server.Member
	for i := range size {
		lns[i] = listen(t)
		cfgs[i] = nodeConfig(t, uint64(i+1), lns[i])
		members = append(members, server.Member{ID: uint64(i + 1), Raft: cfgs[i].Listen.Raft,
			HTTP: "http://" + cfgs[i].Listen.HTTP, RPC: cfgs[i].Listen.RPC, S3: "http://" + cfgs[i].Listen.S3})
	}
	nodes := make([]*testNode, size)
	for i := range size {
		cfgs[i].Cluster.Members = members
		nodes[i] = startNode(t, cfgs[i], lns[i], s3.Options{})
	}
	servers := make([]*server.Node, len(nodes))
	for i, n := range nodes {
		servers[i] = n.node
	}
	servertest.WaitAgreedLeader(t, servers...)
	return nodes
}

// roles splits a cluster into its leader and followers.
func roles(t *testing.T, nodes []*testNode) (*testNode, []*testNode) {
	t.Helper()
	var lead *testNode
	var fol []*testNode
	for _, n := range nodes {
		if n.node.Status().Role == "leader" {
			lead = n
		} else {
			fol = append(fol, n)
		}
	}
	require.NotNil(t, lead)
	return lead, fol
}

// awsClient is an aws-sdk-go-v2 S3 client of n with default settings
// (request and response checksums when supported, CRC32 by default),
// path-style. It is built from an aws.Config made here, as
// config.LoadDefaultConfig would make it, so nothing of the environment
// (such as AWS_CA_BUNDLE) or of ~/.aws applies.
func awsClient(n *testNode, tweak ...func(*awss3.Options)) *awss3.Client {
	return awsClientWith(n.url, accessKey, secretKey, tweak...)
}

func awsClientWith(url, ak, sk string, tweak ...func(*awss3.Options)) *awss3.Client {
	cfg := aws.Config{Region: region, Credentials: aws.NewCredentialsCache(staticCreds{ak, sk}),
		// What config.LoadDefaultConfig sets when nothing says otherwise.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported}
	return awss3.NewFromConfig(cfg, append([]func(*awss3.Options){func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 5
	}}, tweak...)...)
}

type staticCreds struct{ ak, sk string }

func (c staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.ak, SecretAccessKey: c.sk, Source: "test"}, nil
}

// minioClient is a minio-go client of n with default settings: over plain
// HTTP it streams uploads as signed aws-chunked bodies.
func minioClient(t *testing.T, n *testNode) *minio.Client {
	t.Helper()
	c, err := minio.New(n.host, &minio.Options{Creds: miniocreds.NewStaticV4(accessKey, secretKey, ""), Region: region})
	require.NoError(t, err)
	return c
}

// apiCode is the S3 error code of an SDK error ("" if there is none).
func apiCode(err error) string {
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of an SDK error (0 if there is none).
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if err != nil && errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func requireCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, apiCode(err), "%v", err)
	require.Equal(t, status, httpStatus(err), "%v", err)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawAnswer is an HTTP answer, body read.
type rawAnswer struct {
	status int
	header http.Header
	body   string
}

// rawDo sends a request as it is (unsigned unless sign is used).
func rawDo(t *testing.T, req *http.Request) rawAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawAnswer{resp.StatusCode, resp.Header, string(b)}
}

func (a rawAnswer) requireError(t *testing.T, status int, code string) {
	t.Helper()
	require.Equal(t, status, a.status, a.body)
	require.Contains(t, a.header.Get("Content-Type"), "application/xml")
	require.True(t, strings.HasPrefix(a.body, "<?xml"), a.body)
	require.Contains(t, a.body, "<Code>"+code+"</Code>", a.body)
	require.Contains(t, a.body, "<RequestId>"+a.header.Get("X-Amz-Request-Id")+"</RequestId>")
}

func body(s string) io.ReadSeeker { return bytes.NewReader([]byte(s)) }

// sign signs req as an SDK would, with the payload's SHA-256 (payload is
// also set as the body, unless nil).
func sign(t *testing.T, req *http.Request, payload []byte, creds ...string) {
	t.Helper()
	ak, sk := accessKey, secretKey
	if len(creds) == 2 {
		ak, sk = creds[0], creds[1]
	}
	sum := sha256.Sum256(payload)
	if payload != nil {
		req.Body = io.NopCloser(bytes.NewReader(payload))
		req.ContentLength = int64(len(payload))
	}
	signHash(t, req, hex.EncodeToString(sum[:]), ak, sk)
}

// signHash signs req with hash as its payload hash (x-amz-content-sha256).
func signHash(t *testing.T, req *http.Request, hash, ak, sk string) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", hash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, hash, "s3", region, time.Now())
	require.NoError(t, err)
}

// signedDo signs req and sends it.
func signedDo(t *testing.T, req *http.Request, payload []byte) rawAnswer {
	t.Helper()
	sign(t, req, payload)
	return rawDo(t, req)
}
