package kv

import (
	"encoding/binary"
	"fmt"
)

// Code says why a command did nothing, or that it succeeded.
type Code uint8

// Result codes. Their String forms are the API error codes of ErrorCode.
const (
	CodeOK              Code = 0 // applied
	CodeVersionMismatch Code = 1 // a conditional op failed; nothing was written
	CodeInvalid         Code = 2 // malformed command or undecodable entry; nothing was written
	CodeTooLarge        Code = 3 // over the Limits; nothing was written
	CodeSessionExpired  Code = 4 // unknown session; not applied
	CodeStaleSequence   Code = 5 // Seq below the session's last; not applied
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeVersionMismatch:
		return "version_mismatch"
	case CodeInvalid:
		return "invalid_argument"
	case CodeTooLarge:
		return "too_large"
	case CodeSessionExpired:
		return "session_expired"
	case CodeStaleSequence:
		return "stale_sequence"
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Result is what applying one entry produced. It is deterministic: every
// replica computes the same Result for the same entry.
type Result struct {
	Index    uint64     // log index of the entry; also the version of every key the command wrote
	ClientID uint64     // CmdOpenSession: the new session's id
	Ops      []OpResult // one per op, when a CmdOps command succeeded
	Code     Code       // CodeOK, or why the whole command did nothing

	// For CodeVersionMismatch: which op's condition failed, its key, the
	// version it expected and the key's version at that point (0 = absent).
	FailedOp  int
	FailedKey []byte
	Expected  uint64
	Actual    uint64

	// Duplicate says the command was a retry of the session's last one: the
	// result is the one recorded the first time (Index included), and
	// nothing was applied again. It is not stored.
	Duplicate bool
}

// OpResult is the outcome of one op.
type OpResult struct {
	Found     bool   // get, delete: the key existed (and had not expired)
	Version   uint64 // put: the new version (= Result.Index); get: the version read; delete: the version the key had
	Value     []byte // get: the value (nil if empty or not found)
	ExpiresAt int64  // get: Unix nanoseconds when the key expires; 0 = never
}

// Err returns nil for CodeOK and otherwise the matching error:
// *VersionMismatchError, ErrInvalid, ErrTooLarge, ErrSessionExpired or
// ErrStaleSequence.
func (r Result) Err() error {
	switch r.Code {
	case CodeOK:
		return nil
	case CodeVersionMismatch:
		return &VersionMismatchError{Op: r.FailedOp, Key: r.FailedKey, Expected: r.Expected, Actual: r.Actual}
	case CodeInvalid:
		return ErrInvalid
	case CodeTooLarge:
		return ErrTooLarge
	case CodeSessionExpired:
		return ErrSessionExpired
	case CodeStaleSequence:
		return ErrStaleSequence
	}
	return fmt.Errorf("kv: unknown result code %d", uint8(r.Code))
}

// codeOf maps an error of Limits.Check to its result code.
func codeOf(err error) Code {
	if ErrorCode(err) == "too_large" {
		return CodeTooLarge
	}
	return CodeInvalid
}

// A session keeps the result of its last command so that a retry gets the
// same answer (see session.go). Its encoding:
//
//	index uvarint, clientID uvarint, code byte, failedOp uvarint,
//	failedKey bytes, expected uvarint, actual uvarint,
//	nops uvarint, op* (found byte, version uvarint, value bytes, expiresAt varint)

func appendResult(b []byte, r *Result) []byte {
	b = binary.AppendUvarint(b, r.Index)
	b = binary.AppendUvarint(b, r.ClientID)
	b = append(b, byte(r.Code))
	b = binary.AppendUvarint(b, uint64(r.FailedOp))
	b = appendBytes(b, r.FailedKey)
	b = binary.AppendUvarint(b, r.Expected)
	b = binary.AppendUvarint(b, r.Actual)
	b = binary.AppendUvarint(b, uint64(len(r.Ops)))
	for i := range r.Ops {
		op := &r.Ops[i]
		b = appendBool(b, op.Found)
		b = binary.AppendUvarint(b, op.Version)
		b = appendBytes(b, op.Value)
		b = binary.AppendVarint(b, op.ExpiresAt)
	}
	return b
}

// minOpResultLen is the smallest encoded OpResult.
const minOpResultLen = 4

func decodeResult(d *decoder) Result {
	var r Result
	r.Index = d.uvarint()
	r.ClientID = d.uvarint()
	r.Code = Code(d.byte())
	r.FailedOp = int(d.uvarint())
	r.FailedKey = d.bytes()
	r.Expected = d.uvarint()
	r.Actual = d.uvarint()
	n := d.uvarint()
	if d.err != nil {
		return r
	}
	if n > uint64(len(d.b)/minOpResultLen) {
		d.fail(fmt.Errorf("op result count %d exceeds input size", n))
		return r
	}
	if n > 0 {
		r.Ops = make([]OpResult, n)
	}
	for i := range r.Ops {
		op := &r.Ops[i]
		op.Found = d.boolean()
		op.Version = d.uvarint()
		op.Value = d.bytes()
		op.ExpiresAt = d.varint()
	}
	return r
}
