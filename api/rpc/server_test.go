package rpcapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/api"
	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/api/rpc/rpctest"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// These tests speak the wire protocol with a plain net/rpc client, as a
// client in another program would.

func dial(t *testing.T, addr string) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func put(key, value string) kv.Op {
	return kv.Op{Type: kv.OpPut, Key: []byte(key), Value: []byte(value)}
}

func do(t *testing.T, c *rpc.Client, args rpcapi.DoArgs) rpcapi.DoReply {
	t.Helper()
	var reply rpcapi.DoReply
	require.NoError(t, c.Call("KV.Do", args, &reply))
	return reply
}

func TestSingleNode(t *testing.T) {
	cl := rpctest.Start(t, 1)
	c := dial(t, cl.Nodes[0].Addr)

	r := do(t, c, rpcapi.DoArgs{Ops: []kv.Op{put("a", "1"), put("b", "2"), put("c", "3")}})
	require.Nil(t, r.Err)
	ver := r.Result.Ops[0].Version
	require.NotZero(t, ver)

	var get rpcapi.GetReply
	require.NoError(t, c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("b")}, &get))
	require.Nil(t, get.Err)
	require.Equal(t, "2", string(get.Item.Value))
	require.Equal(t, ver, get.Item.Version)

	t.Run("not found", func(t *testing.T) {
		var get rpcapi.GetReply
		require.NoError(t, c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("nope")}, &get))
		require.Equal(t, "not_found", get.Err.Code)
		require.ErrorIs(t, get.Err.Err(), kv.ErrNotFound)
		require.Contains(t, get.Err.Err().Error(), "nope", "the server's message says which key")
	})

	t.Run("scan", func(t *testing.T) {
		var scan rpcapi.ScanReply
		require.NoError(t, c.Call("KV.Scan", rpcapi.ScanArgs{Request: kv.ScanRequest{Limit: 2}}, &scan))
		require.Nil(t, scan.Err)
		require.Len(t, scan.Result.Items, 2)
		require.Equal(t, "a", string(scan.Result.Items[0].Key))
		require.Equal(t, "c", string(scan.Result.Next))
	})

	t.Run("version mismatch", func(t *testing.T) {
		op := put("a", "x")
		op.CheckVersion, op.IfVersion = true, ver+100
		r := do(t, c, rpcapi.DoArgs{Ops: []kv.Op{put("z", "1"), op}})
		require.Equal(t, "version_mismatch", r.Err.Code)
		var vm *kv.VersionMismatchError
		require.ErrorAs(t, r.Err.Err(), &vm)
		require.Equal(t, kv.VersionMismatchError{Op: 1, Key: []byte("a"), Expected: ver + 100, Actual: ver}, *vm)
		require.Equal(t, kv.CodeVersionMismatch, r.Result.Code, "the result comes along")
	})

	t.Run("too large value", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), cl.Nodes[0].Node.Limits().MaxValueBytes+1)
		r := do(t, c, rpcapi.DoArgs{Ops: []kv.Op{{Type: kv.OpPut, Key: []byte("big"), Value: big}}})
		require.Equal(t, "too_large", r.Err.Code)
		require.ErrorIs(t, r.Err.Err(), kv.ErrTooLarge)
	})

	t.Run("too large scan key", func(t *testing.T) {
		var scan rpcapi.ScanReply
		long := bytes.Repeat([]byte("k"), cl.Nodes[0].Node.Limits().MaxKeyBytes+1)
		require.NoError(t, c.Call("KV.Scan", rpcapi.ScanArgs{Request: kv.ScanRequest{Prefix: long}}, &scan))
		require.ErrorIs(t, scan.Err.Err(), kv.ErrTooLarge)
	})

	t.Run("invalid", func(t *testing.T) {
		r := do(t, c, rpcapi.DoArgs{Kind: kv.CmdTick})
		require.ErrorIs(t, r.Err.Err(), kv.ErrInvalid, "clients cannot propose ticks")
		r = do(t, c, rpcapi.DoArgs{Ops: []kv.Op{put("", "x")}})
		require.ErrorIs(t, r.Err.Err(), kv.ErrInvalid)
	})

	t.Run("session retry applies once", func(t *testing.T) {
		open := do(t, c, rpcapi.DoArgs{Kind: kv.CmdOpenSession})
		require.Nil(t, open.Err)
		sess := kv.Session{ClientID: open.Result.ClientID, Seq: 1}
		op := put("once", "v")
		op.CheckVersion = true // create-only: a second application would fail
		first := do(t, c, rpcapi.DoArgs{Session: sess, Ops: []kv.Op{op}})
		require.Nil(t, first.Err)
		again := do(t, c, rpcapi.DoArgs{Session: sess, Ops: []kv.Op{op}})
		require.Nil(t, again.Err, "the retry gets the first answer")
		require.True(t, again.Result.Duplicate)
		require.Equal(t, first.Result.Index, again.Result.Index)

		r := do(t, c, rpcapi.DoArgs{Session: kv.Session{ClientID: sess.ClientID + 1000, Seq: 1}, Ops: []kv.Op{put("x", "y")}})
		require.ErrorIs(t, r.Err.Err(), kv.ErrSessionExpired)
		r = do(t, c, rpcapi.DoArgs{Kind: kv.CmdCloseSession, Session: kv.Session{ClientID: sess.ClientID}})
		require.Nil(t, r.Err)
	})

	t.Run("unknown method", func(t *testing.T) {
		var reply rpcapi.GetReply
		err := c.Call("KV.Nope", rpcapi.GetArgs{}, &reply)
		var se rpc.ServerError
		require.ErrorAs(t, err, &se)
		// The connection is still usable.
		require.NoError(t, c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("a")}, &reply))
	})
}

