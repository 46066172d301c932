package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/minikv-go/minikv/kv"
)

// Error codes. Those of kv.ErrorCode are used as they are; these are the
// ones the REST API adds.
const (
	codeOK               = "ok"
	codeNotFound         = "not_found"
	codeInvalid          = "invalid_argument"
	codeTooLarge         = "too_large"
	codeVersionMismatch  = "version_mismatch"
	codeNotLeader        = "not_leader"
	codeUnavailable      = "unavailable" // no leader known, or it cannot be reached
	codeTimeout          = "timeout"
	codeInternal         = "internal"
	codeMethodNotAllowed = "method_not_allowed"
	codeCanceled         = "canceled" // the client went away; nobody reads the answer
)

// statusClientClosed is the status recorded when the client went away
// before the answer (nginx's 499); it is never seen by anyone.
const statusClientClosed = 499

// statusOf is the HTTP status of each error code.
var statusOf = map[string]int{
	codeNotFound:         http.StatusNotFound,
	codeVersionMismatch:  http.StatusConflict,
	codeInvalid:          http.StatusBadRequest,
	codeTooLarge:         http.StatusRequestEntityTooLarge,
	"session_expired":    http.StatusConflict,
	"stale_sequence":     http.StatusConflict,
	codeNotLeader:        http.StatusServiceUnavailable,
	codeUnavailable:      http.StatusServiceUnavailable,
	codeTimeout:          http.StatusGatewayTimeout,
	codeInternal:         http.StatusInternalServerError,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeCanceled:         statusClientClosed,
}

// apiError is an error as the API answers it.
type apiError struct {
	Status  int
	Code    string
	Message string

	Allow    string                   // method_not_allowed: the Allow header
	Leader   uint64                   // not_leader: the leader, if known
	Mismatch *kv.VersionMismatchError // version_mismatch: which op failed and why
	Err      error                    // the error behind it, for the log
}

func (e *apiError) Error() string { return e.Message }

func (e *apiError) Unwrap() error { return e.Err }

// invalidf is a 400 invalid_argument error.
func invalidf(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalid, Message: fmt.Sprintf(format, args...)}
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
		Message: fmt.Sprintf("request body is over the limit of %d bytes (limits.max_request_bytes)", limit)}
}

// toAPIError turns any error a handler returns into the API's answer.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	var vm *kv.VersionMismatchError
	if errors.As(err, &vm) {
		return &apiError{Status: http.StatusConflict, Code: codeVersionMismatch, Message: mismatchMessage(vm), Mismatch: vm, Err: err}
	}
	var nl *kv.NotLeaderError
	if errors.As(err, &nl) {
		if nl.Leader == 0 {
			return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Err: err,
				Message: "no leader is known (an election may be going on); retry shortly"}
		}
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeNotLeader, Leader: nl.Leader, Err: err,
			Message: fmt.Sprintf("this node is not the leader (node %d is); retry", nl.Leader)}
	}
	code := kv.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = codeInternal, http.StatusInternalServerError
	}
	// The kv package prefixes its errors with "kv: "; to a client of the
	// API that is noise.
	return &apiError{Status: status, Code: code, Message: strings.ReplaceAll(err.Error(), "kv: ", ""), Err: err}
}

func mismatchMessage(vm *kv.VersionMismatchError) string {
	want := fmt.Sprintf("version %d", vm.Expected)
	if vm.Expected == 0 {
		want = "the key to be absent"
	}
	got := fmt.Sprintf("it has version %d", vm.Actual)
	if vm.Actual == 0 {
		got = "it does not exist"
	}
	return fmt.Sprintf("version mismatch on key %q (op %d): expected %s, but %s; nothing was written", vm.Key, vm.Op, want, got)
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// version_mismatch: the op that failed, its key, the version it
	// expected and the key's actual version (0 = absent).
	Op       *int    `json:"op,omitempty"`
	Key      *string `json:"key,omitempty"`
	Expected *uint64 `json:"expected,omitempty"`
	Actual   *uint64 `json:"actual,omitempty"`
	// not_leader: the leader, if known.
	Leader uint64 `json:"leader,omitempty"`
}

// writeError answers e.
func writeError(w http.ResponseWriter, e *apiError) {
	d := errorDetail{Code: e.Code, Message: e.Message, Leader: e.Leader}
	if vm := e.Mismatch; vm != nil {
		key := string(vm.Key)
		d.Op, d.Key, d.Expected, d.Actual = &vm.Op, &key, &vm.Expected, &vm.Actual
	}
	if e.Allow != "" {
		w.Header().Set("Allow", e.Allow)
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, errorBody{d})
}
