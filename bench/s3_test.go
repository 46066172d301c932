package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/stretchr/testify/require"
)

const (
	testAccessKey = "AKBENCH"
	testSecretKey = "bench-secret-key"
)

// fakeS3 is an in-memory S3 API that authenticates every request with the
// repository's own SigV4 verifier, and reads every body through the
// verifier's reader, so that a signed payload hash is checked too: what the
// load generator sends is really verified, not merely accepted.
type fakeS3 struct {
	*httptest.Server
	v *sigv4.Verifier

	mu      sync.Mutex
	buckets map[string][]byte                    // bucket → the CreateBucket body
	objects map[string][]byte                    // "bucket/key" → data
	modes   map[string]map[sigv4.PayloadMode]int // "PUT object" → payload modes seen

	puts, gets, creates, conflicts atomic.Int64 // requests answered 200 (409)
	denied                         atomic.Int64 // requests the verifier refused
	requests                       atomic.Int64

	// Knobs, set before the server starts.
	slowDownEvery int64 // answer 503 SlowDown to every n-th object put
	wrongETag     bool  // answer puts with an ETag that is not the MD5
}

func newFakeS3(t *testing.T, region string, options ...func(*fakeS3)) *fakeS3 {
	f := &fakeS3{
		v: &sigv4.Verifier{
			Creds:  sigv4.StaticCredentials{testAccessKey: testSecretKey},
			Region: region,
			Now:    time.Now,
		},
		buckets: map[string][]byte{},
		objects: map[string][]byte{},
		modes:   map[string]map[sigv4.PayloadMode]int{},
	}
	for _, o := range options {
		o(f)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	auth, body, err := f.v.Verify(r)
	if err != nil {
		f.denied.Add(1)
		var e *sigv4.Error
		if errors.As(err, &e) {
			s3Error(w, e.Status, e.Code)
		} else {
			s3Error(w, http.StatusForbidden, "AccessDenied")
		}
		return
	}
	defer body.Close()
	bucket, key, isObject := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op := r.Method + " object"
	if !isObject {
		op = r.Method + " bucket"
	}
	f.mu.Lock()
	if f.modes[op] == nil {
		f.modes[op] = map[sigv4.PayloadMode]int{}
	}
	f.modes[op][auth.PayloadMode]++
	f.mu.Unlock()

	data, err := io.ReadAll(body) // to the end: a signed payload's hash is checked there
	if err != nil {
		var e *sigv4.Error
		if errors.As(err, &e) {
			s3Error(w, e.Status, e.Code)
			return
		}
		s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, haveBucket := f.buckets[bucket]
	switch {
	case r.Method == http.MethodPut && !isObject:
		if haveBucket {
			f.conflicts.Add(1)
			s3Error(w, http.StatusConflict, "BucketAlreadyOwnedByYou")
			return
		}
		f.buckets[bucket] = data
		f.creates.Add(1)
	case !haveBucket:
		s3Error(w, http.StatusNotFound, "NoSuchBucket")
	case r.Method == http.MethodPut:
		if f.slowDownEvery > 0 && n%f.slowDownEvery == 0 {
			s3Error(w, http.StatusServiceUnavailable, "SlowDown")
			return
		}
		f.objects[bucket+"/"+key] = data
		sum := md5.Sum(data)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		if f.wrongETag {
			etag = `"0123"`
		}
		w.Header().Set("ETag", etag)
		f.puts.Add(1)
	case r.Method == http.MethodGet:
		v, ok := f.objects[bucket+"/"+key]
		if !ok {
			s3Error(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		f.gets.Add(1)
		_, _ = w.Write(v)
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
	}
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>fake</Message></Error>", code)
}

func (f *fakeS3) payloadModes(op string) map[sigv4.PayloadMode]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[sigv4.PayloadMode]int{}
	for m, n := range f.modes[op] {
		out[m] = n
	}
	return out
}

func (f *fakeS3) objectCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.objects)
}

func s3Config(op Op, endpoints ...string) Config {
	cfg := testConfig(op, endpoints...)
	cfg.Target = TargetS3
	cfg.ValueSize = 4 << 10
	cfg.Keys = 20
	cfg.S3 = S3Config{AccessKey: testAccessKey, SecretKey: testSecretKey, Region: "us-east-1", Bucket: "bench-bucket"}
	return cfg
}

func TestS3Put(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	res := run(t, s3Config(OpPut, srv.URL))

	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Zero(t, srv.denied.Load(), "every request verifies")
	require.Equal(t, int64(1), srv.creates.Load(), "the bucket is created first")
	require.Positive(t, res.Run.Ops)
	require.Equal(t, srv.puts.Load(), res.Run.Ops)
	require.Equal(t, map[sigv4.PayloadMode]int{sigv4.PayloadUnsigned: int(res.Run.Ops)}, srv.payloadModes("PUT object"))
	require.Equal(t, map[sigv4.PayloadMode]int{sigv4.PayloadSigned: 1}, srv.payloadModes("PUT bucket"), "the empty body's hash")
	require.Equal(t, 20, srv.objectCount())
	require.LessOrEqual(t, res.Connections, int64(4), "one keep-alive connection per client")

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "op put  clients 4  object 4 KiB  duration 200ms  endpoints 1")
	require.Contains(t, out.String(), "target s3  bucket bench-bucket  connections ")
	require.Regexp(t, `(?m)^throughput [0-9,]+ ops/s  [0-9.,]+ MiB/s  \([0-9,]+ ops in [0-9.]+s\)  errors 0$`, out.String())

	// A second run finds its bucket: BucketAlreadyOwnedByYou is no error.
	res = run(t, s3Config(OpPut, srv.URL))
	require.True(t, res.OK())
	require.Equal(t, int64(1), srv.creates.Load())
	require.Equal(t, int64(1), srv.conflicts.Load())
}