func TestRequestSizeLimit(t *testing.T) {
	cl := rpctest.Start(t, 1, func(cfg *server.Config) { cfg.Limits.MaxRequestBytes = 32 << 10 })
	c := dial(t, cl.Nodes[0].Addr)
	var reply rpcapi.DoReply
	big := bytes.Repeat([]byte("x"), 200<<10)
	err := c.Call("KV.Do", rpcapi.DoArgs{Ops: []kv.Op{{Type: kv.OpPut, Key: []byte("k"), Value: big}}}, &reply)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), rpcapi.MsgRequestTooLarge), "got %v", err)

	// The server hung up; a new connection works.
	require.Eventually(t, func() bool {
		var get rpcapi.GetReply
		return errors.Is(c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("k")}, &get), rpc.ErrShutdown)
	}, time.Second, 10*time.Millisecond)
	c = dial(t, cl.Nodes[0].Addr)
	require.Nil(t, do(t, c, rpcapi.DoArgs{Ops: []kv.Op{put("k", "small")}}).Err)
}

func TestScanPagesStayUnderTheSizeLimit(t *testing.T) {
	cl := rpctest.Start(t, 1, func(cfg *server.Config) { cfg.Limits.MaxRequestBytes = 64 << 10 })
	c := dial(t, cl.Nodes[0].Addr)
	val := bytes.Repeat([]byte("v"), 10<<10)
	for i := range 20 {
		require.Nil(t, do(t, c, rpcapi.DoArgs{Ops: []kv.Op{{Type: kv.OpPut, Key: fmt.Appendf(nil, "k%02d", i), Value: val}}}).Err)
	}
	var seen int
	req := kv.ScanRequest{Prefix: []byte("k")}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20)
		var scan rpcapi.ScanReply
		require.NoError(t, c.Call("KV.Scan", rpcapi.ScanArgs{Request: req}, &scan))
		require.Nil(t, scan.Err)
		require.LessOrEqual(t, len(scan.Result.Items), 6, "a page holds at most 64 KiB of values")
		seen += len(scan.Result.Items)
		if scan.Result.Next == nil {
			break
		}
		req.Start = scan.Result.Next
	}
	require.Equal(t, 20, seen, "paging still returns every key")
}

