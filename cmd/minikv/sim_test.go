package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

var digestRE = regexp.MustCompile(`(?m)^trace-digest: ([0-9a-f]{64})$`)

// The same seed prints the same trace digest; the summary line is there.
func TestSimSameSeedSameDigest(t *testing.T) {
	args := []string{"sim", "--seed", "5", "--duration", "2s", "--faults", "all"}
	code1, out1, err1 := runCLI(args...)
	require.Equal(t, 0, code1, err1)
	code2, out2, _ := runCLI(args...)
	require.Equal(t, 0, code2)
	d1, d2 := digestRE.FindStringSubmatch(out1), digestRE.FindStringSubmatch(out2)
	require.NotNil(t, d1, out1)
	require.Equal(t, d1[1], d2[1])
	require.Contains(t, out1, "elections:")
	require.Contains(t, out1, "linearizable")

	_, out3, _ := runCLI("sim", "--seed", "6", "--duration", "2s", "--faults", "all")
	require.NotEqual(t, d1[1], digestRE.FindStringSubmatch(out3)[1])
}

func TestSimSweep(t *testing.T) {
	code, out, errOut := runCLI("sim", "--seeds", "1-6", "--duration", "1s", "--faults", "partition,crash", "--nodes", "3")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "seeds 1-6: 6 runs, no violation")
	require.Contains(t, out, "simulated-seconds per wall-second")
}

func TestSimWritesTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.html")
	code, out, errOut := runCLI("sim", "--seed", "3", "--duration", "1s", "--trace", path)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "trace: "+path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.Contains(string(b), "<html") || strings.Contains(string(b), "<!DOCTYPE"), "not an HTML page")
}

// Bad command lines are refused with exit code 2 and one line of why.
func TestSimRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sim"},
		{"sim", "--seed", "1", "--seeds", "1-3"},
		{"sim", "--seed", "1", "--faults", "meteor"},
		{"sim", "--seeds", "9-3"},
		{"sim", "--seed", "1", "--nodes", "0"},
		{"sim", "--seed", "1", "--no-such-flag"},
		{"sim", "--seeds", "1-3", "--trace", "x.html"},
		{"sim", "--seed", "1", "extra"},
		{"frobnicate"},
	} {
		code, _, errOut := runCLI(args...)
		require.Equal(t, exitUsage, code, "%v", args)
		require.NotEmpty(t, strings.TrimSpace(errOut), "%v must say why", args)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "minikv "))
}

// A run that breaks an invariant exits 1 and prints the seed, the violation
// and the exact command that replays it — and that command replays it.
func TestSimReportsViolationWithReplay(t *testing.T) {
	code, out, errOut := runCLI("sim", "--seeds", "1-40", "--duration", "5s", "--faults", "crash", "--bug", "send-before-sync", "--fail-dir", t.TempDir())
	require.Equal(t, 1, code, "sending before fsync should break some seed in 1-40\n%s", out)
	require.Contains(t, errOut, "VIOLATION (seed ")
	m := regexp.MustCompile(`replay: minikv (sim .*)`).FindStringSubmatch(errOut)
	require.NotNil(t, m, errOut)
	require.Contains(t, m[1], "--bug send-before-sync")

	sweepDigest := regexp.MustCompile(`seed \d+: trace-digest: ([0-9a-f]{64})`).FindStringSubmatch(out)
	require.NotNil(t, sweepDigest, out)

	code2, out2, errOut2 := runCLI(append(strings.Fields(m[1]), "--fail-dir", t.TempDir())...)
	require.Equal(t, 1, code2, "the replay command must fail too\n%s", out2)
	require.Equal(t, sweepDigest[1], digestRE.FindStringSubmatch(out2)[1], "the replay must be the same run")
	firstLine := func(s string) string { return strings.SplitN(s, "\n", 2)[0] }
	require.Equal(t, firstLine(errOut), firstLine(errOut2), "the replay must report the same violation")
}
