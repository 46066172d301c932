package client

import (
	"context"
	"errors"
	"fmt"
	"net/rpc"
	"strings"
	"time"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/kv"
)

// policy says where a call goes and what may be retried.
type policy struct {
	// leader: the call must reach the leader (writes, membership).
	leader bool
	// write: the call changes state, so an attempt whose fate is unknown
	// puts the outcome in doubt.
	write bool
	// once: do not retry an attempt whose fate is unknown (a membership
	// change is not idempotent and has no session); still follow
	// redirects and retry what surely did not arrive.
	once bool
}

// replier is every rpcapi reply.
type replier interface{ Failure() *rpcapi.Error }

// Backoff between tries while no node serves, e.g. during an election.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = 200 * time.Millisecond
)

// invoke calls method until a node answers it, or ctx ends: it follows
// not_leader hints, moves to another endpoint when a node is unreachable or
// unavailable, and backs off while the cluster has no leader. doubt reports
// that an attempt of a write may have been applied without the client
// learning its result (so the final error, if any, leaves the outcome
// unknown). A failure answered by the cluster is returned as the typed kv
// error, with the reply.
func invoke[R any, P interface {
	*R
	replier
}](ctx context.Context, c *Client, method string, args any, pol policy) (reply R, doubt bool, err error) {
	var (
		lastErr     error
		backoff     = minBackoff
		unreachable time.Time // since when no dial has succeeded; zero if one has
		hops        int       // redirects followed without a pause
	)
	for {
		addr := c.pick()
		reply = *new(R)
		out, aerr := c.attempt(ctx, addr, method, args, P(&reply))
		switch out {
		case answered:
			unreachable = time.Time{}
			f := P(&reply).Failure()
			if f == nil {
				if c.served(addr, pol.leader) {
					c.learnMembers(ctx, addr)
				}
				return reply, doubt, nil
			}
			switch f.Code {
			case "not_leader":
				lastErr = f.Err()
				if c.redirected(addr, f) && hops < 3 {
					hops++
					continue // straight to the leader named
				}
				if f.Leader != 0 && f.LeaderRPC == "" {
					c.learnMembers(ctx, addr)
				}
			case "timeout":
				// The node could not finish in time (no quorum yet?);
				// a write may still be applied later. A read can go
				// elsewhere: this node may be cut off.
				lastErr = f.Err()
				if !pol.leader {
					c.failed(addr)
				}
				if pol.write {
					doubt = true
					if pol.once {
						return reply, doubt, unknownOutcome(lastErr)
					}
				}
			case rpcapi.CodeUnavailable:
				lastErr = f.Err()
				c.failed(addr)
			default:
				return reply, doubt, f.Err()
			}
		case notSent:
			if unreachable.IsZero() {
				unreachable = time.Now()
			}
			lastErr = aerr
			c.failed(addr)
			if errors.Is(aerr, ErrClosed) {
				return reply, doubt, giveUp(doubt, aerr)
			}
			if time.Since(unreachable) >= c.opts.UnreachableAfter {
				return reply, doubt, giveUp(doubt, fmt.Errorf("%w: %w", ErrUnavailable, aerr))
			}
		case maybeSent:
			unreachable = time.Time{}
			if ctx.Err() == nil { // not the caller's deadline: the node's fault
				lastErr = aerr
				c.failed(addr)
			}
			if pol.write {
				doubt = true
				if pol.once && ctx.Err() == nil {
					return reply, doubt, unknownOutcome(aerr)
				}
			}
		case final:
			return reply, doubt, aerr
		}
		if ctx.Err() != nil {
			return reply, doubt, giveUp(doubt, ctxErr(ctx, lastErr))
		}
		if c.isClosed() {
			return reply, doubt, giveUp(doubt, ErrClosed)
		}
		hops = 0
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return reply, doubt, giveUp(doubt, ctxErr(ctx, lastErr))
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// outcome classifies one attempt.
type outcome int

const (
	answered  outcome = iota // the node answered; look at the reply
	notSent                  // the call surely did not reach the node
	maybeSent                // the call may have run; no answer
	final                    // an error no retry can fix
)

// attempt makes one call to addr.
func (c *Client) attempt(ctx context.Context, addr, method string, args any, reply any) (outcome, error) {
	cn, fresh, err := c.conn(ctx, addr)
	if err != nil {
		return notSent, err
	}
	out, err := c.send(ctx, addr, cn, method, args, reply)
	if out == notSent && !fresh && errors.Is(err, rpc.ErrShutdown) {
		// The node closed a connection we kept (it restarted, or shut
		// down): redial once before moving on.
		if cn, _, err = c.conn(ctx, addr); err != nil {
			return notSent, err
		}
		out, err = c.send(ctx, addr, cn, method, args, reply)
	}
	return out, err
}

// send makes one call on connection cn to addr.
func (c *Client) send(ctx context.Context, addr string, cn *conn, method string, args any, reply any) (outcome, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	var err error
	call := cn.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		err = call.Error
	case <-actx.Done():
		if ctx.Err() == nil {
			// The node did not answer in time: the connection is
			// suspect. Closing it also ends the call.
			c.drop(addr, cn)
			return maybeSent, fmt.Errorf("%s: no answer within %v", addr, c.opts.AttemptTimeout)
		}
		return maybeSent, ctx.Err()
	}
	if err == nil {
		if c.testDropReply != nil && c.testDropReply(method) {
			c.drop(addr, cn)
			return maybeSent, fmt.Errorf("%s: test: reply dropped", addr)
		}
		return answered, nil
	}
	var se rpc.ServerError
	switch {
	case errors.As(err, &se) && strings.HasPrefix(string(se), rpcapi.MsgRequestTooLarge):
		return final, fmt.Errorf("%w: %s", kv.ErrTooLarge, se)
	case errors.As(err, &se) && strings.HasPrefix(string(se), rpcapi.MsgServerClosed):
		return notSent, fmt.Errorf("%s: %w", addr, err)
	case errors.As(err, &se):
		return final, fmt.Errorf("%s: %s: %w", addr, method, err)
	case errors.Is(err, rpc.ErrShutdown) && !cn.closedByUs.Load():
		// The node had closed the connection before the call was
		// written. (Calls in flight when the node closes it fail with
		// io.ErrUnexpectedEOF; when we close it, with ErrShutdown.)
		c.drop(addr, cn)
		return notSent, fmt.Errorf("%s: %w", addr, err)
	}
	c.drop(addr, cn)
	return maybeSent, fmt.Errorf("%s: %w", addr, err)
}

// ctxErr is the error of an operation cut short by ctx: kv.ErrTimeout for
// a deadline, with the last error seen.
func ctxErr(ctx context.Context, last error) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", kv.ErrTimeout, err)
	}
	if last != nil {
		return fmt.Errorf("%w (last error: %v)", err, last)
	}
	return err
}

// giveUp is the error of a call abandoned after err; if an attempt may
// have applied a write, it also wraps ErrUnknownOutcome.
func giveUp(doubt bool, err error) error {
	if doubt {
		return unknownOutcome(err)
	}
	return err
}

func unknownOutcome(err error) error { return fmt.Errorf("%w: %w", ErrUnknownOutcome, err) }