func TestS3GetPreloadsAndChecks(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	cfg := s3Config(OpGet, srv.URL)
	cfg.ValueSize = 100 << 10
	res := run(t, cfg)

	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Zero(t, srv.denied.Load())
	require.Equal(t, int64(20), res.Preload.Ops)
	require.Equal(t, int64(20), srv.puts.Load(), "a get run writes only in the preload")
	require.Positive(t, res.Run.Ops)
	require.Equal(t, srv.gets.Load(), res.Run.Ops)
	require.Equal(t, map[sigv4.PayloadMode]int{sigv4.PayloadSigned: int(res.Run.Ops)}, srv.payloadModes("GET object"), "gets sign the empty body's hash")

	// Every object holds the whole value.
	srv.mu.Lock()
	for _, v := range srv.objects {
		require.Len(t, v, 100<<10)
	}
	srv.mu.Unlock()
}

func TestS3Mixed(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	cfg := s3Config(OpMixed, srv.URL)
	cfg.ReadRatio = 0.7
	res := run(t, cfg)
	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Positive(t, res.Run.Gets.Count())
	require.Positive(t, res.Run.Puts.Count())
	require.Equal(t, srv.gets.Load(), int64(res.Run.Gets.Count()))
	require.Zero(t, srv.denied.Load())
}

// With SignPayload the puts declare the value's SHA-256, and the verifier,
// which hashes every body as it streams, accepts them; a body that is not
// the value is refused, so the hash is really checked.
func TestS3SignPayload(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	cfg := s3Config(OpPut, srv.URL)
	cfg.S3.SignPayload = true
	res := run(t, cfg)
	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Equal(t, map[sigv4.PayloadMode]int{sigv4.PayloadSigned: int(res.Run.Ops)}, srv.payloadModes("PUT object"))

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "bucket bench-bucket  payload signed  connections ")

	value := []byte("the value")
	p := newS3Protocol(cfg.S3, value)
	sum := sha256.Sum256(value)
	require.Equal(t, hex.EncodeToString(sum[:]), p.putHash)
	req, err := p.putRequest(context.Background(), srv.URL, "tampered", []byte("not the value"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "XAmzContentSHA256Mismatch", p.errorName(body))
}

