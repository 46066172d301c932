package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minikv-go/minikv/api/rpc/rpctest"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

func newClient(t *testing.T, endpoints ...string) *Client {
	t.Helper()
	c, err := New(endpoints, Options{Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSingleNode(t *testing.T) {
	cl := rpctest.Start(t, 1)
	c := newClient(t, cl.Addrs()...)
	ctx := context.Background()

	v1, err := c.Put(ctx, []byte("k"), []byte("v1"))
	require.NoError(t, err)
	it, err := c.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, kv.Item{Key: []byte("k"), Value: []byte("v1"), Version: v1}, it)

	t.Run("compare and set", func(t *testing.T) {
		v2, err := c.Put(ctx, []byte("k"), []byte("v2"), IfVersion(v1))
		require.NoError(t, err)
		_, err = c.Put(ctx, []byte("k"), []byte("v3"), IfVersion(v1))
		var vm *kv.VersionMismatchError
		require.ErrorAs(t, err, &vm)
		require.ErrorIs(t, err, kv.ErrVersionMismatch)
		require.Equal(t, v1, vm.Expected)
		require.Equal(t, v2, vm.Actual)
		_, err = c.Put(ctx, []byte("k"), []byte("v3"), IfAbsent())
		require.ErrorIs(t, err, kv.ErrVersionMismatch)
		it, err := c.Get(ctx, []byte("k"), Stale())
		require.NoError(t, err)
		require.Equal(t, "v2", string(it.Value))
	})

	t.Run("not found", func(t *testing.T) {
		_, err := c.Get(ctx, []byte("missing"))
		require.ErrorIs(t, err, kv.ErrNotFound)
		found, err := c.Delete(ctx, []byte("missing"))
		require.NoError(t, err)
		require.False(t, found)
	})

	t.Run("delete", func(t *testing.T) {
		_, err := c.Put(ctx, []byte("gone"), []byte("x"))
		require.NoError(t, err)
		found, err := c.Delete(ctx, []byte("gone"))
		require.NoError(t, err)
		require.True(t, found)
		_, err = c.Get(ctx, []byte("gone"))
		require.ErrorIs(t, err, kv.ErrNotFound)
	})

	t.Run("too large and invalid", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), kv.DefaultMaxValueBytes+1)
		_, err := c.Put(ctx, []byte("big"), big)
		require.ErrorIs(t, err, kv.ErrTooLarge)
		_, err = c.Put(ctx, nil, []byte("x"))
		require.ErrorIs(t, err, kv.ErrInvalid)
		_, err = c.Delete(ctx, []byte("k"), TTL(time.Second))
		require.ErrorIs(t, err, kv.ErrInvalid)
		// The session survives refusals.
		_, err = c.Put(ctx, []byte("after"), []byte("ok"))
		require.NoError(t, err)
	})

	t.Run("batch and scan", func(t *testing.T) {
		res, err := c.Batch(ctx, []kv.Op{
			{Type: kv.OpPut, Key: []byte("s/1"), Value: []byte("a")},
			{Type: kv.OpPut, Key: []byte("s/2"), Value: []byte("b")},
			{Type: kv.OpGet, Key: []byte("s/1")},
		})
		require.NoError(t, err)
		require.Len(t, res.Ops, 3)
		require.Equal(t, "a", string(res.Ops[2].Value), "a get sees the puts before it")

		page, err := c.Scan(ctx, kv.ScanRequest{Prefix: []byte("s/"), Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		require.Equal(t, "s/2", string(page.Next))
		page, err = c.Scan(ctx, kv.ScanRequest{Prefix: []byte("s/"), Start: page.Next})
		require.NoError(t, err)
		require.Equal(t, "b", string(page.Items[0].Value))
		require.Nil(t, page.Next)

		res, err = c.Batch(ctx, []kv.Op{
			{Type: kv.OpPut, Key: []byte("s/3"), Value: []byte("c")},
			{Type: kv.OpDelete, Key: []byte("s/1"), CheckVersion: true, IfVersion: 1},
		})
		var vm *kv.VersionMismatchError
		require.ErrorAs(t, err, &vm)
		require.Equal(t, 1, vm.Op)
		require.Equal(t, kv.CodeVersionMismatch, res.Code)
		_, err = c.Get(ctx, []byte("s/3"))
		require.ErrorIs(t, err, kv.ErrNotFound, "nothing of a failed batch is written")
	})

	t.Run("ttl", func(t *testing.T) {
		_, err := c.Put(ctx, []byte("brief"), []byte("x"), TTL(time.Minute))
		require.NoError(t, err)
		it, err := c.Get(ctx, []byte("brief"))
		require.NoError(t, err)
		require.NotZero(t, it.ExpiresAt)
	})
}

// A write whose answer is lost is retried with the same session and
// sequence number, and applied once.
func TestLostReplyAppliesOnce(t *testing.T) {
	cl := rpctest.Start(t, 1)
	c := newClient(t, cl.Addrs()...)
	ctx := context.Background()
	v1, err := c.Put(ctx, []byte("k"), []byte("v1")) // the session is open now
	require.NoError(t, err)

	var dropped atomic.Int32
	c.testDropReply = func(method string) bool { return method == "KV.Do" && dropped.Add(1) == 1 }
	v2, err := c.Put(ctx, []byte("k"), []byte("v2"), IfVersion(v1))
	require.NoError(t, err, "applied twice, the conditional put would fail its condition")
	require.EqualValues(t, 2, dropped.Load(), "the put was sent twice")
	it, err := c.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, v2, it.Version)
	require.Equal(t, "v2", string(it.Value))
}

