package client

import (
	"context"
	"errors"
	"fmt"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/kv"
)

// session is one exactly-once session: its id and the sequence number of
// its last command. A session is used by one write at a time.
type session struct {
	id  uint64
	seq uint64
}

// write applies ops atomically through a session, retrying until the
// cluster answers (see the package comment).
func (c *Client) write(ctx context.Context, ops []kv.Op) (kv.Result, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	for fresh := 0; ; fresh++ {
		s, err := c.acquire(ctx)
		if err != nil {
			return kv.Result{}, err
		}
		s.seq++
		args := rpcapi.DoArgs{Kind: kv.CmdOps, Session: kv.Session{ClientID: s.id, Seq: s.seq}, Ops: ops}
		reply, doubt, err := invoke[rpcapi.DoReply](ctx, c, "KV.Do", args, policy{leader: true, write: true})
		switch {
		case errors.Is(err, kv.ErrSessionExpired) && !errors.Is(err, ErrUnknownOutcome):
			// The session is gone; drop it.
			if doubt {
				// An earlier attempt may have been applied before the
				// session went; a retry on a new session could apply it
				// twice.
				return kv.Result{}, unknownOutcome(err)
			}
			if fresh < 2 {
				continue // nothing was applied: go on with a new session
			}
			return kv.Result{}, err
		case errors.Is(err, kv.ErrStaleSequence):
			// Only if someone else used our session: drop it.
			return kv.Result{}, fmt.Errorf("client: session %d out of step: %w", s.id, err)
		}
		c.release(s)
		return reply.Result, err
	}
}

// acquire takes an idle session, or opens one.
func (c *Client) acquire(ctx context.Context) (*session, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		s := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	// Retrying an open whose answer was lost at worst leaves an unused
	// session behind, until it expires.
	reply, _, err := invoke[rpcapi.DoReply](ctx, c, "KV.Do", rpcapi.DoArgs{Kind: kv.CmdOpenSession}, policy{leader: true})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	return &session{id: reply.Result.ClientID}, nil
}

// release returns a session to the pool.
func (c *Client) release(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		c.idle = append(c.idle, s)
	}
}
