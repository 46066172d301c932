package rpcapi

import (
	"errors"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/raft"
)

// Error is a failed operation, as carried in a reply's Err field.
type Error struct {
	// Code is one of kv.ErrorCode's names ("not_found", "version_mismatch",
	// "too_large", "invalid_argument", "session_expired", "stale_sequence",
	// "not_leader", "timeout", "internal") or CodeUnavailable.
	Code    string
	Message string

	// not_leader: the leader's id (0 if unknown) and RPC address ("" if
	// unknown). Send the call there.
	Leader    uint64
	LeaderRPC string

	// version_mismatch: which op failed, its key, the version it expected
	// and the key's actual version (0 = absent).
	FailedOp int
	Key      []byte
	Expected uint64
	Actual   uint64
}

// CodeUnavailable says the node could not serve the call now, and did
// nothing: it is shutting down or has stopped (try another node), or a
// membership change is already under way (retry shortly).
const CodeUnavailable = "unavailable"

// ErrUnavailable is the error of CodeUnavailable.
var ErrUnavailable = errors.New("rpcapi: node unavailable")

// Messages of rpc.Response.Error for protocol-level refusals. A client
// compares them as prefixes.
const (
	// MsgRequestTooLarge: the request was over limits.max_request_bytes;
	// the server closes the connection after answering.
	MsgRequestTooLarge = "rpcapi: request too large"
	// MsgServerClosed: the server is shutting down and did not run the
	// call.
	MsgServerClosed = "rpcapi: server closed"
)

// Err rebuilds the typed error: errors.Is(err, kv.ErrNotFound) and
// errors.As(err, &*kv.VersionMismatchError) work on it as on the server.
// A nil *Error gives nil.
func (e *Error) Err() error {
	if e == nil {
		return nil
	}
	var sentinel error
	switch e.Code {
	case "version_mismatch":
		return &kv.VersionMismatchError{Op: e.FailedOp, Key: e.Key, Expected: e.Expected, Actual: e.Actual}
	case "not_leader":
		return &kv.NotLeaderError{Leader: e.Leader}
	case "not_found":
		sentinel = kv.ErrNotFound
	case "too_large":
		sentinel = kv.ErrTooLarge
	case "invalid_argument":
		sentinel = kv.ErrInvalid
	case "session_expired":
		sentinel = kv.ErrSessionExpired
	case "stale_sequence":
		sentinel = kv.ErrStaleSequence
	case "timeout":
		sentinel = kv.ErrTimeout
	case CodeUnavailable:
		sentinel = ErrUnavailable
	default:
		if e.Message == "" {
			return errors.New("rpcapi: internal error")
		}
		return errors.New(e.Message)
	}
	return &remoteError{msg: e.Message, err: sentinel}
}

// remoteError is a sentinel kv error with the server's message, which
// usually says more (which key, which limit).
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string {
	if e.msg == "" {
		return e.err.Error()
	}
	return e.msg
}

func (e *remoteError) Unwrap() error { return e.err }

// errorOf turns a node's error into a reply's Error. leaderRPC looks up
// the RPC address of a leader by id.
func errorOf(err error, leaderRPC func(id uint64) string) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Code: kv.ErrorCode(err), Message: err.Error()}
	var vm *kv.VersionMismatchError
	var nl *kv.NotLeaderError
	switch {
	case errors.As(err, &vm):
		e.FailedOp, e.Key, e.Expected, e.Actual = vm.Op, vm.Key, vm.Expected, vm.Actual
	case errors.As(err, &nl):
		e.Leader = nl.Leader
		if nl.Leader != 0 {
			e.LeaderRPC = leaderRPC(nl.Leader)
		}
	case errors.Is(err, ErrUnavailable), errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrConfChangeTooEarly):
		e.Code = CodeUnavailable
	}
	return e
}
