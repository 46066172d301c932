// Package servertest holds what tests of minikv's front doors need to run
// real nodes in-process: free loopback addresses, and waiting until a
// cluster agrees on its leader.
package servertest

import (
	"net"
	"testing"
	"time"

	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

// FreeAddr returns a loopback address nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// WaitAgreedLeader waits until every node is ready and names the same
// leader, and returns that leader's id.
func WaitAgreedLeader(t testing.TB, nodes ...*server.Node) uint64 {
	t.Helper()
	var lead uint64
	require.Eventually(t, func() bool {
		lead = nodes[0].Status().Leader
		for _, n := range nodes {
			ok, _ := n.Ready()
			if st := n.Status(); !ok || st.Leader == 0 || st.Leader != lead {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "the cluster elects a leader every node knows")
	return lead
}
