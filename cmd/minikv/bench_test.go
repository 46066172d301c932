package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/minikv-go/minikv/bench"
	"github.com/minikv-go/minikv/s3/sigv4"
	"github.com/stretchr/testify/require"
)

// A bad command line exits 2 with one line that says why.
func TestBenchRejectsBadFlags(t *testing.T) {
	ep := "--endpoints=http://127.0.0.1:7100"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{ep, "--op", "scan"}, `unknown operation "scan" (want put, get or mixed)`},
		{[]string{ep, "--target", "redis"}, `unknown target "redis" (want minikv, etcd or s3)`},
		{[]string{ep, "--clients", "0"}, "--clients must be at least 1, not 0"},
		{[]string{ep, "--duration", "-1s"}, "--duration must be positive, not -1s"},
		{[]string{ep, "--duration", "0s"}, "--duration must be positive, not 0s"},
		{[]string{ep, "--warmup", "-1s"}, "--warmup must not be negative"},
		{[]string{ep, "--value-size", "-1"}, "--value-size must not be negative"},
		{[]string{ep, "--keys", "0"}, "--keys must be at least 1"},
		{[]string{ep, "--op", "mixed", "--read-ratio", "1.5"}, "--read-ratio must be between 0 and 1"},
		{[]string{ep, "--read-ratio", "0.9"}, "--read-ratio applies to --op mixed only"},
		{[]string{ep, "--timeout", "-1s"}, "--timeout must not be negative"},
		{[]string{}, "--endpoints is required"},
		{[]string{"--endpoints", " , "}, "--endpoints is required"},
		{[]string{"--endpoints", "ftp://x"}, `endpoint "ftp://x": want http://host:port`},
		{[]string{ep, "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCLI(append([]string{"bench"}, tc.args...)...)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Empty(t, stdout)
		require.True(t, strings.HasPrefix(stderr, "minikv bench: "+tc.want), "%v: %s", tc.args, stderr)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
	}
	code, _, _ := runCLI("bench", "--no-such-flag")
	require.Equal(t, exitUsage, code)
}

// The S3 flags: a bad one exits 2 with one line that says why.
func TestBenchRejectsBadS3Flags(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	ep := "--endpoints=http://127.0.0.1:9000"
	s3 := []string{ep, "--s3", "--access-key", "AK", "--secret-key", "SK"}
	with := func(extra ...string) []string { return append(append([]string{}, s3...), extra...) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{ep, "--s3"}, "--access-key (or $AWS_ACCESS_KEY_ID) is required with --s3"},
		{[]string{ep, "--s3", "--access-key", "AK"}, "--secret-key (or $AWS_SECRET_ACCESS_KEY) is required with --s3"},
		{[]string{"--s3", "--access-key", "AK", "--secret-key", "SK"}, "--endpoints is required"},
		{with("--object-size", "4KB"), `--object-size: size "4KB": want a whole number of bytes with an optional unit B, KiB, MiB or GiB, e.g. 64KiB`},
		{with("--object-size", "1.5MiB"), `--object-size: size "1.5MiB": want a whole number`},
		{with("--object-size", "-4KiB"), `--object-size: size "-4KiB": want a whole number`},
		{with("--object-size", "2GiB"), "--object-size must be at most 1 GiB, not 2GiB"},
		{with("--value-size", "4096"), "--value-size does not apply to --s3: the size is --object-size"},
		{with("--leader-only"), "--leader-only with --s3 needs --rest"},
		{with("--rest", "http://127.0.0.1:7100"), "--rest is only used with --leader-only"},
		{with("--leader-only", "--rest", "ftp://x"), `endpoint "ftp://x": want http://host:port`},
		{with("--bucket", "Bench_Bucket"), `--bucket: bucket name "Bench_Bucket": want lower-case letters`},
		{with("--bucket", "ab"), `--bucket: bucket name "ab": want 3 to 63 characters`},
		{with("--region", ""), "s3: no region"},
		{with("--target", "etcd"), "--s3 and --target etcd disagree"},
		{with("--clients", "0"), "--clients must be at least 1, not 0"},
		{with("--keys", "0"), "--keys must be at least 1"},
		{[]string{ep, "--object-size", "4KiB"}, "--object-size applies to --s3 only"},
		{[]string{ep, "--access-key", "AK"}, "--access-key applies to --s3 only"},
		{[]string{ep, "--bucket", "b"}, "--bucket applies to --s3 only"},
		{[]string{ep, "--sign-payload"}, "--sign-payload applies to --s3 only"},
		{[]string{ep, "--leader-only", "--rest", "http://127.0.0.1:7100"}, "--rest applies to --s3 only"},
		{[]string{ep, "--target", "s3"}, "--access-key (or $AWS_ACCESS_KEY_ID) is required with --s3"},
	} {
		code, stdout, stderr := runCLI(append([]string{"bench"}, tc.args...)...)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Empty(t, stdout)
		require.True(t, strings.HasPrefix(stderr, "minikv bench: "+tc.want), "%v: %s", tc.args, stderr)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
	}
}

