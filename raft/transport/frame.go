package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A frame on the wire (after the handshake), all integers big endian:
//
//	offset  size  field
//	0       4     payload length n (at most maxFrameSize)
//	4       1     frame type
//	5       4     crc32c of bytes 0..5 and of the payload
//	9       n     payload
const (
	frameHeaderSize = 9
	// maxFrameSize bounds one payload. The largest legitimate frame is a
	// MsgApp, whose entry bytes the core bounds with Config.MaxSizePerMsg
	// (1 MiB by default); 64 MiB leaves room for a generous setting while
	// keeping a corrupt or hostile length from costing gigabytes.
	maxFrameSize = 64 << 20
	// readStep is how much payload the reader allocates ahead of the bytes
	// that have actually arrived, so that a length that lies costs at most
	// this much memory, not maxFrameSize.
	readStep = 1 << 20
)

// frameType says what a frame's payload holds.
type frameType uint8

const (
	// frameMessage: one raft message, raft.AppendMessage. Message
	// connections carry nothing else.
	frameMessage frameType = iota + 1
	// frameSnapHeader: the first frame of a snapshot stream: the total data
	// size (uvarint) followed by the MsgSnap (raft.AppendMessage) with its
	// metadata and no data.
	frameSnapHeader
	// frameSnapChunk: the next bytes of the snapshot's data.
	frameSnapChunk
	// frameSnapEnd: the sender has sent every byte; empty payload.
	frameSnapEnd
	// frameSnapAck: the receiver's verdict, one byte: snapAckOK or
	// snapAckFailed. The only frame that travels from receiver to sender.
	frameSnapAck
)

const (
	snapAckOK     byte = 0
	snapAckFailed byte = 1
)

func (t frameType) String() string {
	switch t {
	case frameMessage:
		return "message"
	case frameSnapHeader:
		return "snapshot-header"
	case frameSnapChunk:
		return "snapshot-chunk"
	case frameSnapEnd:
		return "snapshot-end"
	case frameSnapAck:
		return "snapshot-ack"
	}
	return fmt.Sprintf("frameType(%d)", uint8(t))
}

func (t frameType) valid() bool { return t >= frameMessage && t <= frameSnapAck }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errFrameTooLarge = errors.New("transport: frame longer than the maximum")
	errFrameChecksum = errors.New("transport: frame checksum mismatch")
	errFrameType     = errors.New("transport: unknown frame type")
)

// beginFrame returns b with room for a frame header; the caller appends the
// payload and then calls sealFrame on the result.
func beginFrame(b []byte) []byte {
	return append(b[:0], make([]byte, frameHeaderSize)...)
}

// sealFrame fills in the header of frame b (header room + payload).
func sealFrame(b []byte, t frameType) error {
	n := len(b) - frameHeaderSize
	if n > maxFrameSize {
		return fmt.Errorf("%w: %s frame of %d bytes (max %d)", errFrameTooLarge, t, n, maxFrameSize)
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(n))
	b[4] = byte(t)
	crc := crc32.Update(0, castagnoli, b[0:5])
	crc = crc32.Update(crc, castagnoli, b[frameHeaderSize:])
	binary.BigEndian.PutUint32(b[5:9], crc)
	return nil
}

// appendFrame appends a whole frame of type t holding payload to b.
func appendFrame(b []byte, t frameType, payload []byte) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, frameHeaderSize)...)
	b = append(b, payload...)
	if err := sealFrame(b[start:], t); err != nil {
		return b[:start], err
	}
	return b, nil
}

// frameReader reads frames from a stream.
type frameReader struct {
	r   io.Reader
	max int // largest payload accepted; maxFrameSize except in tests
	hdr [frameHeaderSize]byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r, max: maxFrameSize}
}

// next reads one frame. The payload is read into buf when it fits (pass the
// previous payload to reuse its memory), otherwise into new memory. At a
// clean end of stream (no byte of a new frame) it returns io.EOF; a frame
// cut short is io.ErrUnexpectedEOF. A length above the maximum, an unknown
// type or a checksum mismatch is an error, and the stream is then unusable:
// there is no way to find the next frame boundary, so the caller closes the
// connection.
func (fr *frameReader) next(buf []byte) (frameType, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[0:4])
	if uint64(n) > uint64(fr.max) {
		return 0, nil, fmt.Errorf("%w: length %d (max %d)", errFrameTooLarge, n, fr.max)
	}
	t := frameType(fr.hdr[4])
	if !t.valid() {
		return 0, nil, fmt.Errorf("%w: %d", errFrameType, fr.hdr[4])
	}
	payload, err := readPayload(fr.r, buf, int(n))
	if err != nil {
		return 0, nil, fmt.Errorf("read %s frame of %d bytes: %w", t, n, noEOF(err))
	}
	crc := crc32.Update(0, castagnoli, fr.hdr[0:5])
	crc = crc32.Update(crc, castagnoli, payload)
	if want := binary.BigEndian.Uint32(fr.hdr[5:9]); crc != want {
		return 0, nil, fmt.Errorf("%w: %s frame of %d bytes", errFrameChecksum, t, n)
	}
	return t, payload, nil
}

