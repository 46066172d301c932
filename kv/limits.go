package kv

import (
	"fmt"
	"time"

	"github.com/minikv-go/minikv/storage"
)

// Limits bound what one command may do. Every replica must use the same
// Limits: Apply checks them, and replicas that disagreed would compute
// different results for the same entry.
//
// A zero field means its default (see DefaultLimits).
type Limits struct {
	MaxKeyBytes     int           // longest key; default 4096
	MaxValueBytes   int           // longest value; default 1 MiB
	MaxOps          int           // most ops per command; default 1000
	MaxCommandBytes int           // largest encoded command; default 4 MiB
	MaxResultBytes  int           // most value bytes the gets of one command may return; default 4 MiB
	SessionTTL      time.Duration // a session unused this long (by the state machine clock) is dropped; default 1h
}

// Defaults, also used for zero fields of a Limits.
const (
	DefaultMaxKeyBytes     = 4096
	DefaultMaxValueBytes   = 1 << 20
	DefaultMaxOps          = 1000
	DefaultMaxCommandBytes = 4 << 20
	DefaultMaxResultBytes  = 4 << 20
	DefaultSessionTTL      = time.Hour
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxKeyBytes:     DefaultMaxKeyBytes,
		MaxValueBytes:   DefaultMaxValueBytes,
		MaxOps:          DefaultMaxOps,
		MaxCommandBytes: DefaultMaxCommandBytes,
		MaxResultBytes:  DefaultMaxResultBytes,
		SessionTTL:      DefaultSessionTTL,
	}
}

// withDefaults fills the zero fields of l.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxKeyBytes == 0 {
		l.MaxKeyBytes = d.MaxKeyBytes
	}
	if l.MaxValueBytes == 0 {
		l.MaxValueBytes = d.MaxValueBytes
	}
	if l.MaxOps == 0 {
		l.MaxOps = d.MaxOps
	}
	if l.MaxCommandBytes == 0 {
		l.MaxCommandBytes = d.MaxCommandBytes
	}
	if l.MaxResultBytes == 0 {
		l.MaxResultBytes = d.MaxResultBytes
	}
	if l.SessionTTL == 0 {
		l.SessionTTL = d.SessionTTL
	}
	return l
}

// Overheads of the engine records around user data (see keys.go), used to
// make sure every record a command can produce fits the engine's limits:
// a write the engine refused would stop the state machine.
const (
	ttlKeyOverhead   = 1 + 8            // TTL index key: prefix, expiresAt, user key
	recordOverhead   = 2 * 10           // user record: version, expiresAt, value
	opResultOverhead = 1 + 10 + 10 + 10 // found, version, value length, expiresAt
	resultOverhead   = 8*10 + 1         // fixed fields, besides the failed key
	sessionOverhead  = 3 * 10           // session record: last seq, last active, op count
)

// validate reports limits the engines cannot honour. l has its defaults.
func (l Limits) validate() error {
	switch {
	case l.MaxKeyBytes < 0, l.MaxValueBytes < 0, l.MaxOps < 0, l.MaxCommandBytes < 0,
		l.MaxResultBytes < 0, l.SessionTTL < 0:
		return fmt.Errorf("kv: limits: negative limit in %+v", l)
	case l.MaxKeyBytes > storage.MaxKeySize-ttlKeyOverhead:
		return fmt.Errorf("kv: limits: MaxKeyBytes %d over the engine's key limit (%d)",
			l.MaxKeyBytes, storage.MaxKeySize-ttlKeyOverhead)
	case l.MaxValueBytes > storage.MaxValueSize-recordOverhead:
		return fmt.Errorf("kv: limits: MaxValueBytes %d over the engine's value limit (%d)",
			l.MaxValueBytes, storage.MaxValueSize-recordOverhead)
	case int64(l.MaxResultBytes)+int64(l.MaxOps)*opResultOverhead+int64(l.MaxKeyBytes)+resultOverhead+sessionOverhead > storage.MaxValueSize:
		// A session stores the last result, get values included.
		return fmt.Errorf("kv: limits: MaxResultBytes %d with MaxOps %d would not fit a session record (%d bytes)",
			l.MaxResultBytes, l.MaxOps, storage.MaxValueSize)
	}
	return nil
}