func TestS3Region(t *testing.T) {
	srv := newFakeS3(t, "eu-west-3")
	cfg := s3Config(OpPut, srv.URL)
	cfg.S3.Region = "eu-west-3"
	res := run(t, cfg)
	require.True(t, res.OK(), "%+v", res.Run.Errors.Kinds())
	require.Zero(t, srv.denied.Load())
	srv.mu.Lock()
	require.Contains(t, string(srv.buckets["bench-bucket"]), "<LocationConstraint>eu-west-3</LocationConstraint>")
	srv.mu.Unlock()

	// Signed for a region the server does not answer for: refused.
	other := newFakeS3(t, "eu-west-3")
	cfg = s3Config(OpPut, other.URL)
	cfg.S3.Region = "ap-south-1"
	_, err := Run(context.Background(), cfg)
	require.ErrorContains(t, err, `creating bucket "bench-bucket" on `+other.URL+`: HTTP 400 AuthorizationHeaderMalformed: `)
}

// A wrong secret: the verifier refuses the bucket's creation, and the run
// does not start.
func TestS3WrongSecret(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	cfg := s3Config(OpPut, srv.URL)
	cfg.S3.SecretKey = "not-the-secret"
	_, err := Run(context.Background(), cfg)
	require.ErrorContains(t, err, `creating bucket "bench-bucket" on `+srv.URL+`: HTTP 403 SignatureDoesNotMatch: `)
	require.Equal(t, int64(1), srv.denied.Load())

	cfg.S3.AccessKey = "AKNOBODY"
	_, err = Run(context.Background(), cfg)
	require.ErrorContains(t, err, "HTTP 403 InvalidAccessKeyId")
}

// An S3 error's code is part of its kind.
func TestS3CountsErrorsByCode(t *testing.T) {
	srv := newFakeS3(t, "us-east-1", func(f *fakeS3) { f.slowDownEvery = 3 })
	res := run(t, s3Config(OpPut, srv.URL))
	require.False(t, res.OK())
	require.Positive(t, res.Run.Ops)
	kinds := res.Run.Errors.Kinds()
	require.Len(t, kinds, 1)
	require.Equal(t, "HTTP 503 SlowDown", kinds[0].Kind)
	require.Contains(t, kinds[0].Example, "<Code>SlowDown</Code>")
	require.Equal(t, uint64(res.Run.Ops), res.Run.Latency.Count(), "failed requests are not in the latencies")
}

func TestS3ChecksTheETag(t *testing.T) {
	srv := newFakeS3(t, "us-east-1", func(f *fakeS3) { f.wrongETag = true })
	res := run(t, s3Config(OpPut, srv.URL))
	require.False(t, res.OK())
	require.Zero(t, res.Run.Ops)
	kinds := res.Run.Errors.Kinds()
	require.Len(t, kinds, 1)
	require.Equal(t, "wrong answer", kinds[0].Kind)
	require.Contains(t, kinds[0].Example, `put answered ETag "0123", not the MD5 of the value`)
}

