package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// TCP is the TCP transport.
type TCP struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the transport starts

	mu      sync.RWMutex
	closed  bool
	peers   map[uint64]*peer
	inbound map[net.Conn]struct{} // accepted connections, closed by Close

	rngMu sync.Mutex
	rng   *rand.Rand // backoff jitter
}

var _ Transport = (*TCP)(nil)

// NewTCP starts a TCP transport: it listens on cfg.ListenAddr at once.
// Peers are added with AddPeer.
func NewTCP(cfg Config) (*TCP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen on %s: %w", cfg.ListenAddr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &TCP{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "raft-transport", "node", cfg.ID),
		ln:      ln,
		ctx:     ctx,
		cancel:  cancel,
		peers:   make(map[uint64]*peer),
		inbound: make(map[net.Conn]struct{}),
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	t.wg.Add(1)
	go t.acceptLoop()
	t.log.Info("listening", "addr", t.Addr())
	return t, nil
}

// Addr returns the bound listen address (useful with port 0).
func (t *TCP) Addr() string { return t.ln.Addr().String() }

// Send queues each message for its peer and returns without waiting for the
// network. A message is dropped when its peer is unknown or its queue full;
// a MsgSnap starts a snapshot stream instead (see sendSnapshot).
func (t *TCP) Send(msgs []raft.Message) {
	var failedSnaps []uint64
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, m := range msgs {
		p := t.peers[m.To]
		if t.closed || p == nil {
			t.dropped(m.To, 1)
			if !t.closed {
				t.log.Debug("dropping message to unknown peer", "peer", m.To, "type", m.Type)
			}
			if m.Type == raft.MsgSnap && !t.closed {
				failedSnaps = append(failedSnaps, m.To)
			}
			continue
		}
		if m.Type == raft.MsgSnap {
			if !t.startSnapshot(p, m) {
				failedSnaps = append(failedSnaps, m.To)
			}
			continue
		}
		select {
		case p.q <- m:
		default:
			t.dropped(m.To, 1)
			t.log.Debug("peer queue full; dropping message", "peer", m.To, "type", m.Type)
		}
	}
	if len(failedSnaps) > 0 && !t.closed {
		// Not from here: the caller of Send is typically the very loop the
		// Handler hands reports to, and it is busy calling Send.
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for _, id := range failedSnaps {
				t.cfg.Handler.ReportSnapshot(id, false)
			}
		}()
	}
}

// AddPeer makes id reachable at addr. For a known peer with a new address,
// the current connection is closed and the new address dialled at once.
func (t *TCP) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if p := t.peers[id]; p != nil {
		p.setAddress(addr)
		return
	}
	p := newPeer(t, id, addr)
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
}

// RemovePeer forgets id: its connections are closed and its queued messages
// dropped. It does not wait for the peer's goroutines; Close does.
func (t *TCP) RemovePeer(id uint64) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// Close stops accepting, closes every connection and waits for every
// goroutine of the transport. Handler methods are not called after Close
// returns.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	peers := t.peers
	t.peers = map[uint64]*peer{}
	inbound := make([]net.Conn, 0, len(t.inbound))
	for c := range t.inbound {
		inbound = append(inbound, c)
	}
	t.mu.Unlock()

	t.cancel()
	err := t.ln.Close()
	for _, p := range peers {
		p.stop()
	}
	for _, c := range inbound {
		c.Close()
	}
	t.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("transport: close listener: %w", err)
	}
	return nil
}

// jitter returns a duration in [d/2, d]: "equal jitter", so that peers that
// lost the same node at the same moment do not all redial in lockstep.
func (t *TCP) jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	t.rngMu.Lock()
	j := time.Duration(t.rng.Int64N(int64(d/2) + 1))
	t.rngMu.Unlock()
	return d/2 + j
}

// dial connects to peer to at addr and performs the handshake.
func (t *TCP) dial(ctx context.Context, to uint64, addr string, kind connKind) (net.Conn, error) {
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial peer %d at %s: %w", to, addr, err)
	}
	// Close (or RemovePeer) must not wait out a handshake with a peer that
	// accepted the connection but does not answer: cancelling ctx closes it.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		close(closed)
	})
	err = t.handshake(conn, to, kind)
	if !stop() {
		<-closed
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with peer %d at %s: %w", to, addr, err)
	}
	return conn, nil
}

// errRefused marks a handshake the peer answered with a refusal.
var errRefused = errors.New("refused by peer")

func (t *TCP) handshake(conn net.Conn, to uint64, kind connKind) error {
	if err := conn.SetDeadline(time.Now().Add(t.cfg.DialTimeout)); err != nil {
		return err
	}
	h := hello{version: protocolVersion, kind: kind, cluster: t.cfg.ClusterID, from: t.cfg.ID, to: to}
	b := h.encode()
	if _, err := conn.Write(b[:]); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	var status [1]byte
	if _, err := io.ReadFull(conn, status[:]); err != nil {
		return fmt.Errorf("read answer: %w", noEOF(err))
	}
	if status[0] != handshakeOK {
		return fmt.Errorf("%w: %s", errRefused, handshakeStatusText(status[0]))
	}
	return conn.SetDeadline(time.Time{})
}

