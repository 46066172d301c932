package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/minikv-go/minikv/raft"
)

func TestFrameRoundTrip(t *testing.T) {
	payloads := [][]byte{nil, {0}, []byte("hello"), bytes.Repeat([]byte{0xab}, 3*readStep+17)}
	var stream []byte
	for i, p := range payloads {
		var err error
		stream, err = appendFrame(stream, frameType(i%5+1), p)
		if err != nil {
			t.Fatal(err)
		}
	}
	fr := newFrameReader(bytes.NewReader(stream))
	for i, want := range payloads {
		typ, got, err := fr.next(nil)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if typ != frameType(i%5+1) || !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %s %d bytes, want %s %d bytes", i, typ, len(got), frameType(i%5+1), len(want))
		}
	}
	if _, _, err := fr.next(nil); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameReuseBuffer(t *testing.T) {
	stream, _ := appendFrame(nil, frameSnapChunk, []byte("abc"))
	stream, _ = appendFrame(stream, frameSnapChunk, []byte("de"))
	fr := newFrameReader(bytes.NewReader(stream))
	buf := make([]byte, 0, 16)
	_, p1, _ := fr.next(buf)
	if &p1[0] != &buf[:1][0] {
		t.Fatal("payload that fits was not read into the given buffer")
	}
	_, p2, _ := fr.next(p1)
	if string(p2) != "de" {
		t.Fatalf("second payload %q", p2)
	}
}

func TestReadFrameRejects(t *testing.T) {
	good, _ := appendFrame(nil, frameMessage, []byte("payload"))
	corrupt := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	tooLong := bytes.Clone(good)
	binary.BigEndian.PutUint32(tooLong[0:4], maxFrameSize+1)
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint32(huge[0:4], 0xffffffff)
	badType, _ := appendFrame(nil, frameType(0), nil)
	badType2, _ := appendFrame(nil, frameType(99), nil)

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short header", good[:5], io.ErrUnexpectedEOF},
		{"short payload", good[:len(good)-1], io.ErrUnexpectedEOF},
		{"payload bit flip", corrupt(len(good) - 1), errFrameChecksum},
		{"checksum bit flip", corrupt(6), errFrameChecksum},
		{"length bit flip (shorter)", corrupt(3), nil}, // checksum or short read
		{"length above max", tooLong, errFrameTooLarge},
		{"length 4 GiB", huge, errFrameTooLarge},
		{"type 0", badType, errFrameType},
		{"type 99", badType2, errFrameType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := newFrameReader(bytes.NewReader(tc.in)).next(nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSealFrameTooLarge(t *testing.T) {
	b := make([]byte, frameHeaderSize+maxFrameSize+1)
	if err := sealFrame(b, frameMessage); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("sealFrame of an oversized payload: %v", err)
	}
}

// A length near the maximum with hardly any bytes behind it must cost
// memory in proportion to the bytes, not to the length.
func TestReadFrameDoesNotTrustLength(t *testing.T) {
	b := make([]byte, frameHeaderSize+100)
	binary.BigEndian.PutUint32(b[0:4], maxFrameSize)
	b[4] = byte(frameMessage)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, err := newFrameReader(bytes.NewReader(b)).next(nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want unexpected EOF", err)
		}
	}
	runtime.ReadMemStats(&after)
	if perRead := (after.TotalAlloc - before.TotalAlloc) / 10; perRead > 2*readStep {
		t.Fatalf("a truncated %d-byte frame allocated %d bytes per read", maxFrameSize, perRead)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	h := hello{version: protocolVersion, kind: connSnapshot, cluster: 1 << 60, from: 3, to: 1<<64 - 1}
	b := h.encode()
	got, err := decodeHello(b)
	if err != nil || got != h {
		t.Fatalf("decodeHello = %+v, %v; want %+v", got, err, h)
	}
	b[0] = 'X'
	if _, err := decodeHello(b); !errors.Is(err, errBadMagic) {
		t.Fatalf("bad magic: %v", err)
	}
	b = h.encode()
	b[20] ^= 1
	if _, err := decodeHello(b); !errors.Is(err, errHandshakeChecksum) {
		t.Fatalf("flipped bit: %v", err)
	}
}

func TestSnapHeaderChecks(t *testing.T) {
	meta := raft.SnapshotMeta{Index: 9, Term: 2, Conf: raft.ConfState{Voters: []uint64{1, 2, 3}}}
	header := func(size uint64, m raft.Message) []byte {
		return raft.AppendMessage(binary.AppendUvarint(nil, size), m)
	}
	ok := raft.Message{Type: raft.MsgSnap, From: 1, To: 2, Term: 2, Snapshot: &raft.Snapshot{Meta: meta}}
	m, size, err := decodeSnapHeader(frameSnapHeader, header(1234, ok))
	if err != nil || size != 1234 || m.Snapshot.Meta.Index != 9 || m.Snapshot.Data != nil {
		t.Fatalf("good header: %v %d %v", m, size, err)
	}
	withData := ok
	withData.Snapshot = &raft.Snapshot{Meta: meta, Data: []byte("x")}
	noSnap := ok
	noSnap.Snapshot = nil
	notSnap := ok
	notSnap.Type = raft.MsgApp
	for name, b := range map[string][]byte{
		"data inline":  header(1, withData),
		"no snapshot":  header(1, noSnap),
		"not MsgSnap":  header(1, notSnap),
		"size too big": header(1<<63, ok),
		"empty":        nil,
		"garbage":      []byte{0xff, 0xff, 0xff},
	} {
		if _, _, err := decodeSnapHeader(frameSnapHeader, b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := decodeSnapHeader(frameSnapChunk, header(1, ok)); err == nil {
		t.Error("chunk frame accepted as header")
	}
}

// FuzzReadFrame: arbitrary bytes never panic the frame reader nor make it
// return more than its maximum, and any payload written as a frame reads
// back equal.
func FuzzReadFrame(f *testing.F) {
	good, _ := appendFrame(nil, frameMessage, raft.AppendMessage(nil, raft.Message{
		Type: raft.MsgApp, From: 1, To: 2, Term: 3,
		Entries: []raft.Entry{{Term: 3, Index: 4, Data: []byte("x")}},
	}))
	two, _ := appendFrame(bytes.Clone(good), frameSnapEnd, nil)
	f.Add(good)
	f.Add(two)
	f.Add(good[:len(good)-1])
	f.Add([]byte{0, 0, 0x10, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0})
	f.Add([]byte("MKVR garbage"))
	const max = 4 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		// Written then read: equal.
		if len(data) <= max {
			frame, err := appendFrame(nil, frameSnapChunk, data)
			if err != nil {
				t.Fatal(err)
			}
			fr := &frameReader{r: bytes.NewReader(frame), max: max}
			typ, got, err := fr.next(nil)
			if err != nil || typ != frameSnapChunk || !bytes.Equal(got, data) {
				t.Fatalf("round trip: %s %x %v", typ, got, err)
			}
		}
		// Read as a stream: no panic, nothing beyond max, and every frame
		// that checks out re-encodes to the same bytes.
		fr := &frameReader{r: bytes.NewReader(data), max: max}
		rest := data
		for {
			typ, p, err := fr.next(nil)
			if err != nil {
				return
			}
			if len(p) > max || cap(p) > max {
				t.Fatalf("payload of %d bytes (cap %d), max %d", len(p), cap(p), max)
			}
			re, err := appendFrame(nil, typ, p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(rest, re) {
				t.Fatalf("frame %s re-encodes differently", typ)
			}
			rest = rest[len(re):]
		}
	})
}