func TestExpiredSession(t *testing.T) {
	cl := rpctest.Start(t, 1)
	ctx := context.Background()

	t.Run("before anything was sent: a new session", func(t *testing.T) {
		c := newClient(t, cl.Addrs()...)
		c.idle = []*session{{id: 1 << 40}} // a session the cluster does not know
		_, err := c.Put(ctx, []byte("k"), []byte("v"))
		require.NoError(t, err)
		require.Len(t, c.idle, 1)
		require.NotEqual(t, uint64(1<<40), c.idle[0].id)
	})

	t.Run("after an attempt in doubt: unknown outcome", func(t *testing.T) {
		c := newClient(t, cl.Addrs()...)
		c.idle = []*session{{id: 1 << 40}}
		var dropped atomic.Int32
		c.testDropReply = func(method string) bool { return method == "KV.Do" && dropped.Add(1) == 1 }
		_, err := c.Put(ctx, []byte("k"), []byte("v"))
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, kv.ErrSessionExpired)
		require.Empty(t, c.idle, "the dead session is dropped")
	})
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, addr)
	start := time.Now()
	_, err = c.Put(context.Background(), []byte("k"), []byte("v"))
	require.ErrorIs(t, err, ErrUnavailable)
	require.NotErrorIs(t, err, ErrUnknownOutcome, "nothing was sent")
	require.Less(t, time.Since(start), 5*time.Second, "fails well before the timeout")

	_, err = New(nil, Options{})
	require.Error(t, err)
	_, err = New([]string{"no-port"}, Options{})
	require.Error(t, err)
}

