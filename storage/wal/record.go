package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/minikv-go/minikv/raft"
)

// Every record in a segment file is one frame:
//
//	offset  size  field
//	0       4     payload length, little endian
//	4       1     record type (recHardState, recEntries, recSnapshot)
//	5       3     reserved, zero
//	8       4     crc32c of the payload
//	12      4     crc32c of bytes 0..12 (the header checksum)
//	16      n     payload
//
// The header has a checksum of its own so that a damaged length can never be
// trusted: a record whose header checks out tells exactly where the next
// record starts, which is what lets recovery tell a torn tail (nothing intact
// follows) from corruption in the middle (an intact record follows).
const (
	headerSize = 16
	// maxPayload bounds one record. A header that checks out never claims
	// more; it is a sanity limit for Save.
	maxPayload = 1 << 30
)

// Record types.
const (
	// recHardState holds a raft.HardState (raft.AppendHardState). Each
	// segment starts with one, so that a segment does not need the ones
	// before it to know the term and vote.
	recHardState byte = 1
	// recEntries holds what one Save was given: a flag byte (1 = a hard
	// state follows), the hard state, a uvarint count, and that many
	// entries (raft.AppendEntry). The entries replace the log from the
	// first one's index on. One record, one checksum: the hard state and
	// the entries reach the disk together or not at all.
	recEntries byte = 2
	// recSnapshot holds a raft.SnapshotMeta (raft.AppendSnapshotMeta): the
	// state machine's snapshot at Meta.Index is durable, so the log up to it
	// is no longer needed.
	recSnapshot byte = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends a framed record of type typ holding payload to b.
func appendFrame(b []byte, typ byte, payload []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	b = append(b, payload...)
	sealFrame(b[start:], typ)
	return b
}

// sealFrame fills in the header of frame, whose payload is already in place
// after headerSize bytes of room.
func sealFrame(frame []byte, typ byte) {
	h, payload := frame[:headerSize], frame[headerSize:]
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	h[4], h[5], h[6], h[7] = typ, 0, 0, 0
	binary.LittleEndian.PutUint32(h[8:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(h[:12], castagnoli))
}

// frameError says why the frame at some offset could not be read.
type frameError int

const (
	frameOK          frameError = iota
	frameShortHeader            // fewer than headerSize bytes left
	frameBadHeader              // header checksum, reserved bytes or type wrong
	frameShortData              // the header claims more bytes than there are
	frameBadData                // payload checksum wrong
)

func (e frameError) String() string {
	switch e {
	case frameShortHeader:
		return "incomplete record header"
	case frameBadHeader:
		return "bad record header checksum"
	case frameShortData:
		return "incomplete record payload"
	case frameBadData:
		return "bad record payload checksum"
	}
	return "ok"
}

// readFrame reads the frame at the front of b. It returns the record type,
// the payload (aliasing b) and the frame's total size.
func readFrame(b []byte) (typ byte, payload []byte, size int, ferr frameError) {
	if len(b) < headerSize {
		return 0, nil, 0, frameShortHeader
	}
	h := b[:headerSize]
	if crc32.Checksum(h[:12], castagnoli) != binary.LittleEndian.Uint32(h[12:]) ||
		h[5] != 0 || h[6] != 0 || h[7] != 0 {
		return 0, nil, 0, frameBadHeader
	}
	n := binary.LittleEndian.Uint32(h[0:])
	typ = h[4]
	if n > maxPayload || typ < recHardState || typ > recSnapshot {
		return 0, nil, 0, frameBadHeader
	}
	if uint64(len(b)-headerSize) < uint64(n) {
		return typ, nil, 0, frameShortData
	}
	payload = b[headerSize : headerSize+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(h[8:]) {
		return typ, nil, headerSize + int(n), frameBadData
	}
	return typ, payload, headerSize + int(n), frameOK
}

// intactFrameAt reports the offset of the first intact frame in b at or after
// from, or -1 if there is none.
func intactFrameAt(b []byte, from int) int {
	for off := from; off+headerSize <= len(b); off++ {
		if _, _, _, ferr := readFrame(b[off:]); ferr == frameOK {
			return off
		}
	}
	return -1
}

// record is one decoded record.
type record struct {
	typ     byte
	hs      raft.HardState // recHardState, recEntries (when hasHS)
	hasHS   bool
	entries []raft.Entry // recEntries; Data aliases the payload
	snap    raft.SnapshotMeta
}

func encodeEntries(b []byte, hs raft.HardState, ents []raft.Entry) []byte {
	return raft.AppendReadyRecord(b, hs, ents)
}

var errTrailing = errors.New("trailing bytes after the record's content")

// decodeRecord decodes the payload of a record of type typ.
func decodeRecord(typ byte, p []byte) (record, error) {
	r := record{typ: typ}
	var err error
	switch typ {
	case recHardState:
		r.hs, p, err = raft.DecodeHardState(p)
		r.hasHS = true
	case recSnapshot:
		r.snap, p, err = raft.DecodeSnapshotMeta(p)
	case recEntries:
		if len(p) == 0 {
			return r, errors.New("empty entries record")
		}
		r.hs, r.hasHS, r.entries, p, err = raft.DecodeReadyRecord(p)
	default:
		return r, fmt.Errorf("unknown record type %d", typ)
	}
	if err != nil {
		return r, err
	}
	if len(p) != 0 {
		return r, errTrailing
	}
	return r, nil
}

// DecodeFrames reads the framed records in b, stopping at the first frame
// that is incomplete or damaged. It returns the number of bytes of intact
// records read and the first decode error, if any. It is the frame reader
// recovery uses, exported for tools and for the fuzz test.
func DecodeFrames(b []byte) (n int, err error) {
	for n < len(b) {
		typ, payload, size, ferr := readFrame(b[n:])
		if ferr != frameOK {
			return n, fmt.Errorf("wal: at offset %d: %s", n, ferr)
		}
		if _, err := decodeRecord(typ, payload); err != nil {
			return n, fmt.Errorf("wal: at offset %d: %w", n, err)
		}
		n += size
	}
	return n, nil
}
