package rpcapi

import (
	"context"
	"fmt"

	"github.com/minikv-go/minikv/kv"
)

// KV is the "KV" service: commands and reads. Its methods are called by
// net/rpc; they always return nil and report failures in the reply.
type KV struct{ s *Server }

// Do proposes a command on the leader and waits until it is applied. A
// follower answers not_leader. Only ops, open_session and close_session
// commands are accepted.
func (k *KV) Do(args DoArgs, reply *DoReply) error {
	op := "do"
	switch args.Kind {
	case kv.CmdOpenSession:
		op = "open_session"
	case kv.CmdCloseSession:
		op = "close_session"
	}
	reply.Err = k.s.run(op, func(ctx context.Context) error {
		if args.Kind != kv.CmdOps && args.Kind != kv.CmdOpenSession && args.Kind != kv.CmdCloseSession {
			return fmt.Errorf("%w: command kind %s is not accepted from clients", kv.ErrInvalid, args.Kind)
		}
		var err error
		reply.Result, err = k.s.node.Do(ctx, kv.Command{Kind: args.Kind, Session: args.Session, Ops: args.Ops})
		return err
	})
	return nil
}

// Get reads one key: linearizably (any node asks the leader to confirm
// its commit index, then waits to apply up to it) unless Stale.
func (k *KV) Get(args GetArgs, reply *GetReply) error {
	reply.Err = k.s.run("get", func(ctx context.Context) error {
		var err error
		reply.Item, err = k.s.node.Get(ctx, args.Key, args.Stale)
		return err
	})
	return nil
}

// Scan reads one page of keys, linearizably unless Stale. The page ends
// early (Next set) before its keys and values pass the request size limit.
func (k *KV) Scan(args ScanArgs, reply *ScanReply) error {
	reply.Err = k.s.run("scan", func(ctx context.Context) error {
		req := args.Request
		if err := k.s.checkKeys(req.Prefix, req.Start, req.End); err != nil {
			return err
		}
		res, err := k.s.node.Scan(ctx, req, args.Stale)
		if err != nil {
			return err
		}
		reply.Result = trimPage(res, k.s.maxRequest)
		return nil
	})
	return nil
}

// trimPage cuts a page so that its keys and values fit in limit bytes; it
// keeps at least one item, which the key and value limits bound.
func trimPage(res kv.ScanResult, limit int64) kv.ScanResult {
	var size int64
	for i, it := range res.Items {
		size += int64(len(it.Key) + len(it.Value))
		if size > limit && i > 0 {
			res.Next = it.Key
			res.Items = res.Items[:i]
			break
		}
	}
	return res
}
