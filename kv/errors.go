package kv

import (
	"context"
	"errors"
	"fmt"
)

// Errors returned by this package and by the service layer built on it.
// Compare with errors.Is; ErrorCode turns them into the codes the REST and
// RPC APIs send.
var (
	// ErrNotFound: a read found no live key.
	ErrNotFound = errors.New("kv: key not found")
	// ErrVersionMismatch: a conditional op found another version. The
	// concrete error is a *VersionMismatchError.
	ErrVersionMismatch = errors.New("kv: version mismatch")
	// ErrTooLarge: a key, a value, the op count, the command or the values a
	// command reads are over the Limits.
	ErrTooLarge = errors.New("kv: too large")
	// ErrInvalid: a malformed command or request (empty key, bad op type,
	// TTL on a non-put, undecodable entry, ...).
	ErrInvalid = errors.New("kv: invalid argument")
	// ErrSessionExpired: the session does not exist (it expired, was closed
	// or was never opened). The command was not applied; the client must
	// open a new session.
	ErrSessionExpired = errors.New("kv: session expired or unknown")
	// ErrStaleSequence: the command's sequence number is lower than the
	// session's last one, so the client has already moved on. The command
	// was not applied.
	ErrStaleSequence = errors.New("kv: stale sequence number")
	// ErrNotLeader: this node cannot serve the request because it is not
	// the leader. The concrete error is a *NotLeaderError.
	ErrNotLeader = errors.New("kv: not the leader")
	// ErrTimeout: the request did not complete in time. Whether a write
	// was applied is unknown; retrying on the same session is safe.
	ErrTimeout = errors.New("kv: timeout")
	// ErrUnavailable: the cluster cannot take the request right now (a
	// membership change is still in progress, the node is shutting down);
	// nothing was applied, and retrying shortly is safe. Used by the
	// service layer.
	ErrUnavailable = errors.New("kv: temporarily unavailable")
)

// errCorrupt marks state in the engine that this package cannot decode.
// It is an internal error: the engine holds something kv never wrote.
var errCorrupt = errors.New("kv: corrupt state")

// VersionMismatchError says which conditional op of a command failed and why.
type VersionMismatchError struct {
	Op       int    // index of the op in Command.Ops
	Key      []byte // the op's key
	Expected uint64 // the op's IfVersion (0 = must not exist)
	Actual   uint64 // the key's version when the op ran (0 = absent)
}

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("kv: version mismatch on op %d (key %q): expected %d, actual %d",
		e.Op, e.Key, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrVersionMismatch) true.
func (e *VersionMismatchError) Is(target error) bool { return target == ErrVersionMismatch }

// NotLeaderError is ErrNotLeader with a hint of who the leader is.
type NotLeaderError struct {
	Leader uint64 // the leader's node ID if known, 0 if not
}

func (e *NotLeaderError) Error() string {
	if e.Leader == 0 {
		return "kv: not the leader (leader unknown)"
	}
	return fmt.Sprintf("kv: not the leader (leader is node %d)", e.Leader)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// ErrorCode returns the stable, snake_case name of err for the REST and RPC
// APIs: "not_found", "version_mismatch", "too_large", "invalid_argument",
// "session_expired", "stale_sequence", "not_leader", "timeout", or
// "internal" for anything else. It returns "" for a nil error.
// A context deadline counts as "timeout".
func ErrorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrVersionMismatch):
		return "version_mismatch"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrInvalid):
		return "invalid_argument"
	case errors.Is(err, ErrSessionExpired):
		return "session_expired"
	case errors.Is(err, ErrStaleSequence):
		return "stale_sequence"
	case errors.Is(err, ErrNotLeader):
		return "not_leader"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "internal"
}