// The S3 settings as the flags give them: sizes with units, a keyspace
// that fits the object size, the credentials from the environment.
func TestBenchS3Flags(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "envAK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envSK")
	parse := func(args ...string) bench.Config {
		t.Helper()
		var stderr strings.Builder
		cfg, _, _, code := parseBenchFlags(append([]string{"--endpoints", "http://127.0.0.1:9000,127.0.0.1:9010", "--s3"}, args...), &stderr)
		require.Equal(t, -1, code, stderr.String())
		return cfg
	}
	cfg := parse()
	require.Equal(t, bench.TargetS3, cfg.Target)
	require.Equal(t, bench.S3Config{AccessKey: "envAK", SecretKey: "envSK", Region: "us-east-1", Bucket: "minikv-bench"}, cfg.S3)
	require.Equal(t, 64<<10, cfg.ValueSize, "64 KiB objects by default")
	require.Equal(t, 4096, cfg.Keys, "256 MiB of 64 KiB objects")
	require.Equal(t, []string{"http://127.0.0.1:9000", "127.0.0.1:9010"}, cfg.Endpoints)

	for size, keys := range map[string]int{"4KiB": 10000, "1MiB": 256, "16MiB": 16, "0": 10000, "100": 10000} {
		cfg = parse("--object-size", size)
		require.Equal(t, keys, cfg.Keys, size)
	}
	cfg = parse("--object-size", "16MiB", "--keys", "3", "--access-key", "AK", "--secret-key", "SK",
		"--region", "eu-west-3", "--bucket", "other", "--sign-payload", "--leader-only", "--rest", "http://127.0.0.1:7100, http://127.0.0.1:7110")
	require.Equal(t, 16<<20, cfg.ValueSize)
	require.Equal(t, 3, cfg.Keys)
	require.Equal(t, bench.S3Config{AccessKey: "AK", SecretKey: "SK", Region: "eu-west-3", Bucket: "other", SignPayload: true}, cfg.S3)
	require.True(t, cfg.LeaderOnly)
	require.Equal(t, []string{"http://127.0.0.1:7100", "http://127.0.0.1:7110"}, cfg.Rest)
}