// Check reports whether c is a well-formed command within the limits. The
// service calls it before proposing, to answer bad requests at once; Apply
// runs the same check, so a bad entry that reached the log anyway is answered
// deterministically with CodeInvalid or CodeTooLarge and does nothing.
//
// The errors wrap ErrInvalid or ErrTooLarge. The rules:
//   - Time must not be negative.
//   - CmdOps needs 1 to MaxOps ops. With a session (ClientID != 0), Seq must
//     be > 0; without one, Seq must be 0.
//   - CmdOpenSession and CmdTick carry no session and no ops.
//   - CmdCloseSession names its session (ClientID != 0; Seq is ignored) and
//     carries no ops.
//   - Every op has a known type and a non-empty key of at most MaxKeyBytes.
//     A put's value is at most MaxValueBytes and its TTL not negative;
//     deletes and gets have no value and no TTL; a get is never
//     conditional; IfVersion is 0 unless CheckVersion is set.
//   - The encoded command is at most MaxCommandBytes.
func (l Limits) Check(c *Command) error {
	l = l.withDefaults()
	if !c.Kind.valid() {
		return fmt.Errorf("%w: unknown command kind %d", ErrInvalid, c.Kind)
	}
	if c.Time < 0 {
		return fmt.Errorf("%w: negative time %d", ErrInvalid, c.Time)
	}
	switch c.Kind {
	case CmdOps:
		if len(c.Ops) == 0 {
			return fmt.Errorf("%w: command has no ops", ErrInvalid)
		}
		if len(c.Ops) > l.MaxOps {
			return fmt.Errorf("%w: %d ops, limit %d", ErrTooLarge, len(c.Ops), l.MaxOps)
		}
		if c.Session.ClientID != 0 && c.Session.Seq == 0 {
			return fmt.Errorf("%w: session %d: sequence numbers start at 1", ErrInvalid, c.Session.ClientID)
		}
		if c.Session.ClientID == 0 && c.Session.Seq != 0 {
			return fmt.Errorf("%w: sequence number %d without a session", ErrInvalid, c.Session.Seq)
		}
	case CmdOpenSession, CmdTick:
		if c.Session != (Session{}) {
			return fmt.Errorf("%w: %s command with a session", ErrInvalid, c.Kind)
		}
	case CmdCloseSession:
		if c.Session.ClientID == 0 {
			return fmt.Errorf("%w: close_session without a session id", ErrInvalid)
		}
	}
	if c.Kind != CmdOps && len(c.Ops) > 0 {
		return fmt.Errorf("%w: %s command with ops", ErrInvalid, c.Kind)
	}
	for i := range c.Ops {
		if err := l.checkOp(&c.Ops[i]); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	if n := c.encodedLen(); n > l.MaxCommandBytes {
		return fmt.Errorf("%w: command is %d bytes, limit %d", ErrTooLarge, n, l.MaxCommandBytes)
	}
	return nil
}

func (l Limits) checkOp(op *Op) error {
	if !op.Type.valid() {
		return fmt.Errorf("%w: unknown op type %d", ErrInvalid, op.Type)
	}
	if len(op.Key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(op.Key) > l.MaxKeyBytes {
		return fmt.Errorf("%w: key is %d bytes, limit %d", ErrTooLarge, len(op.Key), l.MaxKeyBytes)
	}
	if !op.CheckVersion && op.IfVersion != 0 {
		return fmt.Errorf("%w: %s: IfVersion without CheckVersion", ErrInvalid, op.Type)
	}
	switch op.Type {
	case OpPut:
		if len(op.Value) > l.MaxValueBytes {
			return fmt.Errorf("%w: value is %d bytes, limit %d", ErrTooLarge, len(op.Value), l.MaxValueBytes)
		}
		if op.TTL < 0 {
			return fmt.Errorf("%w: negative TTL %v", ErrInvalid, op.TTL)
		}
		return nil
	case OpGet:
		if op.CheckVersion {
			return fmt.Errorf("%w: a get cannot be conditional", ErrInvalid)
		}
	}
	if len(op.Value) > 0 {
		return fmt.Errorf("%w: %s with a value", ErrInvalid, op.Type)
	}
	if op.TTL != 0 {
		return fmt.Errorf("%w: %s with a TTL", ErrInvalid, op.Type)
	}
	return nil
}
