package transport

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// Transport moves raft messages between nodes. Send never blocks on the
// network: messages are queued per peer and dropped when the queue is full
// or the peer unreachable (Raft tolerates loss and retries).
type Transport interface {
	// Send queues msgs for their peers (Message.To) and returns at once. The
	// transport encodes them later, on another goroutine: the caller must not
	// modify a message, its entries or its context after handing it over.
	Send(msgs []raft.Message)
	// AddPeer makes id reachable at addr, or moves it to a new address.
	AddPeer(id uint64, addr string)
	// RemovePeer forgets id: its connection is closed and its queue dropped.
	RemovePeer(id uint64)
	// Close stops the transport and waits for all its goroutines.
	Close() error
}

// Handler is what the transport delivers to (the node runner implements it).
// Its methods are called from the transport's goroutines, several at once,
// never from within Send and never while the transport holds a lock: they
// may call back into the transport, or wait for the goroutine that calls
// Send.
type Handler interface {
	// Process receives one message from a peer. For MsgSnap the snapshot's
	// data has already been received completely and handed to
	// SnapshotStore.Receive; the message carries only the metadata
	// (m.Snapshot.Data is nil). Process must not block for long: the
	// connection it came from waits for it.
	Process(m raft.Message)
	// ReportUnreachable: a message to id could not be sent (connection
	// failed). Called when messages to id were dropped because a dial, a
	// handshake or the connection failed — at most once per failed
	// connection attempt, not once per dropped message.
	ReportUnreachable(id uint64)
	// ReportSnapshot: the outcome of streaming a snapshot to id (ok = the
	// peer received it all and stored it).
	ReportSnapshot(id uint64, ok bool)
}

// SnapshotStore gives the transport snapshot bytes to stream, and takes the
// ones it receives, so that a snapshot is never held whole in memory.
type SnapshotStore interface {
	// Open returns the data of the local snapshot meta names (the core
	// names, in MsgSnap, the snapshot the node last took or installed), and
	// its size.
	Open(meta raft.SnapshotMeta) (io.ReadCloser, int64, error)
	// Receive consumes the data of a snapshot streamed by a peer; it returns
	// once r is drained and the data is safely stored (or an error, and the
	// transport then drops the message and reports nothing to raft — the
	// leader will retry). When the stream breaks, a Read of r returns an
	// error: Receive must then throw the partial data away.
	Receive(meta raft.SnapshotMeta, r io.Reader) error
}

// Config configures a TCP transport. Zero values mean the defaults.
type Config struct {
	ID          uint64        // this node; must not be 0
	ClusterID   uint64        // peers of another cluster are refused at handshake
	ListenAddr  string        // e.g. "127.0.0.1:7001"; ":0" picks a port (see Addr)
	Handler     Handler       // required
	Snapshots   SnapshotStore // nil: snapshots can be neither sent nor received
	Logger      *slog.Logger  // nil: slog.Default()
	QueueSize   int           // per-peer message queue; default 4096
	DialTimeout time.Duration // connect + handshake; default 1s
	MaxBackoff  time.Duration // reconnect backoff cap; default 1s
	ChunkBytes  int           // snapshot chunk size; default 256 KiB
	Metrics     *Metrics      // optional (nil = none)
}

// Metrics lets the caller count what the transport does without this package
// importing a metrics library. Any field may be nil. The functions are
// called from several goroutines at once, sometimes with the transport's
// lock held: they must be quick and must not call into the transport.
type Metrics struct {
	// MessagesSent counts messages written to a peer's connection (a
	// snapshot counts once, when the peer acknowledged it).
	MessagesSent func(t raft.MessageType, n int)
	// MessagesReceived counts messages handed to Handler.Process.
	MessagesReceived func(t raft.MessageType, n int)
	// MessagesDropped counts messages to peer that were not sent: queue
	// full, peer unknown or unreachable, connection broken mid-batch.
	MessagesDropped func(peer uint64, n int)
	// SnapshotBytesSent counts snapshot data bytes written to connections.
	SnapshotBytesSent func(n int64)
}

const (
	defaultQueueSize   = 4096
	defaultDialTimeout = time.Second
	defaultMaxBackoff  = time.Second
	defaultChunkBytes  = 256 << 10
	// minBackoff is the first wait after a failed connection; it doubles up
	// to Config.MaxBackoff.
	minBackoff = 50 * time.Millisecond
)

// Timeouts that guard against a peer that stops reading or writing without
// closing the connection (a hung process, a dead host whose TCP state
// lingers). They are generous: they catch stalls, not slowness.
const (
	// handshakeTimeout bounds how long an accepted connection may take to
	// say who it is.
	handshakeTimeout = 5 * time.Second
	// messageWriteTimeout bounds writing one batch of messages.
	messageWriteTimeout = 10 * time.Second
	// snapshotIOTimeout bounds each frame of a snapshot stream, both ways.
	// The receiver stops reading while its store writes to disk, so this is
	// also how long a store may take per chunk.
	snapshotIOTimeout = 30 * time.Second
	// snapshotAckTimeout bounds the wait for the receiver's verdict after
	// the last chunk: it stores the snapshot durably (fsync) before answering.
	snapshotAckTimeout = time.Minute
)

func (c Config) withDefaults() (Config, error) {
	if c.ID == 0 {
		return c, errors.New("transport: Config.ID must not be 0")
	}
	if c.Handler == nil {
		return c, errors.New("transport: Config.Handler is required")
	}
	if c.ListenAddr == "" {
		return c, errors.New("transport: Config.ListenAddr is required (\"127.0.0.1:0\" picks a free port)")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.QueueSize <= 0 {
		c.QueueSize = defaultQueueSize
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = defaultChunkBytes
	}
	c.ChunkBytes = min(c.ChunkBytes, maxFrameSize)
	return c, nil
}
