package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/minikv-go/minikv/api/rpc/rpctest"
	"github.com/stretchr/testify/require"
)

func TestClusterCommands(t *testing.T) {
	cl := rpctest.Start(t, 3)
	lead := cl.Leader(t)
	follower := cl.Followers(t)[0]
	ep := "--endpoints=" + follower.Addr

	code, out, errOut := runCLI("cluster", "status", ep)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, fmt.Sprintf(`^cluster 1: leader %d, term \d+, 3 members\n\n`, lead.ID), out)
	lines := strings.Split(strings.TrimSpace(out), "\n")[2:]
	require.Regexp(t, `^ID\s+ROLE\s+TERM\s+COMMIT\s+APPLIED\s+RAFT\s+HTTP\s+RPC$`, lines[0])
	require.Len(t, lines, 4)
	for i, n := range cl.Nodes {
		role, id := "follower", fmt.Sprint(n.ID)
		if n == lead {
			role, id = "leader", id+`\*`
		}
		require.Regexp(t, fmt.Sprintf(`^%s\s+%s\s+\d+\s+\d+\s+\d+\s+127\.0\.0\.1:\d+\s+http://127\.0\.0\.1:\d+\s+%s$`, id, role, regexp.QuoteMeta(n.Addr)), lines[i+1])
	}

	t.Run("add and remove", func(t *testing.T) {
		// A learner that never comes up: it does not count for quorum.
		code, out, errOut := runCLI("cluster", "add", ep, "--id", "9", "--raft", "127.0.0.1:1", "--http", "127.0.0.1:2", "--rpc", "127.0.0.1:3")
		require.Equal(t, 0, code, errOut)
		require.Equal(t, "added node 9 as a learner; the leader makes it a voter once it has caught up\n", out)

		code, out, _ = runCLI("cluster", "status", ep)
		require.Equal(t, 0, code)
		require.Regexp(t, `(?m)^9\s+unreachable (learner|voter)\s+-\s+-\s+-\s+127\.0\.0\.1:1\s+http://127\.0\.0\.1:2\s+127\.0\.0\.1:3$`, out)

		code, _, errOut = runCLI("cluster", "add", ep, "--id", "9", "--raft", "127.0.0.1:1", "--http", "127.0.0.1:2", "--rpc", "127.0.0.1:3")
		require.Equal(t, 1, code)
		oneLine(t, errOut)
		require.Contains(t, errOut, "already a member")

		code, out, errOut = runCLI("cluster", "remove", ep, "9")
		require.Equal(t, 0, code, errOut)
		require.Equal(t, "removed node 9\n", out)
		code, _, errOut = runCLI("cluster", "remove", ep, "9")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "not a member")
	})

	t.Run("transfer", func(t *testing.T) {
		code, out, errOut := runCLI("cluster", "transfer", ep, "--to", fmt.Sprint(follower.ID))
		require.Equal(t, 0, code, errOut)
		require.Equal(t, fmt.Sprintf("node %d leads now\n", follower.ID), out)
		require.Equal(t, follower, cl.Leader(t))

		code, out, errOut = runCLI("cluster", "transfer", ep)
		require.Equal(t, 0, code, errOut)
		require.NotEqual(t, fmt.Sprintf("node %d leads now\n", follower.ID), out, "another voter")

		code, _, errOut = runCLI("cluster", "transfer", ep, "--to", "42")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "not a voter")
	})
}

func TestClusterUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "status", "extra"}, `unexpected argument "extra"`},
		{[]string{"cluster", "add", "--raft", "a:1", "--http", "a:2", "--rpc", "a:3"}, "--id must be a positive node id"},
		{[]string{"cluster", "add", "--id", "4", "--http", "a:2", "--rpc", "a:3"}, `--raft "": want host:port`},
		{[]string{"cluster", "add", "--id", "4", "--raft", "a:1", "--http", "a:2"}, `--rpc "": want host:port`},
		{[]string{"cluster", "add", "--id", "4", "--raft", "a:1", "--rpc", "a:3"}, `--http "": want http://host:port`},
		{[]string{"cluster", "add", "--id", "4", "--raft", "a:1", "--http", "a:2", "--rpc", "a:3", "--s3", "ftp://a:4"}, `--s3 "ftp://a:4": want http://host:port`},
		{[]string{"cluster", "add", "--id", "x"}, `invalid value "x" for flag -id`},
		{[]string{"cluster", "remove"}, "want the ID"},
		{[]string{"cluster", "remove", "zero"}, `"zero" is not a node id`},
		{[]string{"cluster", "remove", "0"}, `"0" is not a node id`},
		{[]string{"cluster", "transfer", "2"}, "use --to ID"},
		{[]string{"cluster", "status", "--nope"}, "flag provided but not defined"},
	} {
		code, out, errOut := runCLI(tc.args...)
		require.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
		oneLine(t, errOut)
		require.Empty(t, out, "%v", tc.args)
	}
}
