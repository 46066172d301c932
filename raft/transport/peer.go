package transport

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minikv-go/minikv/raft"
)

const (
	// maxBatch bounds how many messages go out between two flushes, so that
	// a queue that never empties still gets flushed (and a fresh write
	// deadline) regularly.
	maxBatch = 1024
	// writeBufferSize is the bufio.Writer in front of a message connection:
	// many small messages (heartbeats, responses) leave in one syscall.
	writeBufferSize = 64 << 10
	// maxScratch: a scratch encoding buffer grown past this by one large
	// MsgApp is let go instead of being kept for the connection's life.
	maxScratch = 1 << 20
)

var errPeerClosed = errors.New("connection closed by peer")

// peer is the sending side of one remote node: its queue, and the goroutine
// (run) that keeps a connection to it and writes the queue into it.
type peer struct {
	t      *TCP
	id     uint64
	q      chan raft.Message
	ctx    context.Context // cancelled by stop (RemovePeer, Close)
	cancel context.CancelFunc
	redial chan struct{} // the address changed: cut a backoff wait short

	mu   sync.Mutex
	addr string
	conn net.Conn // the message connection, while up
	snap net.Conn // the snapshot stream's connection, while up

	snapping atomic.Bool // a snapshot stream is running
}

func newPeer(t *TCP, id uint64, addr string) *peer {
	ctx, cancel := context.WithCancel(t.ctx)
	return &peer{
		t:      t,
		id:     id,
		q:      make(chan raft.Message, t.cfg.QueueSize),
		ctx:    ctx,
		cancel: cancel,
		redial: make(chan struct{}, 1),
		addr:   addr,
	}
}

func (p *peer) address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// setAddress moves the peer; the connection to the old address is closed,
// and run dials the new one.
func (p *peer) setAddress(addr string) {
	p.mu.Lock()
	if p.addr == addr {
		p.mu.Unlock()
		return
	}
	p.addr = addr
	if p.conn != nil {
		p.conn.Close()
	}
	p.mu.Unlock()
	select {
	case p.redial <- struct{}{}:
	default:
	}
	p.t.log.Info("peer address changed", "peer", p.id, "addr", addr)
}

// stop ends the peer: run returns, connections close, a snapshot stream
// fails. The queue is left to the garbage collector: Send may still be
// putting messages into it, so it is never closed.
func (p *peer) stop() {
	p.cancel()
	p.mu.Lock()
	if p.conn != nil {
		p.conn.Close()
	}
	if p.snap != nil {
		p.snap.Close()
	}
	p.mu.Unlock()
}

// attach records conn, dialled at addr, as the message connection, unless
// the peer was stopped or moved meanwhile.
func (p *peer) attach(conn net.Conn, addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil || p.addr != addr {
		return false
	}
	p.conn = conn
	return true
}

func (p *peer) detach(conn net.Conn) {
	p.mu.Lock()
	if p.conn == conn {
		p.conn = nil
	}
	p.mu.Unlock()
	conn.Close()
}

// run keeps a connection to the peer and writes its queue into it, until
// stop. A failed dial, or a lost connection, is followed by a backoff wait
// (50ms doubling up to MaxBackoff, jittered) during which queued messages
// are dropped: a node whose peer is down must not pile up stale messages
// that Raft will resend anyway.
func (p *peer) run() {
	defer p.t.wg.Done()
	log := p.t.log.With("peer", p.id)
	start := min(minBackoff, p.t.cfg.MaxBackoff)
	backoff := start
	for {
		addr := p.address()
		conn, err := p.t.dial(p.ctx, p.id, addr, connMessages)
		if p.ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return
		}
		if err == nil && !p.attach(conn, addr) {
			conn.Close()
			continue // moved while we dialled
		}
		reported := false
		if err == nil {
			log.Debug("connected", "addr", addr)
			since := time.Now()
			lost, err := p.stream(conn)
			p.detach(conn)
			p.t.dropped(p.id, lost)
			if p.ctx.Err() != nil {
				return // stopped: the loss was ours, not the peer's
			}
			if p.address() != addr {
				continue // moved: dial the new address at once
			}
			if lost > 0 {
				p.t.cfg.Handler.ReportUnreachable(p.id)
				reported = true
			}
			// A connection that lived long was healthy: start the backoff
			// over. One that died at once may be a peer in a crash loop.
			if time.Since(since) > p.t.cfg.MaxBackoff {
				backoff = start
			}
			log.Debug("connection lost", "addr", addr, "err", err)
		} else if errors.Is(err, errRefused) {
			log.Warn("peer refused the connection", "err", err)
		} else {
			log.Debug("cannot connect", "err", err)
		}
		if !p.wait(p.t.jitter(backoff), reported) {
			return
		}
		backoff = min(2*backoff, p.t.cfg.MaxBackoff)
	}
}

// wait sleeps d after a failure, dropping what is queued or arrives in the
// meantime and calling ReportUnreachable once if anything was dropped (and
// the round's failure was not reported already). It returns false when the
// peer is stopped.
func (p *peer) wait(d time.Duration, reported bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-p.redial:
			return true
		case <-p.q:
			p.t.dropped(p.id, 1)
			if !reported {
				reported = true
				p.t.cfg.Handler.ReportUnreachable(p.id)
			}
		}
	}
}

// stream writes queued messages into conn until the connection fails or the
// peer stops, and returns how many messages were lost in the failed batch:
// written to the socket, maybe, but not known to have left. Each wake-up drains the queue into one bufio.Writer and
// flushes once: under load, many messages share one syscall and one TCP
// segment; when idle, a lone heartbeat leaves at once.
func (p *peer) stream(conn net.Conn) (lost int, err error) {
	t := p.t
	// The receiver never writes on a message connection, so a read returns
	// only when the connection ends: that is how an idle writer learns
	// that its peer has gone, before it loses a message to a dead socket.
	dead := make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer close(dead)
		var b [1]byte
		_, _ = conn.Read(b[:])
	}()
	defer func() {
		conn.Close()
		<-dead
	}()

	bw := bufio.NewWriterSize(conn, writeBufferSize)
	var scratch []byte
	var counts [256]int
	for {
		var m raft.Message
		select {
		case m = <-p.q:
		case <-dead:
			return 0, errPeerClosed
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		}
		if err := conn.SetWriteDeadline(time.Now().Add(messageWriteTimeout)); err != nil {
			return 1, err
		}
		n := 0
		for {
			var err error
			scratch = beginFrame(scratch)
			scratch = raft.AppendMessage(scratch, m)
			if err = sealFrame(scratch, frameMessage); err != nil {
				// Too large for any receiver: a bug or a misconfigured
				// MaxSizePerMsg. Drop it; the connection is fine.
				t.log.Error("dropping message larger than a frame", "peer", p.id, "type", m.Type, "err", err)
				t.dropped(p.id, 1)
			} else {
				if _, err = bw.Write(scratch); err != nil {
					return n + 1, err
				}
				n++
				counts[m.Type]++
			}
			if cap(scratch) > maxScratch {
				scratch = nil
			}
			if n >= maxBatch {
				break
			}
			select {
			case m = <-p.q:
				continue
			default:
			}
			break
		}
		if err := bw.Flush(); err != nil {
			return n, err
		}
		if mt := t.cfg.Metrics; mt != nil && mt.MessagesSent != nil {
			for typ, c := range counts {
				if c > 0 {
					mt.MessagesSent(raft.MessageType(typ), c)
				}
			}
		}
		clear(counts[:])
	}
}