// fakeS3 answers PUT /bucket, and PUT and GET /bucket/key, for requests
// that the repository's SigV4 verifier accepts.
func fakeS3(t *testing.T, accessKey, secretKey string) string {
	v := &sigv4.Verifier{Creds: sigv4.StaticCredentials{accessKey: secretKey}, Region: "us-east-1"}
	var mu sync.Mutex
	data := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, body, err := v.Verify(r)
		var e *sigv4.Error
		if errors.As(err, &e) {
			w.WriteHeader(e.Status)
			fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", e.Code, e.Message)
			return
		}
		require.NoError(t, err)
		b, err := io.ReadAll(body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") == 1:
			// a new bucket, or one of ours: either is fine for the load
		case r.Method == http.MethodPut:
			data[r.URL.Path] = b
			sum := md5.Sum(b)
			w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		case data[r.URL.Path] == nil:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "<Error><Code>NoSuchKey</Code></Error>")
		default:
			_, _ = w.Write(data[r.URL.Path])
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBenchS3Runs(t *testing.T) {
	url := fakeS3(t, "AK", "SK")
	code, stdout, stderr := runCLI("bench", "--s3", "--endpoints", url, "--access-key", "AK", "--secret-key", "SK",
		"--op", "get", "--object-size", "4KiB", "--keys", "10", "--clients", "2", "--duration", "100ms", "--quiet")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "op get  clients 2  object 4 KiB  duration 100ms  endpoints 1")
	require.Contains(t, stdout, "target s3  bucket minikv-bench  connections ")
	require.Regexp(t, `(?m)^preload   10 keys in `, stdout)
	require.Regexp(t, `(?m)^throughput [0-9,]+ ops/s  [0-9.,]+ MiB/s  \([0-9,]+ ops in [0-9.]+s\)  errors 0$`, stdout)

	// The wrong secret: the bucket cannot be created, the run cannot start.
	code, _, stderr = runCLI("bench", "--s3", "--endpoints", url, "--access-key", "AK", "--secret-key", "wrong", "--quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `minikv bench: creating bucket "minikv-bench" on `+url+`: HTTP 403 SignatureDoesNotMatch: `)
}

// fakeKV answers minikv's PUT and GET /v1/kv/{key}; status, when not 200,
// is what every put gets instead.
func fakeKV(t *testing.T, status int) string {
	var mu sync.Mutex
	data := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut && status != http.StatusOK:
			http.Error(w, `{"error":"not today","code":"unavailable"}`, status)
		case r.Method == http.MethodPut:
			data[key] = body
			_, _ = io.WriteString(w, `{"version":1}`)
		case data[key] == nil:
			http.Error(w, `{"error":"key not found","code":"not_found"}`, http.StatusNotFound)
		default:
			_, _ = w.Write(data[key])
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBenchRuns(t *testing.T) {
	url := fakeKV(t, http.StatusOK)
	code, stdout, stderr := runCLI("bench", "--endpoints", url+","+url, "--op", "mixed", "--keys", "20",
		"--clients", "3", "--duration", "100ms", "--value-size", "16")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "op mixed  clients 3  value 16 B  duration 100ms  endpoints 2")
	require.Regexp(t, `(?m)^preload   20 keys in `, stdout)
	require.Regexp(t, `(?m)^throughput [0-9,]+ ops/s  [0-9.,]+ MiB/s  \([0-9,]+ ops in [0-9.]+s\)  errors 0$`, stdout)
	require.Regexp(t, `(?m)^latency   p50 `, stdout)
	require.Regexp(t, `(?m)^run     0\.[0-9]s/100ms  ops [0-9,]+`, stderr, "progress: plain lines, not a terminal")

	code, stdout, stderr = runCLI("bench", "--endpoints", url, "--duration", "100ms", "--json", "--quiet")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	var res struct {
		OK  bool `json:"ok"`
		Run struct {
			Ops int64 `json:"ops"`
		} `json:"run"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.True(t, res.OK)
	require.Positive(t, res.Run.Ops)
}

// A run with errors prints them and exits 1.
func TestBenchReportsErrors(t *testing.T) {
	url := fakeKV(t, http.StatusServiceUnavailable)
	code, stdout, stderr := runCLI("bench", "--endpoints", url, "--duration", "100ms", "--clients", "2", "--quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stdout, "errors in the run: ")
	require.Regexp(t, `(?m)^  HTTP 503 +[0-9,]+  e\.g\. \{"error":"not today","code":"unavailable"\}$`, stdout)
	require.Regexp(t, `^minikv bench: [0-9]+ requests failed\n$`, stderr)

	// Nothing listening: the leader cannot be found, the run cannot start.
	code, _, stderr = runCLI("bench", "--endpoints", "http://127.0.0.1:1", "--leader-only", "--quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "minikv bench: finding the leader: http://127.0.0.1:1: ")
}
