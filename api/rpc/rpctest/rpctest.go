// Package rpctest starts real minikv nodes in-process, on loopback, each
// serving its RPC front door: the cluster that the tests of the RPC API,
// the Go client and the CLI talk to. Nodes use the memory engine and a
// 10 ms raft tick, so elections take a fraction of a second.
package rpctest

import (
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/server"
	"github.com/minikv-go/minikv/server/servertest"
	"github.com/minikv-go/minikv/storage"
	"github.com/stretchr/testify/require"
)

// quiet drops the nodes' logs: a failing test says what went wrong.
var quiet = slog.New(slog.DiscardHandler)

// Node is one running node and its RPC server.
type Node struct {
	ID   uint64
	Addr string // RPC address
	Node *server.Node

	srv  *rpcapi.Server
	once sync.Once
}

// Kill stops the node as a crash would look to clients: its RPC server
// closes (answering the calls in flight), then the node stops.
func (n *Node) Kill() {
	n.once.Do(func() {
		n.srv.Close()
		n.Node.Close()
	})
}

// Alive reports whether the node has not been killed.
func (n *Node) Alive() bool {
	select {
	case <-n.Node.Done():
		return false
	default:
		return true
	}
}

// Cluster is a set of nodes forming one raft cluster.
type Cluster struct {
	Nodes []*Node
}

// Start starts a cluster of n nodes, each configured by the defaults, the
// test settings, then opts; it waits until one of them leads. Every node
// is killed when the test ends.
func Start(t testing.TB, n int, opts ...func(*server.Config)) *Cluster {
	t.Helper()
	cfgs := make([]server.Config, n)
	lns := make([]net.Listener, n)
	var members []server.Member
	for i := range cfgs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns[i] = ln
		cfg := server.DefaultConfig()
		cfg.ID = uint64(i + 1)
		cfg.DataDir = t.TempDir()
		cfg.Engine = storage.KindMemory
		cfg.LogLevel = "warn"
		cfg.Listen = server.Listen{HTTP: servertest.FreeAddr(t), RPC: ln.Addr().String(), Raft: servertest.FreeAddr(t)}
		cfg.Raft.Tick = server.Duration(10 * time.Millisecond)
		cfg.Limits.RequestTimeout = server.Duration(2 * time.Second)
		cfgs[i] = cfg
		members = append(members, server.Member{ID: cfg.ID, Raft: cfg.Listen.Raft, HTTP: "http://" + cfg.Listen.HTTP, RPC: cfg.Listen.RPC})
	}
	c := &Cluster{}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, nd := range c.Nodes {
			wg.Go(nd.Kill)
		}
		wg.Wait()
	})
	for i, cfg := range cfgs {
		cfg.Cluster.Members = members
		for _, o := range opts {
			o(&cfg)
		}
		require.NoError(t, cfg.Validate())
		node, err := server.Open(cfg, nil, quiet)
		if err != nil {
			lns[i].Close()
		}
		require.NoError(t, err)
		srv := rpcapi.NewServer(node, rpcapi.Options{Logger: quiet})
		go srv.Serve(lns[i])
		c.Nodes = append(c.Nodes, &Node{ID: cfg.ID, Addr: cfg.Listen.RPC, Node: node, srv: srv})
	}
	c.Leader(t)
	return c
}

// Leader waits until a live node leads and has applied what it committed,
// and every live node knows it leads; it returns that node.
func (c *Cluster) Leader(t testing.TB) *Node {
	t.Helper()
	var lead *Node
	require.Eventually(t, func() bool {
		lead = nil
		for _, n := range c.Nodes {
			if !n.Alive() {
				continue
			}
			if ok, _ := n.Node.Ready(); ok && n.Node.Status().Role == "leader" {
				lead = n
			}
		}
		if lead == nil {
			return false
		}
		for _, n := range c.Nodes {
			if n.Alive() && n.Node.Status().Leader != lead.ID {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "no leader elected")
	return lead
}

// Followers returns the live nodes other than the current leader.
func (c *Cluster) Followers(t testing.TB) []*Node {
	t.Helper()
	lead := c.Leader(t)
	var out []*Node
	for _, n := range c.Nodes {
		if n != lead && n.Alive() {
			out = append(out, n)
		}
	}
	return out
}

// Addrs returns every node's RPC address.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr)
	}
	return out
}