// acceptLoop accepts connections until Close.
func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	const maxDelay = time.Second
	delay := 5 * time.Millisecond
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and try again,
			// rather than spin or give up on the listener.
			t.log.Warn("accept failed; retrying", "err", err, "in", delay)
			select {
			case <-time.After(delay):
			case <-t.ctx.Done():
				return
			}
			delay = min(2*delay, maxDelay)
			continue
		}
		delay = 5 * time.Millisecond
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.inbound[conn] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serveConn(conn)
	}
}

// serveConn runs one accepted connection: handshake, then messages or a
// snapshot stream.
func (t *TCP) serveConn(conn net.Conn) {
	defer t.wg.Done()
	defer func() {
		conn.Close()
		t.mu.Lock()
		delete(t.inbound, conn)
		t.mu.Unlock()
	}()
	h, ok := t.acceptHello(conn)
	if !ok {
		return
	}
	log := t.log.With("peer", h.from, "remote", conn.RemoteAddr().String())
	switch h.kind {
	case connMessages:
		t.readMessages(conn, h, log)
	case connSnapshot:
		t.receiveSnapshot(conn, h, log)
	}
}

// acceptHello reads and judges the dialer's hello, and answers it.
func (t *TCP) acceptHello(conn net.Conn) (hello, bool) {
	remote := conn.RemoteAddr().String()
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return hello{}, false
	}
	var b [handshakeSize]byte
	if n, err := io.ReadFull(conn, b[:]); err != nil {
		// Nothing at all is what a TCP health check or port scan sends:
		// not worth a warning.
		if t.ctx.Err() == nil && n > 0 {
			t.log.Warn("refused connection: incomplete handshake", "remote", remote, "err", err)
		} else {
			t.log.Debug("connection closed before its handshake", "remote", remote, "err", err)
		}
		return hello{}, false
	}
	h, err := decodeHello(b)
	if err != nil {
		t.log.Warn("refused connection", "remote", remote, "reason", err)
		return hello{}, false
	}
	status := handshakeOK
	switch {
	case h.version != protocolVersion:
		status = handshakeBadVersion
	case h.cluster != t.cfg.ClusterID:
		status = handshakeWrongCluster
	case h.to != t.cfg.ID:
		status = handshakeWrongNode
	case h.kind != connMessages && h.kind != connSnapshot,
		h.kind == connSnapshot && t.cfg.Snapshots == nil:
		status = handshakeBadKind
	}
	if status != handshakeOK {
		t.log.Warn("refused connection", "remote", remote, "reason", handshakeStatusText(status),
			"from", h.from, "to", h.to, "cluster", h.cluster, "version", h.version, "kind", h.kind)
	}
	if _, err := conn.Write([]byte{status}); err != nil || status != handshakeOK {
		return hello{}, false
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return hello{}, false
	}
	return h, true
}

// readMessages delivers the message frames of one connection to the
// Handler, in order, until the connection ends.
func (t *TCP) readMessages(conn net.Conn, h hello, log *slog.Logger) {
	fr := newFrameReader(bufio.NewReaderSize(conn, 64<<10))
	for {
		// A fresh buffer per frame: the decoded entries alias it, and the
		// Handler may keep them.
		typ, payload, err := fr.next(nil)
		if err != nil {
			t.logReadEnd(log, "message stream ended", err)
			return
		}
		if typ != frameMessage {
			log.Warn("closing message stream: unexpected frame", "frame", typ)
			return
		}
		m, err := raft.DecodeMessage(payload)
		if err != nil {
			log.Warn("closing message stream: undecodable message", "err", err)
			return
		}
		if m.From != h.from || m.To != t.cfg.ID || m.Type == raft.MsgSnap {
			log.Warn("closing message stream: message does not belong on it",
				"type", m.Type, "from", m.From, "to", m.To)
			return
		}
		if mt := t.cfg.Metrics; mt != nil && mt.MessagesReceived != nil {
			mt.MessagesReceived(m.Type, 1)
		}
		t.cfg.Handler.Process(m)
	}
}

// logReadEnd logs why an inbound stream ended: quietly when the peer closed
// it or we are shutting down, loudly when the bytes were bad.
func (t *TCP) logReadEnd(log *slog.Logger, msg string, err error) {
	switch {
	case t.ctx.Err() != nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		log.Debug(msg, "err", err)
	case errors.Is(err, errFrameChecksum), errors.Is(err, errFrameTooLarge), errors.Is(err, errFrameType):
		log.Warn(msg+": corrupt frame", "err", err)
	default:
		log.Debug(msg, "err", err)
	}
}

func (t *TCP) dropped(peer uint64, n int) {
	if mt := t.cfg.Metrics; mt != nil && mt.MessagesDropped != nil && n > 0 {
		mt.MessagesDropped(peer, n)
	}
}