// fakeREST answers minikv's GET /v1/cluster as node id, with the given
// leader and members.
func fakeREST(t *testing.T, id, leader uint64, members func() []clusterMember) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/cluster" {
			http.NotFound(w, r)
			return
		}
		role := "follower"
		if id == leader {
			role = "leader"
		}
		_ = json.NewEncoder(w).Encode(clusterStatus{ID: id, Role: role, Leader: leader, Members: members()})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestS3LeaderOnly(t *testing.T) {
	s3a, s3b := newFakeS3(t, "us-east-1"), newFakeS3(t, "us-east-1")
	var named bool // whether the members name their S3 addresses
	var restA, restB string
	members := func() []clusterMember {
		ms := []clusterMember{{ID: 1, HTTP: restA}, {ID: 2, HTTP: restB}}
		if named {
			ms[0].S3, ms[1].S3 = strings.TrimPrefix(s3a.URL, "http://"), s3b.URL
		}
		return ms
	}
	restA, restB = fakeREST(t, 1, 2, members), fakeREST(t, 2, 2, members)

	// The follower is asked first; it names the leader, node 2, whose
	// entry names its S3 address.
	named = true
	cfg := s3Config(OpPut, s3a.URL, s3b.URL)
	cfg.LeaderOnly, cfg.Rest = true, []string{restA, restB}
	res := run(t, cfg)
	require.True(t, res.OK())
	require.Equal(t, []string{s3b.URL}, res.Endpoints)
	require.Zero(t, s3a.requests.Load())
	require.Equal(t, res.Run.Ops, s3b.puts.Load())
	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out))
	require.Contains(t, out.String(), "leader-only "+s3b.URL)

	// No member names an S3 address: the leader's position in Rest is its
	// position in Endpoints.
	named = false
	res = run(t, cfg)
	require.Equal(t, []string{s3b.URL}, res.Endpoints)
	cfg.Rest = []string{restB}
	cfg.Endpoints = []string{s3b.URL}
	res = run(t, cfg)
	require.Equal(t, []string{s3b.URL}, res.Endpoints, "the leader answers for itself")

	// Positions that do not match cannot be used.
	cfg.Rest = []string{restA, restB}
	cfg.Endpoints = []string{s3a.URL}
	_, err := Run(context.Background(), cfg)
	require.ErrorContains(t, err, "finding the leader: "+restA+": the leader, node 2, names no S3 address")

	// Nobody answers: the run does not start.
	cfg.Rest = []string{"http://127.0.0.1:1"}
	_, err = Run(context.Background(), cfg)
	require.ErrorContains(t, err, "finding the leader: http://127.0.0.1:1: ")

	// An S3 endpoint itself cannot be asked.
	_, err = FindLeader(context.Background(), http.DefaultClient, TargetS3, []string{s3a.URL})
	require.ErrorContains(t, err, "a s3 endpoint cannot be asked who leads")
}

func TestS3JSON(t *testing.T) {
	srv := newFakeS3(t, "us-east-1")
	res := run(t, s3Config(OpPut, srv.URL))
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(b), testSecretKey)
	var got struct {
		Target string
		S3     struct {
			Bucket, Region, AccessKey string
		}
		Run struct {
			Ops       int64
			OpsPerSec float64 `json:"ops_per_s"`
			BytesPerS float64 `json:"bytes_per_s"`
		}
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "s3", got.Target)
	require.Equal(t, "bench-bucket", got.S3.Bucket)
	require.Equal(t, "us-east-1", got.S3.Region)
	require.InDelta(t, got.Run.OpsPerSec*4096, got.Run.BytesPerS, 1e-6*got.Run.BytesPerS)
}

func TestS3RejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.S3.AccessKey = "" }, "s3: no access key"},
		{func(c *Config) { c.S3.SecretKey = "" }, "s3: no secret key"},
		{func(c *Config) { c.S3.Region = "" }, "s3: no region"},
		{func(c *Config) { c.S3.Region = "EU<west>" }, `s3: region "EU<west>"`},
		{func(c *Config) { c.S3.Bucket = "Bench" }, `bucket name "Bench": want lower-case letters`},
		{func(c *Config) { c.S3.Bucket = "ab" }, `bucket name "ab": want 3 to 63 characters`},
		{func(c *Config) { c.S3.Bucket = "-ab" }, `bucket name "-ab": want lower-case`},
		{func(c *Config) { c.LeaderOnly = true }, "s3: leader-only needs rest endpoints"},
		{func(c *Config) { c.Rest = []string{"ftp://x"} }, `endpoint "ftp://x"`},
		{func(c *Config) { c.Target, c.Rest = TargetMinikv, []string{"http://a:1"} }, "rest endpoints are for finding the leader of an s3 target"},
		{func(c *Config) { c.ValueSize = MaxValueSize + 1 }, "value size must be at most 1 GiB"},
	} {
		cfg := s3Config(OpPut, "http://127.0.0.1:1")
		tc.change(&cfg)
		_, err := Run(context.Background(), cfg)
		require.ErrorContains(t, err, tc.want)
	}
	require.NoError(t, CheckBucketName("minikv-bench.2"))
}
