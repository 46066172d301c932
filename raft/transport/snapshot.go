package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// A snapshot travels on a connection of its own (kind connSnapshot), so
// that megabytes of state never queue in front of a heartbeat:
//
//	sender                                    receiver
//	hello (kind snapshot)              →
//	                                   ←      handshake status
//	snapshot header (size, MsgSnap)    →      SnapshotStore.Receive starts
//	chunk, chunk, ... (ChunkBytes)     →      each piped into Receive
//	end                                →      size checked, Receive returns,
//	                                          Handler.Process(MsgSnap)
//	                                   ←      ack (ok | failed)
//	ReportSnapshot(to, ok)
//
// Neither side ever holds the whole snapshot: the sender reads ChunkBytes at
// a time from SnapshotStore.Open, the receiver hands each chunk to Receive
// through an io.Pipe, which blocks the reading side until the store has
// taken the bytes (TCP flow control then slows the sender down to the
// receiver's disk).

// startSnapshot starts streaming the snapshot m names to p, unless a stream
// to p is already running (then m is dropped: the running stream's outcome
// will be reported, and the leader waits for it). It reports false when m
// cannot be streamed at all and the caller must tell the Handler.
// Called with t.mu read-locked and t not closed.
func (t *TCP) startSnapshot(p *peer, m raft.Message) bool {
	if m.Snapshot == nil || t.cfg.Snapshots == nil {
		reason := "no SnapshotStore configured"
		if m.Snapshot == nil {
			reason = "message without snapshot"
		}
		t.dropped(p.id, 1)
		t.log.Error("cannot send MsgSnap", "peer", p.id, "reason", reason)
		return false
	}
	if !p.snapping.CompareAndSwap(false, true) {
		t.dropped(p.id, 1)
		t.log.Debug("snapshot stream already running; dropping MsgSnap", "peer", p.id,
			"index", m.Snapshot.Meta.Index)
		return true
	}
	t.wg.Add(1)
	go t.sendSnapshot(p, m)
	return true
}

// sendSnapshot streams one snapshot and reports how it ended.
func (t *TCP) sendSnapshot(p *peer, m raft.Message) {
	defer t.wg.Done()
	meta := m.Snapshot.Meta
	log := t.log.With("peer", p.id, "index", meta.Index, "term", meta.Term)
	start := time.Now()
	size, err := t.streamSnapshot(p, m)
	// Free the slot before reporting: the Handler may answer a failure with
	// a new MsgSnap at once.
	p.snapping.Store(false)
	if err != nil {
		if p.ctx.Err() != nil {
			log.Debug("snapshot stream stopped", "err", err)
		} else {
			log.Warn("snapshot stream failed", "err", err)
		}
		t.cfg.Handler.ReportSnapshot(p.id, false)
		return
	}
	log.Info("snapshot sent", "bytes", size, "took", time.Since(start).Round(time.Millisecond))
	if mt := t.cfg.Metrics; mt != nil && mt.MessagesSent != nil {
		mt.MessagesSent(raft.MsgSnap, 1)
	}
	t.cfg.Handler.ReportSnapshot(p.id, true)
}

// streamSnapshot is the sender's side of the exchange above. It returns the
// number of data bytes sent.
func (t *TCP) streamSnapshot(p *peer, m raft.Message) (int64, error) {
	meta := m.Snapshot.Meta
	rc, size, err := t.cfg.Snapshots.Open(meta)
	if err != nil {
		return 0, fmt.Errorf("open snapshot %d/%d: %w", meta.Index, meta.Term, err)
	}
	defer rc.Close()
	if size < 0 {
		return 0, fmt.Errorf("open snapshot %d/%d: negative size %d", meta.Index, meta.Term, size)
	}

	conn, err := t.dial(p.ctx, p.id, p.address(), connSnapshot)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		conn.Close()
		return 0, p.ctx.Err()
	}
	p.snap = conn
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.snap = nil
		p.mu.Unlock()
		conn.Close()
	}()

	write := func(frame []byte, typ frameType) error {
		if err := sealFrame(frame, typ); err != nil {
			return err
		}
		if err := conn.SetWriteDeadline(time.Now().Add(snapshotIOTimeout)); err != nil {
			return err
		}
		if _, err := conn.Write(frame); err != nil {
			return fmt.Errorf("write %s: %w", typ, err)
		}
		return nil
	}

	// The header: the size, then the message the receiver's core will get.
	hdr := m
	hdr.Snapshot = &raft.Snapshot{Meta: meta}
	buf := make([]byte, 0, frameHeaderSize+t.cfg.ChunkBytes)
	buf = beginFrame(buf)
	buf = binary.AppendUvarint(buf, uint64(size))
	buf = raft.AppendMessage(buf, hdr)
	if err := write(buf, frameSnapHeader); err != nil {
		return 0, err
	}

	// The data, read straight into the frame buffer behind its header.
	var sent int64
	for sent < size {
		k := int(min(int64(t.cfg.ChunkBytes), size-sent))
		buf = buf[:frameHeaderSize+k]
		if _, err := io.ReadFull(rc, buf[frameHeaderSize:]); err != nil {
			return sent, fmt.Errorf("read snapshot %d/%d after %d of %d bytes: %w",
				meta.Index, meta.Term, sent, size, noEOF(err))
		}
		if err := write(buf, frameSnapChunk); err != nil {
			return sent, err
		}
		sent += int64(k)
		if mt := t.cfg.Metrics; mt != nil && mt.SnapshotBytesSent != nil {
			mt.SnapshotBytesSent(int64(k))
		}
	}
	if err := write(beginFrame(buf), frameSnapEnd); err != nil {
		return sent, err
	}

	// The verdict.
	if err := conn.SetReadDeadline(time.Now().Add(snapshotAckTimeout)); err != nil {
		return sent, err
	}
	typ, ack, err := newFrameReader(conn).next(nil)
	if err != nil {
		return sent, fmt.Errorf("read snapshot ack: %w", noEOF(err))
	}
	if typ != frameSnapAck || len(ack) != 1 {
		return sent, fmt.Errorf("read snapshot ack: unexpected %s frame of %d bytes", typ, len(ack))
	}
	if ack[0] != snapAckOK {
		return sent, errors.New("the peer could not store the snapshot")
	}
	return sent, nil
}

