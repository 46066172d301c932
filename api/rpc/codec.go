package rpcapi

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync/atomic"
)

// codec is net/rpc's gob server codec with two additions: each request
// may read at most a budget of bytes from the connection (so a client
// cannot make the server buffer an unbounded request), and once the
// server is closing, a failed read says so, so the client knows the call
// did not run.
type codec struct {
	conn    net.Conn
	lr      *limitReader
	dec     *gob.Decoder
	enc     *gob.Encoder
	buf     *bufio.Writer
	closing *atomic.Bool
	closed  bool
}

// readSlack is what a request may read beyond max_request_bytes: the
// rpc.Request header, gob type definitions, and read-ahead into the next
// request.
const readSlack = 64 << 10

func newCodec(conn net.Conn, maxRequest int64, closing *atomic.Bool) *codec {
	lr := &limitReader{r: conn, max: maxRequest + readSlack}
	buf := bufio.NewWriter(conn)
	return &codec{conn: conn, lr: lr, dec: gob.NewDecoder(lr), enc: gob.NewEncoder(buf), buf: buf, closing: closing}
}

func (c *codec) ReadRequestHeader(r *rpc.Request) error {
	c.lr.reset()
	return c.readErr(c.dec.Decode(r))
}

func (c *codec) ReadRequestBody(body any) error {
	return c.readErr(c.dec.Decode(body))
}

func (c *codec) readErr(err error) error {
	if err != nil && !errors.Is(err, errTooLarge) && c.closing.Load() {
		return errors.New(MsgServerClosed)
	}
	return err
}

func (c *codec) WriteResponse(r *rpc.Response, body any) error {
	if err := c.enc.Encode(r); err != nil {
		c.Close()
		return err
	}
	if err := c.enc.Encode(body); err != nil {
		// The header is out: the stream is broken.
		c.Close()
		return err
	}
	return c.buf.Flush()
}

// Close is called by net/rpc only after every response has been written,
// and by WriteResponse on an encoding error, under net/rpc's send lock.
func (c *codec) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.conn.Close()
}

var errTooLarge = errors.New(MsgRequestTooLarge)

// limitReader gives each request a budget of bytes. Once a request has
// overrun it, every later read fails too: the rest of the stream is
// garbage, and the connection must end.
type limitReader struct {
	r       io.Reader
	max     int64
	left    int64
	tripped bool
}

func (l *limitReader) reset() { l.left = l.max }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.tripped || l.left <= 0 {
		l.tripped = true
		return 0, fmt.Errorf("%w (over %d bytes)", errTooLarge, l.max-readSlack)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
