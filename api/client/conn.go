package client

import (
	"context"
	"net"
	"net/rpc"
	"sync/atomic"
)

// conn is one connection to a node; net/rpc multiplexes concurrent calls
// over it.
type conn struct {
	*rpc.Client
	// closedByUs is set before the client closes the connection itself.
	// net/rpc then fails the calls in flight with rpc.ErrShutdown, the
	// same error as a call that was never sent; this tells them apart.
	closedByUs atomic.Bool
}

func (cn *conn) close() {
	cn.closedByUs.Store(true)
	cn.Close()
}

// conn returns the connection to addr, dialling it if needed; fresh
// reports a new connection.
func (c *Client) conn(ctx context.Context, addr string) (cn *conn, fresh bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	if cn, ok := c.conns[addr]; ok {
		c.mu.Unlock()
		return cn, false, nil
	}
	c.mu.Unlock()

	d := net.Dialer{Timeout: c.opts.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	cn = &conn{Client: rpc.NewClient(nc)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cn.close()
		return nil, false, ErrClosed
	}
	if other, ok := c.conns[addr]; ok { // another call dialled meanwhile
		cn.close()
		return other, false, nil
	}
	c.conns[addr] = cn
	return cn, true, nil
}

// drop closes a connection that failed and forgets it (unless it was
// replaced already).
func (c *Client) drop(addr string, cn *conn) {
	c.mu.Lock()
	if c.conns[addr] == cn {
		delete(c.conns, addr)
	}
	c.mu.Unlock()
	cn.close()
}
