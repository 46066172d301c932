package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/kv"
)

// Options configure a Client. Zero fields take their defaults.
type Options struct {
	// Timeout bounds each operation, retries included, when the context
	// has no earlier deadline. Default 10s.
	Timeout time.Duration
	// DialTimeout bounds connecting to one node. Default 2s.
	DialTimeout time.Duration
	// AttemptTimeout bounds one try at one node, after which the client
	// drops the connection and tries elsewhere. A node answers "timeout"
	// itself after its limits.request_timeout (5s by default), so this is
	// for nodes that stopped answering altogether. Default 7s.
	AttemptTimeout time.Duration
	// UnreachableAfter is how long the client keeps trying when no
	// endpoint accepts a connection at all before it fails with
	// ErrUnavailable. Default 1s.
	UnreachableAfter time.Duration
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 7 * time.Second
	}
	if o.UnreachableAfter <= 0 {
		o.UnreachableAfter = time.Second
	}
	return o
}

// Errors of the client itself; the others are package kv's.
var (
	// ErrUnknownOutcome: the client gave up on a write that may have been
	// applied (see the package comment).
	ErrUnknownOutcome = errors.New("client: outcome unknown: the change may or may not have been applied")
	// ErrUnavailable: no endpoint accepted a connection.
	ErrUnavailable = errors.New("client: no node reachable")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("client: closed")
)

// Client talks to one minikv cluster. It is safe for concurrent use.
type Client struct {
	opts Options

	mu        sync.Mutex
	endpoints []string // given, then learned; never empty
	next      int      // endpoints[next%len] is tried when no leader is known
	leader    string   // RPC address of the node believed to lead; "" if unknown
	learned   bool     // member addresses have been fetched once
	conns     map[string]*conn
	idle      []*session
	closing   bool // Close has begun
	closed    bool // Close has closed the connections

	// testDropReply, if set, is called after each attempt that got a
	// reply; returning true makes the client behave as if the connection
	// broke before the reply arrived.
	testDropReply func(method string) bool
}

// New returns a client of the cluster reachable at endpoints, the RPC
// addresses (host:port) of one or more of its nodes. It does not connect
// until the first call.
func New(endpoints []string, opts Options) (*Client, error) {
	c := &Client{opts: opts.withDefaults(), conns: map[string]*conn{}}
	for _, e := range endpoints {
		if _, _, err := net.SplitHostPort(e); err != nil {
			return nil, fmt.Errorf("client: endpoint %q: want host:port: %v", e, err)
		}
		c.learn(e)
	}
	if len(c.endpoints) == 0 {
		return nil, errors.New("client: no endpoints")
	}
	return c, nil
}

// Close closes the idle sessions (best effort, within a second) and every
// connection. Calls still running fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range idle {
		// Not closing a session only costs the cluster a record until it
		// expires; do not wait long for it.
		args := rpcapi.DoArgs{Kind: kv.CmdCloseSession, Session: kv.Session{ClientID: s.id}}
		invoke[rpcapi.DoReply](ctx, c, "KV.Do", args, policy{leader: true})
	}

	c.mu.Lock()
	c.closed = true
	conns := c.conns
	c.conns = map[string]*conn{}
	c.mu.Unlock()
	for _, cn := range conns {
		cn.close()
	}
	return nil
}

// Endpoints returns the RPC addresses the client knows: those it was
// given, then those it learned.
func (c *Client) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.endpoints)
}

// learn adds an endpoint. c.mu is held, or c is not shared yet.
func (c *Client) learn(addr string) {
	if addr != "" && !slices.Contains(c.endpoints, addr) {
		c.endpoints = append(c.endpoints, addr)
	}
}

// pick returns the address to try next: the leader if known (always for
// leader calls; for reads too, as it answers them fastest), else the
// current endpoint.
func (c *Client) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader != "" {
		return c.leader
	}
	return c.endpoints[c.next%len(c.endpoints)]
}

// failed notes that addr did not serve: the next try goes elsewhere.
func (c *Client) failed(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader == addr {
		c.leader = ""
	}
	if c.endpoints[c.next%len(c.endpoints)] == addr {
		c.next++
	}
}

// redirected notes a not_leader answer from addr. It reports whether the
// answer named a leader to go to.
func (c *Client) redirected(addr string, e *rpcapi.Error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.LeaderRPC != "" && e.LeaderRPC != addr {
		c.learn(e.LeaderRPC)
		c.leader = e.LeaderRPC
		return true
	}
	if c.leader == addr {
		c.leader = ""
	}
	if c.endpoints[c.next%len(c.endpoints)] == addr {
		c.next++
	}
	return false
}

// served notes that addr answered; a node that accepted a leader-only
// call leads. It reports whether the client should now learn the members'
// addresses: once, after the first answer, so that it can go on when the
// endpoints it was given are gone.
func (c *Client) served(addr string, leaderCall bool) (learn bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if leaderCall {
		c.leader = addr
	}
	learn = !c.learned
	c.learned = true
	return learn
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// withTimeout applies Options.Timeout to ctx.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.Timeout)
}
