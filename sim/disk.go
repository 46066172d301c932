package sim

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"

	"github.com/minikv-go/minikv/raft"
)

// disk is one node's simulated disk: an append-only file of records, of
// which a prefix is known to be durable (fsynced). A crash keeps the durable
// prefix and, at random, some bytes of what was written after it — possibly
// cutting the last record in half, as a real power cut can.
//
// Records are framed as [length uint32][crc32 uint32][payload], the same
// discipline a real write-ahead log uses, and recovery stops at the first
// frame that is incomplete or fails its checksum.
type disk struct {
	data   []byte
	synced int // len(data) known durable

	snapBytes int // size of the snapshot record the disk starts with

	writes, syncs, torn, rewrites int // statistics
}

func (d *disk) write(payload []byte) {
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:], crc32.ChecksumIEEE(payload))
	d.data = append(d.data, hdr[:]...)
	d.data = append(d.data, payload...)
	d.writes++
}

func (d *disk) sync() {
	d.synced = len(d.data)
	d.syncs++
}

// crash loses unsynced bytes. With tearing on, a random prefix of them
// survives, which may end in the middle of a record.
func (d *disk) crash(rng *rand.Rand, tear bool) {
	keep := d.synced
	if unsynced := len(d.data) - d.synced; tear && unsynced > 0 {
		keep += rng.IntN(unsynced + 1)
		if keep < len(d.data) {
			d.torn++
		}
	}
	d.data = d.data[:keep:keep]
	d.synced = keep
}

// recover returns the payloads of all intact records and cuts off a torn or
// corrupt tail (which, being unsynced, was never promised to anyone). The cut
// matters: records written after a torn one would be unreadable, since
// recovery stops at the first bad frame.
func (d *disk) recover() [][]byte {
	var out [][]byte
	b := d.data
	for len(b) >= 8 {
		n := int(binary.LittleEndian.Uint32(b[0:]))
		sum := binary.LittleEndian.Uint32(b[4:])
		if len(b)-8 < n || crc32.ChecksumIEEE(b[8:8+n]) != sum {
			break
		}
		out = append(out, b[8:8+n])
		b = b[8+n:]
	}
	valid := len(d.data) - len(b)
	d.data = d.data[:valid:valid]
	d.synced = min(d.synced, valid)
	return out
}

// Record kinds. A ready record holds what one Ready said to persist; a
// snapshot record holds a snapshot and replaces everything before it.
const (
	recReady    byte = 0 // followed by a hard-state flag, then entries
	recSnapshot byte = 2
)

// encodeRecord is the payload persisted for one Ready.
func encodeRecord(hs raft.HardState, ents []raft.Entry) []byte {
	return raft.AppendReadyRecord([]byte{recReady}, hs, ents)
}

func encodeSnapshotRecord(snap raft.Snapshot) []byte {
	b := raft.AppendSnapshotMeta([]byte{recSnapshot}, snap.Meta)
	b = binary.AppendUvarint(b, uint64(len(snap.Data)))
	return append(b, snap.Data...)
}

// rewrite replaces the disk's whole content with a snapshot and what
// follows it, durably — as a real node writes a new file, fsyncs it and
// renames it over the old one.
func (d *disk) rewrite(snap raft.Snapshot, hs raft.HardState, ents []raft.Entry) {
	d.data = nil
	d.write(encodeSnapshotRecord(snap))
	d.snapBytes = len(d.data)
	d.write(encodeRecord(hs, ents))
	d.sync()
	d.rewrites++
}

// loadState rebuilds what raft.New needs from the records on disk — the
// last hard state, the latest snapshot, and the log after it, each record's
// entries replacing the suffix they start at — plus the snapshot's data for
// the state machine.
func loadState(recs [][]byte) (raft.PersistentState, raft.Snapshot, error) {
	var st raft.PersistentState
	var snap raft.Snapshot
	for _, b := range recs {
		if len(b) < 2 {
			return st, snap, errors.New("sim: short record")
		}
		if b[0] == recSnapshot {
			meta, rest, err := raft.DecodeSnapshotMeta(b[1:])
			if err != nil {
				return st, snap, err
			}
			n, k := binary.Uvarint(rest)
			if k <= 0 || uint64(len(rest)-k) != n {
				return st, snap, errors.New("sim: bad snapshot record")
			}
			snap = raft.Snapshot{Meta: meta, Data: rest[k:]}
			st.Snapshot, st.Entries = meta, nil
			continue
		}
		hs, hasHS, ents, _, err := raft.DecodeReadyRecord(b[1:])
		if err != nil {
			return st, snap, err
		}
		if hasHS {
			st.HardState = hs
		}
		if len(ents) > 0 {
			first := st.Snapshot.Index + 1
			if e := ents[0]; e.Index < first || e.Index > first+uint64(len(st.Entries)) {
				return st, snap, errors.New("sim: record leaves a gap in the log")
			}
			st.Entries = append(st.Entries[:ents[0].Index-first], ents...)
		}
	}
	// A hard state's commit index may run ahead of a log whose tail was lost
	// with an unsynced write; commit is only a hint and is recomputed.
	st.HardState.Commit = min(st.HardState.Commit, st.Snapshot.Index+uint64(len(st.Entries)))
	st.HardState.Commit = max(st.HardState.Commit, st.Snapshot.Index)
	return st, snap, nil
}