// errStoreStopped is what the pipe's writer sees when SnapshotStore.Receive
// returned without an error before reading everything.
var errStoreStopped = errors.New("SnapshotStore.Receive returned before the end of the data")

// receiveSnapshot is the receiver's side of the exchange above.
func (t *TCP) receiveSnapshot(conn net.Conn, h hello, log *slog.Logger) {
	fr := newFrameReader(bufio.NewReaderSize(conn, 64<<10))
	if err := conn.SetReadDeadline(time.Now().Add(snapshotIOTimeout)); err != nil {
		return
	}
	typ, payload, err := fr.next(nil)
	if err != nil {
		t.logReadEnd(log, "snapshot stream ended before its header", err)
		return
	}
	m, size, err := decodeSnapHeader(typ, payload)
	if err == nil && (m.From != h.from || m.To != t.cfg.ID) {
		err = fmt.Errorf("MsgSnap %d→%d on a connection from %d", m.From, m.To, h.from)
	}
	if err != nil {
		log.Warn("closing snapshot stream: bad header", "err", err)
		return
	}
	meta := m.Snapshot.Meta
	log = log.With("index", meta.Index, "term", meta.Term, "bytes", size)
	log.Info("receiving snapshot")

	pr, pw := io.Pipe()
	stored := make(chan error, 1)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := t.cfg.Snapshots.Receive(meta, pr)
		// Unblock the frame loop if Receive stopped reading early.
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.CloseWithError(errStoreStopped)
		}
		stored <- err
	}()
	streamErr := pipeChunks(conn, fr, pw, size)
	if streamErr != nil {
		pw.CloseWithError(streamErr)
	} else {
		pw.Close()
	}
	storeErr := <-stored

	ack := snapAckOK
	switch {
	case storeErr != nil:
		log.Warn("snapshot not stored", "err", storeErr, "stream_err", streamErr)
		ack = snapAckFailed
	case streamErr != nil:
		t.logReadEnd(log, "snapshot stream broken", streamErr)
		ack = snapAckFailed
	default:
		if mt := t.cfg.Metrics; mt != nil && mt.MessagesReceived != nil {
			mt.MessagesReceived(raft.MsgSnap, 1)
		}
		t.cfg.Handler.Process(m)
		log.Info("snapshot received")
	}
	// Best effort: after a broken stream the connection is probably gone,
	// and then the sender learns of the failure from that.
	frame, _ := appendFrame(nil, frameSnapAck, []byte{ack})
	if conn.SetWriteDeadline(time.Now().Add(snapshotIOTimeout)) == nil {
		_, _ = conn.Write(frame)
	}
}

// decodeSnapHeader checks the first frame of a snapshot stream.
func decodeSnapHeader(typ frameType, payload []byte) (raft.Message, int64, error) {
	if typ != frameSnapHeader {
		return raft.Message{}, 0, fmt.Errorf("first frame is %s, not %s", typ, frameSnapHeader)
	}
	size, n := binary.Uvarint(payload)
	if n <= 0 || size > math.MaxInt64 {
		return raft.Message{}, 0, errors.New("bad snapshot size")
	}
	m, err := raft.DecodeMessage(payload[n:])
	if err != nil {
		return raft.Message{}, 0, err
	}
	if m.Type != raft.MsgSnap || m.Snapshot == nil || len(m.Snapshot.Data) != 0 {
		return raft.Message{}, 0, fmt.Errorf("header holds %s, not a MsgSnap with metadata only", m.Type)
	}
	m.Snapshot.Data = nil
	return m, int64(size), nil
}

// pipeChunks copies the chunk frames into w until the end frame, checking
// that exactly size bytes arrive.
func pipeChunks(conn net.Conn, fr *frameReader, w io.Writer, size int64) error {
	var got int64
	var buf []byte
	for {
		if err := conn.SetReadDeadline(time.Now().Add(snapshotIOTimeout)); err != nil {
			return err
		}
		typ, payload, err := fr.next(buf)
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, size, noEOF(err))
		}
		buf = payload // the pipe copies it out before Write returns
		switch typ {
		case frameSnapChunk:
			if int64(len(payload)) > size-got {
				return fmt.Errorf("more than the announced %d bytes", size)
			}
			if _, err := w.Write(payload); err != nil {
				return fmt.Errorf("hand snapshot data to the store: %w", err)
			}
			got += int64(len(payload))
		case frameSnapEnd:
			if got != size || len(payload) != 0 {
				return fmt.Errorf("end frame after %d of %d bytes", got, size)
			}
			return nil
		default:
			return fmt.Errorf("unexpected %s frame in a snapshot stream", typ)
		}
	}
}
