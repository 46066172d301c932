package kv

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Session identifies a client session for exactly-once semantics: the
// client numbers its commands 1, 2, 3, ... and the state machine applies
// each number once. ClientID 0 means no session (no deduplication).
type Session struct {
	ClientID uint64 // the session's id: the log index that opened it
	Seq      uint64 // the command's sequence number in the session, from 1
}

// OpType is the kind of one operation.
type OpType uint8

// Operation types.
const (
	OpPut    OpType = 1
	OpDelete OpType = 2
	OpGet    OpType = 3 // a read inside an atomic batch, answered from the state at apply time
)

func (t OpType) String() string {
	switch t {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpGet:
		return "get"
	}
	return fmt.Sprintf("OpType(%d)", uint8(t))
}

func (t OpType) valid() bool { return t >= OpPut && t <= OpGet }

// Op is one operation of a command.
type Op struct {
	Type  OpType
	Key   []byte
	Value []byte // OpPut only

	// CheckVersion makes a put or delete conditional: it applies only if
	// the key's current version equals IfVersion, where 0 means the key must
	// not exist. A conditional put is compare-and-set; IfVersion 0 makes it
	// create-only. A get cannot be conditional: CheckVersion on an OpGet is
	// invalid. IfVersion without CheckVersion is invalid too.
	CheckVersion bool
	IfVersion    uint64

	// TTL (OpPut only) makes the key expire TTL after the command's time;
	// 0 = never. A put without TTL removes any earlier TTL.
	TTL time.Duration
}

// CommandKind says what a command does.
type CommandKind uint8

// Command kinds.
const (
	CmdOps          CommandKind = 0 // Ops applied atomically, in order
	CmdOpenSession  CommandKind = 1 // opens a session; Result.ClientID = the log index of this entry
	CmdCloseSession CommandKind = 2 // closes Session.ClientID
	CmdTick         CommandKind = 3 // no ops: only advances the clock, so TTLs fire without writes
)

func (k CommandKind) String() string {
	switch k {
	case CmdOps:
		return "ops"
	case CmdOpenSession:
		return "open_session"
	case CmdCloseSession:
		return "close_session"
	case CmdTick:
		return "tick"
	}
	return fmt.Sprintf("CommandKind(%d)", uint8(k))
}

func (k CommandKind) valid() bool { return k <= CmdTick }

// Command is the data of one raft log entry.
type Command struct {
	Kind    CommandKind
	Session Session
	// Time is the proposing leader's clock in Unix nanoseconds. The state
	// machine's clock is the largest Time applied so far; key and session
	// expiry are decided by it, never by a replica's own clock.
	Time int64
	Ops  []Op
}

// commandVersion is the first byte of every encoded command, so that the
// format can change while old entries stay readable.
const commandVersion = 1

// The encoding (all integers are varints; signed ones zig-zag):
//
//	version  byte (1)
//	kind     byte
//	clientID uvarint
//	seq      uvarint
//	time     varint
//	nops     uvarint
//	op*      type byte, checkVersion byte (0/1), ifVersion uvarint,
//	         key (uvarint length + bytes), value (uvarint length + bytes),
//	         ttl varint (nanoseconds)
//
// Every field of every op is written, whatever the op type, so that
// DecodeCommand(c.Encode()) == c holds for any command with a known kind and
// op types, valid or not; Limits.Check decides validity separately.

// minOpLen is the smallest encoded op: six one-byte fields.
const minOpLen = 6

// Encode returns the canonical binary encoding of c.
func (c *Command) Encode() []byte {
	b := make([]byte, 0, c.encodedLen())
	b = append(b, commandVersion, byte(c.Kind))
	b = binary.AppendUvarint(b, c.Session.ClientID)
	b = binary.AppendUvarint(b, c.Session.Seq)
	b = binary.AppendVarint(b, c.Time)
	b = binary.AppendUvarint(b, uint64(len(c.Ops)))
	for i := range c.Ops {
		op := &c.Ops[i]
		b = append(b, byte(op.Type))
		b = appendBool(b, op.CheckVersion)
		b = binary.AppendUvarint(b, op.IfVersion)
		b = appendBytes(b, op.Key)
		b = appendBytes(b, op.Value)
		b = binary.AppendVarint(b, int64(op.TTL))
	}
	return b
}

// encodedLen is len(c.Encode()), computed without encoding.
func (c *Command) encodedLen() int {
	n := 2 + uvarintLen(c.Session.ClientID) + uvarintLen(c.Session.Seq) +
		varintLen(c.Time) + uvarintLen(uint64(len(c.Ops)))
	for i := range c.Ops {
		op := &c.Ops[i]
		n += 2 + uvarintLen(op.IfVersion) + bytesLen(op.Key) + bytesLen(op.Value) + varintLen(int64(op.TTL))
	}
	return n
}

// DecodeCommand decodes an encoded command. It is strict: an unknown version,
// kind or op type, a non-canonical varint or boolean, a truncated input or
// trailing bytes are errors (wrapping ErrInvalid). Empty byte strings decode
// as nil, and a command without ops has nil Ops, so re-encoding a decoded
// command gives back exactly the input bytes. The result never aliases b.
func DecodeCommand(b []byte) (Command, error) {
	return decodeCommandFrom(b, false)
}

// decodeEntryCommand decodes the command of a log entry for Apply. Its keys
// and values alias the entry's data, which nobody changes once it is in
// the log: an S3 chunk is not copied twice more on its way to the engine.
func decodeEntryCommand(b []byte) (Command, error) {
	return decodeCommandFrom(b, true)
}

func decodeCommandFrom(b []byte, alias bool) (Command, error) {
	c, err := decodeCommand(b, alias)
	if err != nil {
		return Command{}, fmt.Errorf("%w: decode command: %v", ErrInvalid, err)
	}
	return c, nil
}

func decodeCommand(b []byte, alias bool) (Command, error) {
	d := &decoder{b: b, alias: alias}
	var c Command
	if v := d.byte(); d.err == nil && v != commandVersion {
		return c, fmt.Errorf("unknown encoding version %d", v)
	}
	c.Kind = CommandKind(d.byte())
	if d.err == nil && !c.Kind.valid() {
		return c, fmt.Errorf("unknown command kind %d", c.Kind)
	}
	c.Session.ClientID = d.uvarint()
	c.Session.Seq = d.uvarint()
	c.Time = d.varint()
	n := d.uvarint()
	if d.err != nil {
		return c, d.err
	}
	// Bound the allocation by what the input can hold, so a forged count
	// cannot make us allocate gigabytes.
	if n > uint64(len(d.b)/minOpLen) {
		return c, fmt.Errorf("op count %d exceeds input size", n)
	}
	if n > 0 {
		c.Ops = make([]Op, n)
	}
	for i := range c.Ops {
		op := &c.Ops[i]
		op.Type = OpType(d.byte())
		if d.err == nil && !op.Type.valid() {
			return c, fmt.Errorf("op %d: unknown op type %d", i, op.Type)
		}
		op.CheckVersion = d.boolean()
		op.IfVersion = d.uvarint()
		op.Key = d.bytes()
		op.Value = d.bytes()
		op.TTL = time.Duration(d.varint())
	}
	return c, d.finish()
}
