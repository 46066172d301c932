package rpcapi

import (
	"errors"
	"log/slog"
	"net"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/server"
)

// Options configure a Server. Every field is optional.
type Options struct {
	Metrics *api.Metrics // request counts and latencies, as api "rpc"
	Logger  *slog.Logger // slog.Default() if nil
}

// Server serves the KV and Cluster services of one node.
type Server struct {
	node    *server.Node
	metrics *api.Metrics
	log     *slog.Logger
	rpc     *rpc.Server

	timeout    time.Duration // per call: limits.request_timeout
	maxRequest int64         // limits.max_request_bytes

	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup // Serve loops and connections
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rpcapi: server closed")

// NewServer returns a server for node's RPC API. Call Serve to accept
// connections.
func NewServer(node *server.Node, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	lim := node.Config().Limits
	s := &Server{
		node: node, metrics: opts.Metrics, log: log, rpc: rpc.NewServer(),
		timeout: time.Duration(lim.RequestTimeout), maxRequest: lim.MaxRequestBytes,
		listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{},
	}
	// Only methods of the right shape are exported on these types, so
	// registration cannot fail.
	if err := s.rpc.RegisterName("KV", &KV{s}); err != nil {
		panic(err)
	}
	if err := s.rpc.RegisterName("Cluster", &Cluster{s}); err != nil {
		panic(err)
	}
	return s
}

// Serve accepts connections on l until Close, serving each in its own
// goroutine. It returns ErrServerClosed after Close, or the listener's
// error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	var delay time.Duration // after a failed accept
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors, say: wait, and try again.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("rpc accept", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !s.track(conn) {
			conn.Close()
			return ErrServerClosed
		}
		go s.serveConn(conn)
	}
}

// track registers a new connection, unless the server is closing.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) serveConn(conn net.Conn) {
	defer s.wg.Done()
	// ServeCodec returns once the connection stops delivering requests and
	// every call on it has been answered; then it closes the connection.
	s.rpc.ServeCodec(newCodec(conn, s.maxRequest, &s.closing))
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

// Close stops accepting connections and reading new calls, waits until
// every call in flight has been answered (each is bounded by the node's
// request timeout), and closes every connection. It does not close the
// node.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	now := time.Now()
	for c := range s.conns {
		// A read deadline in the past wakes every connection's reader, so
		// no new call starts; calls already running finish and answer,
		// unless a client stops reading its answers for far too long.
		c.SetReadDeadline(now)
		c.SetWriteDeadline(now.Add(s.timeout + 5*time.Second))
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