func TestContextDeadline(t *testing.T) {
	cl := rpctest.Start(t, 3, func(cfg *server.Config) { cfg.Limits.RequestTimeout = server.Duration(time.Second) })
	lead := cl.Leader(t)
	for _, f := range cl.Followers(t) {
		f.Kill() // no quorum: nothing commits
	}
	c := newClient(t, lead.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, []byte("k"))
	require.ErrorIs(t, err, kv.ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestThreeNodes(t *testing.T) {
	cl := rpctest.Start(t, 3)
	ctx := context.Background()
	lead := cl.Leader(t)
	follower := cl.Followers(t)[0]

	t.Run("reads on a follower", func(t *testing.T) {
		c := newClient(t, follower.Addr)
		_, err := c.Get(ctx, []byte("nothing"))
		require.ErrorIs(t, err, kv.ErrNotFound)
		require.Empty(t, c.leader, "the follower answered the read itself")
	})

	t.Run("a follower's address is enough", func(t *testing.T) {
		c := newClient(t, follower.Addr)
		v, err := c.Put(ctx, []byte("k"), []byte("v"))
		require.NoError(t, err)
		require.Equal(t, lead.Addr, c.leader)
		require.ElementsMatch(t, cl.Addrs(), c.Endpoints(), "learned every member")
		it, err := c.Get(ctx, []byte("k"))
		require.NoError(t, err)
		require.Equal(t, v, it.Version)
	})

	t.Run("status and leader transfer", func(t *testing.T) {
		c := newClient(t, follower.Addr)
		st, err := c.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, lead.ID, st.Leader)
		require.Len(t, st.Members, 3)
		ns, err := c.NodeStatus(ctx, follower.Addr)
		require.NoError(t, err)
		require.Equal(t, "follower", ns.Role)

		to, err := c.TransferLeader(ctx, follower.ID)
		require.NoError(t, err)
		require.Equal(t, follower.ID, to)
		require.Equal(t, follower, cl.Leader(t))
		_, err = c.Put(ctx, []byte("k"), []byte("after transfer"))
		require.NoError(t, err)
	})

	t.Run("add and remove a member", func(t *testing.T) {
		c := newClient(t, cl.Addrs()...)
		// A learner that never comes up: it does not count for quorum.
		m := server.Member{ID: 9, Raft: "127.0.0.1:1", HTTP: "http://127.0.0.1:1", RPC: "127.0.0.1:1"}
		require.NoError(t, c.AddMember(ctx, m))
		st, err := c.Status(ctx)
		require.NoError(t, err)
		require.Len(t, st.Members, 4)
		require.Equal(t, m, st.Members[3].Member)
		// It should stay a learner, but the server promotes it (see
		// TestUnreachableLearnerIsNotPromoted in api/rpc).
		require.Contains(t, []string{"learner", "voter"}, st.Members[3].Role)
		err = c.AddMember(ctx, m)
		require.ErrorIs(t, err, kv.ErrInvalid, "already a member")
		require.NoError(t, c.RemoveMember(ctx, 9))
		err = c.RemoveMember(ctx, 9)
		require.ErrorIs(t, err, kv.ErrNotFound)
	})
}

// The leader dies after applying a write and before the client hears the
// answer: the client retries on the new leader with the same session and
// sequence number, and the write is applied once.
func TestLeaderKilledMidWrite(t *testing.T) {
	cl := rpctest.Start(t, 3)
	c := newClient(t, cl.Addrs()...)
	ctx := context.Background()
	v1, err := c.Put(ctx, []byte("k"), []byte("v1"))
	require.NoError(t, err)

	lead := cl.Leader(t)
	var killed atomic.Bool
	c.testDropReply = func(method string) bool {
		if method != "KV.Do" || !killed.CompareAndSwap(false, true) {
			return false
		}
		lead.Kill()
		return true
	}
	v2, err := c.Put(ctx, []byte("k"), []byte("v2"), IfVersion(v1))
	require.NoError(t, err, "applied twice, the conditional put would fail its condition")
	require.True(t, killed.Load())
	newLead := cl.Leader(t)
	require.NotEqual(t, lead, newLead)

	it, err := c.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, v2, it.Version, "the version the client got is the key's: one application")
	require.Equal(t, "v2", string(it.Value))

	// And the client goes on writing through the new leader.
	v3, err := c.Put(ctx, []byte("k"), []byte("v3"), IfVersion(v2))
	require.NoError(t, err)
	require.Greater(t, v3, v2)
}

// The leader dies between writes: the next write waits for the election
// and succeeds.
func TestLeaderKilled(t *testing.T) {
	cl := rpctest.Start(t, 3)
	c := newClient(t, cl.Nodes[0].Addr) // learns the others
	ctx := context.Background()
	_, err := c.Put(ctx, []byte("a"), []byte("1"))
	require.NoError(t, err)
	cl.Leader(t).Kill()
	_, err = c.Put(ctx, []byte("b"), []byte("2"))
	require.NoError(t, err)
	it, err := c.Get(ctx, []byte("a"))
	require.NoError(t, err)
	require.Equal(t, "1", string(it.Value))
}

func TestConcurrentClients(t *testing.T) {
	cl := rpctest.Start(t, 3)
	ctx := context.Background()
	shared := newClient(t, cl.Addrs()...)
	const workers, rounds = 4, 8
	_, err := shared.Put(ctx, []byte("counter"), []byte("0"))
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		own := newClient(t, cl.Addrs()[w%3])
		for _, c := range []*Client{shared, own} {
			wg.Go(func() {
				for i := range rounds {
					// Increment the shared counter with compare-and-set.
					for {
						it, err := c.Get(ctx, []byte("counter"))
						if err != nil {
							errs <- err
							return
						}
						var n int
						fmt.Sscan(string(it.Value), &n)
						_, err = c.Put(ctx, []byte("counter"), fmt.Append(nil, n+1), IfVersion(it.Version))
						if err == nil {
							break
						}
						if !errors.Is(err, kv.ErrVersionMismatch) {
							errs <- err
							return
						}
					}
					key := fmt.Appendf(nil, "w%d/%p/%d", w, c, i)
					if _, err := c.Put(ctx, key, key); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	it, err := shared.Get(ctx, []byte("counter"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(2*workers*rounds), string(it.Value), "no increment lost or doubled")
	page, err := shared.Scan(ctx, kv.ScanRequest{Prefix: []byte("w")})
	require.NoError(t, err)
	require.Len(t, page.Items, 2*workers*rounds)
	require.LessOrEqual(t, len(shared.idle), workers, "one session per concurrent write at most")
}
