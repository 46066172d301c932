package client

import (
	"context"
	"time"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/kv"
)

// A WriteOption changes a Put or Delete.
type WriteOption func(*kv.Op)

// IfVersion makes a write conditional: it applies only if the key's
// version is v, where 0 means the key must not exist. Otherwise the write
// fails with a *kv.VersionMismatchError saying the actual version.
func IfVersion(v uint64) WriteOption {
	return func(op *kv.Op) { op.CheckVersion, op.IfVersion = true, v }
}

// IfAbsent makes a Put create-only: IfVersion(0).
func IfAbsent() WriteOption { return IfVersion(0) }

// TTL makes a Put's key expire d after the write (by the leader's clock).
func TTL(d time.Duration) WriteOption {
	return func(op *kv.Op) { op.TTL = d }
}

// A ReadOption changes a Get or Scan.
type ReadOption func(*readOptions)

type readOptions struct{ stale bool }

// Stale lets any node answer from its own state without confirming it is
// current: faster, but it may miss recent writes.
func Stale() ReadOption { return func(o *readOptions) { o.stale = true } }

func readOpts(opts []ReadOption) readOptions {
	var o readOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Put writes value under key and returns the key's new version.
func (c *Client) Put(ctx context.Context, key, value []byte, opts ...WriteOption) (uint64, error) {
	op := kv.Op{Type: kv.OpPut, Key: key, Value: value}
	for _, f := range opts {
		f(&op)
	}
	res, err := c.write(ctx, []kv.Op{op})
	if err != nil {
		return 0, err
	}
	return res.Ops[0].Version, nil
}

// Delete deletes key and reports whether it existed.
func (c *Client) Delete(ctx context.Context, key []byte, opts ...WriteOption) (found bool, err error) {
	op := kv.Op{Type: kv.OpDelete, Key: key}
	for _, f := range opts {
		f(&op)
	}
	res, err := c.write(ctx, []kv.Op{op})
	if err != nil {
		return false, err
	}
	return res.Ops[0].Found, nil
}

// Batch applies ops atomically and in order: puts, deletes and gets, each
// seeing the ops before it; if a condition fails nothing is written. The
// result has one OpResult per op. On a version mismatch it is returned
// with the *kv.VersionMismatchError, saying which op failed.
func (c *Client) Batch(ctx context.Context, ops []kv.Op) (kv.Result, error) {
	return c.write(ctx, ops)
}

// Get reads key: the value of the latest write that completed before the
// call (unless Stale), or kv.ErrNotFound.
func (c *Client) Get(ctx context.Context, key []byte, opts ...ReadOption) (kv.Item, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	args := rpcapi.GetArgs{Key: key, Stale: readOpts(opts).stale}
	reply, _, err := invoke[rpcapi.GetReply](ctx, c, "KV.Get", args, policy{})
	return reply.Item, err
}

// Scan reads one page of keys in ascending order; pass the result's Next
// as the next request's Start to read on.
func (c *Client) Scan(ctx context.Context, req kv.ScanRequest, opts ...ReadOption) (kv.ScanResult, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	args := rpcapi.ScanArgs{Request: req, Stale: readOpts(opts).stale}
	reply, _, err := invoke[rpcapi.ScanReply](ctx, c, "KV.Scan", args, policy{})
	return reply.Result, err
}