// readPayload reads n bytes. The length came from the network and only
// the checksum, checked after the read, says whether it is true; so memory
// grows with the bytes that actually arrive (readStep at a time), never
// straight to n.
func readPayload(r io.Reader, buf []byte, n int) ([]byte, error) {
	if cap(buf) >= n {
		buf = buf[:n]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	if n <= readStep {
		buf = make([]byte, n)
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf = buf[:0]
	for len(buf) < n {
		k := min(n-len(buf), readStep)
		if cap(buf)-len(buf) < k {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), len(buf)+k)))
			copy(grown, buf)
			buf = grown
		}
		if _, err := io.ReadFull(r, buf[len(buf):len(buf)+k]); err != nil {
			return nil, err
		}
		buf = buf[:len(buf)+k]
	}
	return buf, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a frame, the end of the
// stream is always unexpected.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// The handshake opens every connection: the dialer sends a fixed-size hello,
// the acceptor answers with one status byte and, unless it is
// handshakeOK, closes the connection. All integers big endian:
//
//	offset  size  field
//	0       4     magic "MKVR"
//	4       2     protocol version (protocolVersion)
//	6       1     connection kind (connMessages, connSnapshot)
//	7       1     reserved, zero
//	8       8     cluster id
//	16      8     from: the dialer's node id
//	24      8     to: the node id the dialer means to reach
//	32      4     crc32c of bytes 0..32
const (
	handshakeSize   = 36
	protocolVersion = 1
)

var handshakeMagic = [4]byte{'M', 'K', 'V', 'R'}

// connKind says what a connection carries.
type connKind uint8

const (
	connMessages connKind = 1 // a long-lived, one-way stream of message frames
	connSnapshot connKind = 2 // one snapshot stream, then the receiver's ack
)

func (k connKind) String() string {
	switch k {
	case connMessages:
		return "messages"
	case connSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("connKind(%d)", uint8(k))
}

// Handshake answers. A hello that is not ours at all (wrong magic or
// checksum) gets no answer: the connection is simply closed.
const (
	handshakeOK           byte = 0
	handshakeBadVersion   byte = 1
	handshakeWrongCluster byte = 2
	handshakeWrongNode    byte = 3
	handshakeBadKind      byte = 4
)

func handshakeStatusText(s byte) string {
	switch s {
	case handshakeOK:
		return "ok"
	case handshakeBadVersion:
		return "unsupported protocol version"
	case handshakeWrongCluster:
		return "wrong cluster id"
	case handshakeWrongNode:
		return "wrong node id"
	case handshakeBadKind:
		return "unsupported connection kind"
	}
	return fmt.Sprintf("status %d", s)
}

// hello is the dialer's half of the handshake.
type hello struct {
	version uint16
	kind    connKind
	cluster uint64
	from    uint64
	to      uint64
}

func (h hello) encode() [handshakeSize]byte {
	var b [handshakeSize]byte
	copy(b[0:4], handshakeMagic[:])
	binary.BigEndian.PutUint16(b[4:6], h.version)
	b[6] = byte(h.kind)
	binary.BigEndian.PutUint64(b[8:16], h.cluster)
	binary.BigEndian.PutUint64(b[16:24], h.from)
	binary.BigEndian.PutUint64(b[24:32], h.to)
	binary.BigEndian.PutUint32(b[32:36], crc32.Checksum(b[0:32], castagnoli))
	return b
}

var (
	errBadMagic          = errors.New("not a minikv raft transport connection (bad magic)")
	errHandshakeChecksum = errors.New("handshake checksum mismatch")
)

// decodeHello checks that b is one of our hellos; whether it is acceptable
// (version, cluster, node) is the acceptor's business.
func decodeHello(b [handshakeSize]byte) (hello, error) {
	if [4]byte(b[0:4]) != handshakeMagic {
		return hello{}, errBadMagic
	}
	if crc32.Checksum(b[0:32], castagnoli) != binary.BigEndian.Uint32(b[32:36]) {
		return hello{}, errHandshakeChecksum
	}
	return hello{
		version: binary.BigEndian.Uint16(b[4:6]),
		kind:    connKind(b[6]),
		cluster: binary.BigEndian.Uint64(b[8:16]),
		from:    binary.BigEndian.Uint64(b[16:24]),
		to:      binary.BigEndian.Uint64(b[24:32]),
	}, nil
}
