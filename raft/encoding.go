package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary forms below are what the WAL, the simulator's disk and the TCP
// transport store and send. Integers are uvarints; byte strings are a uvarint
// length followed by the bytes. The forms carry no version byte: the record
// or frame that holds them does.

var (
	errShort        = errors.New("raft: decode: truncated input")
	errNonCanonical = errors.New("raft: decode: non-canonical encoding")
)

// AppendEntry appends the binary form of e to b.
func AppendEntry(b []byte, e Entry) []byte {
	b = binary.AppendUvarint(b, e.Term)
	b = binary.AppendUvarint(b, e.Index)
	b = append(b, byte(e.Type))
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	return append(b, e.Data...)
}

// AppendHardState appends the binary form of h to b.
func AppendHardState(b []byte, h HardState) []byte {
	b = binary.AppendUvarint(b, h.Term)
	b = binary.AppendUvarint(b, h.Vote)
	return binary.AppendUvarint(b, h.Commit)
}

// AppendMessage appends the binary form of m to b.
func AppendMessage(b []byte, m Message) []byte {
	b = append(b, byte(m.Type))
	for _, v := range []uint64{m.From, m.To, m.Term, m.LogTerm, m.Index, m.Commit, m.RejectHint} {
		b = binary.AppendUvarint(b, v)
	}
	if m.Reject {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for _, e := range m.Entries {
		b = AppendEntry(b, e)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Context)))
	b = append(b, m.Context...)
	if m.Snapshot == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = AppendSnapshotMeta(b, m.Snapshot.Meta)
	b = binary.AppendUvarint(b, uint64(len(m.Snapshot.Data)))
	return append(b, m.Snapshot.Data...)
}

// AppendSnapshotMeta appends the binary form of meta to b.
func AppendSnapshotMeta(b []byte, meta SnapshotMeta) []byte {
	b = binary.AppendUvarint(b, meta.Index)
	b = binary.AppendUvarint(b, meta.Term)
	for _, ids := range [][]uint64{meta.Conf.Voters, meta.Conf.Learners} {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, id)
		}
	}
	return b
}

func (d *decoder) ids() []uint64 {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errShort
	}
	if d.err != nil || n == 0 {
		return nil
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = d.uvarint()
	}
	return ids
}

func (d *decoder) snapshotMeta() SnapshotMeta {
	return SnapshotMeta{Index: d.uvarint(), Term: d.uvarint(), Conf: ConfState{Voters: d.ids(), Learners: d.ids()}}
}

// DecodeSnapshotMeta reads one snapshot metadata from the front of b and
// returns the rest.
func DecodeSnapshotMeta(b []byte) (SnapshotMeta, []byte, error) {
	d := decoder{b: b}
	meta := d.snapshotMeta()
	return meta, d.b, d.err
}

// decoder reads the forms above, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	if n > 1 && d.b[n-1] == 0 {
		// An over-long encoding (say 0x80 0x00 for 0): our encoder never
		// writes one, so the bytes are corrupt, not merely unusual.
		d.err = errNonCanonical
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

func (d *decoder) entry() Entry {
	return Entry{Term: d.uvarint(), Index: d.uvarint(), Type: EntryType(d.byte()), Data: d.bytes()}
}

// DecodeEntry reads one entry from the front of b and returns the rest.
// Data aliases b.
func DecodeEntry(b []byte) (Entry, []byte, error) {
	d := decoder{b: b}
	e := d.entry()
	return e, d.b, d.err
}

// DecodeHardState reads one hard state from the front of b and returns the rest.
func DecodeHardState(b []byte) (HardState, []byte, error) {
	d := decoder{b: b}
	h := HardState{Term: d.uvarint(), Vote: d.uvarint(), Commit: d.uvarint()}
	return h, d.b, d.err
}

// DecodeMessage reads one message from b, which must hold exactly one.
// Entry data aliases b.
func DecodeMessage(b []byte) (Message, error) {
	d := decoder{b: b}
	m := Message{Type: MessageType(d.byte())}
	m.From, m.To, m.Term, m.LogTerm = d.uvarint(), d.uvarint(), d.uvarint(), d.uvarint()
	m.Index, m.Commit, m.RejectHint = d.uvarint(), d.uvarint(), d.uvarint()
	switch d.byte() {
	case 0:
	case 1:
		m.Reject = true
	default:
		if d.err == nil {
			d.err = errNonCanonical
		}
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // every entry takes at least one byte
		return Message{}, fmt.Errorf("raft: decode message: %d entries in %d bytes", n, len(d.b))
	}
	if n > 0 {
		m.Entries = make([]Entry, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.Entries = append(m.Entries, d.entry())
	}
	m.Context = d.bytes()
	switch d.byte() {
	case 0:
	case 1:
		m.Snapshot = &Snapshot{Meta: d.snapshotMeta(), Data: d.bytes()}
	default:
		if d.err == nil {
			d.err = errNonCanonical
		}
	}
	if d.err != nil {
		return Message{}, fmt.Errorf("raft: decode message: %w", d.err)
	}
	if len(d.b) != 0 {
		return Message{}, fmt.Errorf("raft: decode message: %d trailing bytes", len(d.b))
	}
	return m, nil
}

// AppendReadyRecord appends the binary form of what one Ready asks to
// persist: a flag and the hard state if it changed, then the entries (which
// replace the log from their first index on). The simulator's disk and the
// real WAL both store it.
func AppendReadyRecord(b []byte, hs HardState, ents []Entry) []byte {
	if hs.IsEmpty() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = AppendHardState(b, hs)
	}
	b = binary.AppendUvarint(b, uint64(len(ents)))
	for _, e := range ents {
		b = AppendEntry(b, e)
	}
	return b
}

// DecodeReadyRecord reads what AppendReadyRecord wrote from the front of b
// and returns the rest. hasHS tells whether a hard state was recorded; the
// entries must have consecutive indices. Entry data aliases b.
func DecodeReadyRecord(b []byte) (hs HardState, hasHS bool, ents []Entry, rest []byte, err error) {
	d := decoder{b: b}
	switch d.byte() {
	case 0:
	case 1:
		hasHS = true
		hs = HardState{Term: d.uvarint(), Vote: d.uvarint(), Commit: d.uvarint()}
	default:
		if d.err == nil {
			d.err = errNonCanonical
		}
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // every entry takes at least one byte
		d.err = fmt.Errorf("%d entries in %d bytes", n, len(d.b))
	}
	if d.err == nil && n > 0 {
		ents = make([]Entry, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := d.entry()
		if d.err == nil && i > 0 && e.Index != ents[i-1].Index+1 {
			d.err = fmt.Errorf("entry index %d follows %d", e.Index, ents[i-1].Index)
		}
		ents = append(ents, e)
	}
	if d.err != nil {
		return HardState{}, false, nil, b, fmt.Errorf("raft: decode ready record: %w", d.err)
	}
	return hs, hasHS, ents, d.b, nil
}
