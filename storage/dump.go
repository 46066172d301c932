package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// The dump stream, written by Dump and read by Restore, is engine-neutral:
//
//	magic   "MKVDUMP1"
//	entry*  0x01, uvarint(len key), uvarint(len value), key, value
//	end     0x00, uvarint(entry count), CRC-32C (big endian) of every byte before it
//
// Entries are in strictly ascending key order. Neither side ever holds more
// than one entry (Dump) or one restore batch (Restore) in memory.
const dumpMagic = "MKVDUMP1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Dump writes every entry visible to r (normally a Snapshot) to w.
func Dump(r Reader, w io.Writer) error {
	it, err := r.Iter(IterOptions{})
	if err != nil {
		return err
	}
	defer it.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	h := crc32.New(castagnoli)
	out := io.MultiWriter(bw, h)
	var hdr [1 + 2*binary.MaxVarintLen64]byte
	if _, err := io.WriteString(out, dumpMagic); err != nil {
		return err
	}
	var count uint64
	for it.Next() {
		k, v := it.Key(), it.Value()
		hdr[0] = 1
		n := 1 + binary.PutUvarint(hdr[1:], uint64(len(k)))
		n += binary.PutUvarint(hdr[n:], uint64(len(v)))
		if _, err := out.Write(hdr[:n]); err != nil {
			return err
		}
		if _, err := out.Write(k); err != nil {
			return err
		}
		if _, err := out.Write(v); err != nil {
			return err
		}
		count++
	}
	if err := it.Err(); err != nil {
		return err
	}
	hdr[0] = 0
	n := 1 + binary.PutUvarint(hdr[1:], count)
	if _, err := out.Write(hdr[:n]); err != nil {
		return err
	}
	if _, err := bw.Write(binary.BigEndian.AppendUint32(nil, h.Sum32())); err != nil {
		return err
	}
	return bw.Flush()
}

// restoreBatchBytes is how much Restore buffers before applying a batch.
const restoreBatchBytes = 1 << 20

// Restore replaces the whole content of e with the dump read from r.
//
// Restore is not atomic: it deletes the current entries and writes the new
// ones in batches of about 1 MiB, and verifies the checksum at the end of the
// stream. If it returns an error the engine holds an arbitrary mix and the
// caller must restore again before using it (the kv layer records the
// snapshot's index only after Restore succeeds). On success the last batch
// is fsynced, and all earlier ones are durable with it on every engine
// (pebble's WAL and bbolt's commits are ordered).
func Restore(e Engine, r io.Reader) error {
	if err := clearAll(e); err != nil {
		return err
	}
	cr := &crcReader{r: bufio.NewReaderSize(r, 64<<10), h: crc32.New(castagnoli)}
	magic := make([]byte, len(dumpMagic))
	if _, err := io.ReadFull(cr, magic); err != nil || string(magic) != dumpMagic {
		return fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	var (
		b     Batch
		prev  []byte
		count uint64
		buf   []byte
	)
	for {
		tag, err := cr.ReadByte()
		if err != nil {
			return corrupt(err)
		}
		if tag == 0 {
			break
		}
		if tag != 1 {
			return fmt.Errorf("%w: bad entry tag %#x", ErrCorrupt, tag)
		}
		klen, err := readUvarint(cr)
		if err != nil {
			return err
		}
		vlen, err := readUvarint(cr)
		if err != nil {
			return err
		}
		if klen == 0 || klen > MaxKeySize || vlen > MaxValueSize {
			return fmt.Errorf("%w: entry size out of range", ErrCorrupt)
		}
		n := int(klen + vlen)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(cr, buf); err != nil {
			return corrupt(err)
		}
		k := buf[:klen]
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("%w: keys out of order", ErrCorrupt)
		}
		prev = append(prev[:0], k...)
		b.Put(k, buf[klen:])
		count++
		if b.Size() >= restoreBatchBytes {
			if err := e.Apply(&b, false); err != nil {
				return err
			}
			b.Reset()
		}
	}
	want, err := readUvarint(cr)
	if err != nil {
		return err
	}
	sum := cr.h.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(cr.r, tail[:]); err != nil {
		return corrupt(err)
	}
	if want != count || binary.BigEndian.Uint32(tail[:]) != sum {
		return fmt.Errorf("%w: checksum or count mismatch", ErrCorrupt)
	}
	return e.Apply(&b, true)
}

// clearAll deletes every entry of e, a bounded batch at a time, without
// holding an iterator open while it writes (bbolt writers can wait on
// open read transactions).
func clearAll(e Engine) error {
	var b Batch
	for {
		it, err := e.Iter(IterOptions{Limit: 4096})
		if err != nil {
			return err
		}
		for it.Next() {
			b.Delete(it.Key())
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return err
		}
		if b.Len() == 0 {
			return nil
		}
		if err := e.Apply(&b, false); err != nil {
			return err
		}
		b.Reset()
	}
}

func corrupt(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	return err
}

// readUvarint reads a uvarint; an overflowing one is corruption.
func readUvarint(cr *crcReader) (uint64, error) {
	v, err := binary.ReadUvarint(cr)
	if err != nil && cr.err == nil {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err) // overflow, not I/O
	}
	return v, corrupt(err)
}

// crcReader checksums every byte read through it.
type crcReader struct {
	r   *bufio.Reader
	h   hash.Hash32
	b   [1]byte
	err error // last error from r
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.err = err
	return n, err
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	c.err = err
	if err == nil {
		c.b[0] = b
		c.h.Write(c.b[:])
	}
	return b, err
}
