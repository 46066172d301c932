// Package transport carries Raft messages between real nodes: the Transport
// interface the node runner talks to, and TCP, its implementation over
// plain TCP connections.
//
// The Raft core (package raft) only produces messages and consumes them; it
// never learns how they travel. The transport's job is to move them quickly
// when the network is fine, and to fail cheaply and visibly when it is not.
// Raft already tolerates lost, duplicated and reordered messages — a leader
// resends what was not acknowledged, heartbeats repeat — so the transport
// never retries a message and never makes the caller wait.
//
// # Connections
//
// A node keeps one outgoing connection to each peer and writes every message
// for that peer into it; the peer's accept loop reads it. Messages flow one
// way only: Raft's answers are messages of their own (MsgAppResp, ...) and
// travel on the answering node's own connection the other way. So a
// three-node cluster has six message connections. A single long-lived
// connection per direction keeps the messages to one peer in order and
// avoids paying a TCP handshake per message.
//
// A snapshot, which may be gigabytes, gets a connection of its own for the
// length of one stream. On the message connection it would sit in front of
// the heartbeats for as long as it takes to send, and the follower would
// start an election in the middle of receiving the leader's state.
//
// # Handshake
//
// Every connection opens with a fixed-size hello from the dialer (magic
// "MKVR", protocol version, connection kind, cluster id, from, to, CRC-32C;
// see frame.go) and a one-byte answer. The acceptor refuses a wrong
// version, a foreign cluster, or a "to" that is not its own id — a node
// restarted on another machine's old address, say — and logs why. Without
// the check, a misconfigured node could feed its votes into another
// cluster's elections. A hello that is not ours at all (bad magic or
// checksum: a port scanner, an HTTP client on the wrong port) is closed
// without an answer.
//
// # Frames
//
// After the handshake, both kinds of connection carry frames:
//
//	length (4 bytes) | type (1) | crc32c (4) | payload (length bytes)
//
// Length-prefixed, because a message's bytes can contain anything, so no
// delimiter would do; and because the reader then knows how much to read
// without parsing. The length is checked against a maximum (64 MiB) before
// anything is allocated, and memory grows only as bytes really arrive: a
// corrupt or hostile length cannot make a node allocate gigabytes. The
// CRC-32C (Castagnoli: hardware accelerated on current CPUs) covers the
// length, the type and the payload, so corruption that slipped past TCP's
// weak 16-bit checksum — a bad NIC, a buggy middlebox — is detected and the
// connection closed instead of decoding garbage into a vote or an entry. A
// frame that fails any check ends the connection: once one length is in
// doubt, the next frame boundary is unknown.
//
// Frame types: message (one raft.Message in its raft.AppendMessage form),
// snapshot header (total data size, then the MsgSnap without data),
// snapshot chunk (the next bytes of data), snapshot end, snapshot ack (the
// receiver's verdict). A message connection carries only message frames.
//
// # Sending: queues, batching, backoff
//
// Send puts each message on its peer's queue (Config.QueueSize) and
// returns; when the queue is full the message is dropped. The node's loop
// must never block on a slow or dead peer: it has heartbeats to send to the
// others, and Raft resends what is lost.
//
// One goroutine per peer owns the connection. When it wakes up it writes
// every queued message through one bufio.Writer and flushes once the queue
// is empty: under load many messages share a syscall and a TCP segment;
// when idle, a lone heartbeat leaves at once (no waiting for company, as
// Nagle's algorithm would — Go turns it off on TCP connections by default).
//
// When a dial fails or a connection breaks, the goroutine waits before
// dialing again — 50 ms, doubling up to Config.MaxBackoff, each wait drawn
// at random between half and all of it (jitter, so that nodes that lost the
// same peer at the same moment do not redial in lockstep). While it waits,
// queued messages are dropped and Handler.ReportUnreachable is called once
// for the round, not once per message.
//
// # Snapshots
//
// A MsgSnap is not queued: Send starts a goroutine that reads the snapshot
// from SnapshotStore.Open and streams it in Config.ChunkBytes chunks; the
// receiver pipes the chunks into SnapshotStore.Receive as they arrive,
// checks the total size and the end frame, hands the MsgSnap (metadata
// only) to Handler.Process, and acknowledges. The sender reports the outcome
// with Handler.ReportSnapshot. Neither side holds the whole snapshot in
// memory, and at most one stream per peer runs at a time. The exchange is
// drawn in snapshot.go.
//
// # Shutdown
//
// Close stops the accept loop, closes every connection and waits for every
// goroutine the transport started; the Handler is not called after Close
// returns. RemovePeer closes one peer's connections.
package transport