func TestFollowers(t *testing.T) {
	cl := rpctest.Start(t, 3)
	lead := cl.Leader(t)
	f := dial(t, cl.Followers(t)[0].Addr)

	r := do(t, f, rpcapi.DoArgs{Ops: []kv.Op{put("k", "v")}})
	require.Equal(t, "not_leader", r.Err.Code)
	require.Equal(t, lead.ID, r.Err.Leader)
	require.Equal(t, lead.Addr, r.Err.LeaderRPC, "the follower says where to go")
	require.ErrorIs(t, r.Err.Err(), kv.ErrNotLeader)

	r = do(t, dial(t, lead.Addr), rpcapi.DoArgs{Ops: []kv.Op{put("k", "v")}})
	require.Nil(t, r.Err)

	// A linearizable read on a follower sees the write at once.
	var get rpcapi.GetReply
	require.NoError(t, f.Call("KV.Get", rpcapi.GetArgs{Key: []byte("k")}, &get))
	require.Nil(t, get.Err)
	require.Equal(t, r.Result.Index, get.Item.Version)

	var st rpcapi.StatusReply
	require.NoError(t, f.Call("Cluster.Status", rpcapi.StatusArgs{}, &st))
	require.Equal(t, lead.ID, st.Status.Leader)
	require.Len(t, st.Status.Members, 3)
	for i, m := range st.Status.Members {
		require.Equal(t, cl.Nodes[i].Addr, m.RPC)
	}

	var tr rpcapi.TransferLeaderReply
	require.NoError(t, f.Call("Cluster.TransferLeader", rpcapi.TransferLeaderArgs{}, &tr))
	require.Equal(t, "not_leader", tr.Err.Code)
	require.Equal(t, lead.Addr, tr.Err.LeaderRPC)
}

func TestCloseAnswersCallsInFlight(t *testing.T) {
	cl := rpctest.Start(t, 3, func(cfg *server.Config) { cfg.Limits.RequestTimeout = server.Duration(500 * time.Millisecond) })
	lead := cl.Leader(t)
	for _, f := range cl.Followers(t) {
		f.Kill() // no quorum: the leader's proposals hang until the timeout
	}
	c := dial(t, lead.Addr)
	call := c.Go("KV.Do", rpcapi.DoArgs{Ops: []kv.Op{put("k", "v")}}, new(rpcapi.DoReply), nil)
	time.Sleep(100 * time.Millisecond) // the call is in flight

	srv := lead // Kill closes the RPC server first: Close must wait for the call.
	srv.Kill()
	<-call.Done
	require.NoError(t, call.Error, "the call in flight got its answer before the connection closed")
	reply := call.Reply.(*rpcapi.DoReply)
	require.True(t, reply.Err.Code == "timeout" || reply.Err.Code == "not_leader", "got %+v", reply.Err)

	_, err := net.DialTimeout("tcp", lead.Addr, time.Second)
	require.Error(t, err, "no longer accepting")
	err = c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("k")}, new(rpcapi.GetReply))
	require.True(t, errors.Is(err, rpc.ErrShutdown) || errors.Is(err, io.ErrUnexpectedEOF), "the connection is closed: %v", err)
}

func TestMetrics(t *testing.T) {
	cl := rpctest.Start(t, 1)
	reg := prometheus.NewRegistry()
	srv := rpcapi.NewServer(cl.Nodes[0].Node, rpcapi.Options{Metrics: api.NewMetrics(reg)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error)
	go func() { done <- srv.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	do(t, c, rpcapi.DoArgs{Ops: []kv.Op{put("k", "v")}})
	require.NoError(t, c.Call("KV.Get", rpcapi.GetArgs{Key: []byte("missing")}, new(rpcapi.GetReply)))

	counts := map[string]uint64{}
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			counts[strings.Join(labels, " ")] += m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, map[string]uint64{"rpc ok do": 1, "rpc not_found get": 1}, counts)
	require.NoError(t, srv.Close())
	require.ErrorIs(t, <-done, rpcapi.ErrServerClosed)
}
