package main

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/minikv-go/minikv/api/rpc/rpctest"
	"github.com/stretchr/testify/require"
)

// oneLine checks that a failure was reported in one line.
func oneLine(t *testing.T, stderr string) {
	t.Helper()
	require.Equal(t, 1, strings.Count(stderr, "\n"), "want one line, got %q", stderr)
}

func TestKVCommands(t *testing.T) {
	cl := rpctest.Start(t, 1)
	ep := "--endpoints=" + cl.Nodes[0].Addr

	code, out, errOut := runCLI("kv", "put", ep, "greeting", "hello")
	require.Equal(t, 0, code, errOut)
	m := regexp.MustCompile(`^version (\d+)\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	ver := m[1]

	code, out, _ = runCLI("kv", "get", ep, "greeting")
	require.Equal(t, 0, code)
	require.Equal(t, "hello\n", out)

	code, out, _ = runCLI("kv", "get", "greeting", ep, "--version", "--stale") // flags after the key
	require.Equal(t, 0, code)
	require.Equal(t, "version "+ver+"\nhello\n", out)

	code, out, _ = runCLI("kv", "get", ep, "--raw", "greeting")
	require.Equal(t, 0, code)
	require.Equal(t, "hello", out)

	t.Run("compare and set", func(t *testing.T) {
		code, _, errOut := runCLI("kv", "put", ep, "--if-version", "1", "greeting", "x")
		require.Equal(t, 1, code)
		oneLine(t, errOut)
		require.Contains(t, errOut, `key "greeting" is at version `+ver+", not 1")

		code, _, errOut = runCLI("kv", "put", ep, "--if-version", "0", "greeting", "x")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "already exists")

		code, out, errOut := runCLI("kv", "put", ep, "--if-version", ver, "greeting", "hi")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "version ")
	})

	t.Run("stdin and ttl", func(t *testing.T) {
		old := kvStdin
		defer func() { kvStdin = old }()
		kvStdin = strings.NewReader("from\nstdin")
		code, _, errOut := runCLI("kv", "put", ep, "--ttl", "1h", "piped", "-")
		require.Equal(t, 0, code, errOut)
		code, out, _ := runCLI("kv", "get", ep, "--version", "piped")
		require.Equal(t, 0, code)
		require.Regexp(t, `^version \d+\nexpires \d{4}-\d\d-\d\dT.*Z\nfrom\nstdin\n$`, out)
	})

	t.Run("scan", func(t *testing.T) {
		for _, kv := range [][2]string{{"s/a", "plain text"}, {"s/b", "tab\there"}, {"s/c", "\x00\xff"}, {"s/d", `"quoted"`}} {
			code, _, errOut := runCLI("kv", "put", ep, kv[0], kv[1])
			require.Equal(t, 0, code, errOut)
		}
		code, out, errOut := runCLI("kv", "scan", ep, "--prefix", "s/")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 4)
		for i, want := range []string{`plain text`, `"tab\there"`, `"\x00\xff"`, `"\"quoted\""`} {
			f := strings.Split(lines[i], "\t")
			require.Len(t, f, 3, lines[i])
			require.Equal(t, "s/"+string(rune('a'+i)), f[0])
			require.Regexp(t, `^\d+$`, f[1])
			require.Equal(t, want, f[2])
		}
		require.Empty(t, errOut)

		code, out, errOut = runCLI("kv", "scan", ep, "--prefix", "s/", "--limit", "2")
		require.Equal(t, 0, code)
		require.Equal(t, 2, strings.Count(out, "\n"))
		require.Equal(t, "more keys follow: continue with --start \"s/c\"\n", errOut)
		code, out, _ = runCLI("kv", "scan", ep, "--prefix", "s/", "--start", "s/c")
		require.Equal(t, 0, code)
		require.Equal(t, 2, strings.Count(out, "\n"))
	})

	t.Run("delete", func(t *testing.T) {
		code, out, _ := runCLI("kv", "del", ep, "greeting")
		require.Equal(t, 0, code)
		require.Equal(t, "deleted\n", out)
		code, out, _ = runCLI("kv", "del", ep, "greeting")
		require.Equal(t, 0, code)
		require.Equal(t, "not found (nothing to delete)\n", out)
		code, _, errOut := runCLI("kv", "get", ep, "greeting")
		require.Equal(t, 1, code)
		require.Equal(t, "minikv kv get: key \"greeting\" not found\n", errOut)
	})

	t.Run("too large", func(t *testing.T) {
		code, _, errOut := runCLI("kv", "put", ep, "big", strings.Repeat("x", 2<<20))
		require.Equal(t, 1, code)
		oneLine(t, errOut)
		require.Contains(t, errOut, "too large")
	})

	t.Run("endpoints from the environment", func(t *testing.T) {
		t.Setenv("MINIKV_ENDPOINTS", cl.Nodes[0].Addr)
		code, out, errOut := runCLI("kv", "get", "s/a")
		require.Equal(t, 0, code, errOut)
		require.Equal(t, "plain text\n", out)
	})
}

func TestKVUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"kv"}, "want a subcommand"},
		{[]string{"kv", "nope"}, `unknown subcommand "nope"`},
		{[]string{"kv", "put", "k"}, "want KEY VALUE"},
		{[]string{"kv", "put", "k", "v", "extra"}, "want KEY VALUE"},
		{[]string{"kv", "put", "--if-version", "x", "k", "v"}, "want a version number"},
		{[]string{"kv", "put", "--ttl", "-1s", "k", "v"}, "--ttl must not be negative"},
		{[]string{"kv", "get"}, "want KEY"},
		{[]string{"kv", "get", "--bogus", "k"}, "flag provided but not defined: -bogus"},
		{[]string{"kv", "del", "a", "b"}, "want KEY"},
		{[]string{"kv", "scan", "k"}, `unexpected argument "k"`},
		{[]string{"kv", "scan", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"kv", "get", "--endpoints", " , ", "k"}, "--endpoints is empty"},
		{[]string{"kv", "get", "--endpoints", "nohost", "k"}, `endpoint "nohost"`},
		{[]string{"kv", "get", "--timeout", "0s", "k"}, "--timeout must be positive"},
	} {
		code, out, errOut := runCLI(tc.args...)
		require.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
		oneLine(t, errOut)
		require.Empty(t, out, "%v", tc.args)
	}

	code, out, _ := runCLI("kv", "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "minikv kv put")
	code, out, _ = runCLI("kv", "get", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Usage: minikv kv get")
	require.Contains(t, out, "-stale")

	// "--" lets a key or value start with a dash.
	code, _, errOut := runCLI("kv", "put", "--endpoints", "127.0.0.1:1", "--timeout", "1s", "--", "-k", "-v")
	require.Equal(t, 1, code, "parsed; fails only for want of a node: %s", errOut)
}

func TestKVUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	code, out, errOut := runCLI("kv", "get", "--endpoints", addr, "k")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	oneLine(t, errOut)
	require.Contains(t, errOut, "minikv kv get: cannot reach the cluster at "+addr)
}
