package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file holds the byte-level helpers shared by every encoding of the
// package: commands (command.go), results kept in sessions (result.go) and
// engine records (keys.go). Decoding is strict so that every value has
// exactly one encoding: a varint must be minimal, and nothing may trail.

var errShort = errors.New("truncated")

// decoder reads from b. The first error sticks: later reads return zero
// values, and the caller checks err once at the end. Byte strings are
// copies, unless alias is set: then they are slices of b (capped, so an
// append cannot write into b), for callers that own b and never change it.
type decoder struct {
	b     []byte
	err   error
	alias bool
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint reads a minimally encoded uvarint. binary.Uvarint also accepts
// padded forms such as 0x80 0x00 for 0; those would give one value two
// encodings, so they are rejected: a multi-byte varint must not end in 0.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail(errShort)
		return 0
	case n < 0:
		d.fail(errors.New("varint overflows 64 bits"))
		return 0
	case n > 1 && d.b[n-1] == 0:
		d.fail(errors.New("non-minimal varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads a zig-zag signed varint (binary.AppendVarint's form).
func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// boolean reads a byte that must be 0 or 1.
func (d *decoder) boolean() bool {
	switch c := d.byte(); c {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("bad boolean %#x", c))
		return false
	}
}

// bytes reads a length-prefixed byte string and returns a copy of it, or nil
// if it is empty (so decoded values never alias the input, and empty is
// always nil).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	var out []byte
	switch {
	case n == 0:
	case d.alias:
		out = d.b[:n:n]
	default:
		out = append([]byte(nil), d.b[:n]...)
	}
	d.b = d.b[n:]
	return out
}

// rest returns a copy of the remaining bytes (nil if none) and consumes them.
func (d *decoder) rest() []byte {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	out := d.b[:len(d.b):len(d.b)]
	if !d.alias {
		out = append([]byte(nil), d.b...)
	}
	d.b = nil
	return out
}

// finish returns the first error, or an error if bytes are left over.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// uvarintLen is the encoded size of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

func bytesLen(v []byte) int { return uvarintLen(uint64(len(v))) + len(v) }

// cloneOrNil copies b, returning nil for an empty b, the package's one
// representation of "no bytes".
func cloneOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
