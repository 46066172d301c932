package kv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrNotFound, "not_found"},
		{fmt.Errorf("kv: get %q: %w", "k", ErrNotFound), "not_found"},
		{ErrVersionMismatch, "version_mismatch"},
		{&VersionMismatchError{Key: []byte("k"), Expected: 1, Actual: 2}, "version_mismatch"},
		{fmt.Errorf("wrapped: %w", &VersionMismatchError{}), "version_mismatch"},
		{ErrTooLarge, "too_large"},
		{ErrInvalid, "invalid_argument"},
		{ErrSessionExpired, "session_expired"},
		{ErrStaleSequence, "stale_sequence"},
		{ErrNotLeader, "not_leader"},
		{&NotLeaderError{Leader: 3}, "not_leader"},
		{ErrTimeout, "timeout"},
		{context.DeadlineExceeded, "timeout"},
		{errors.New("disk on fire"), "internal"},
		{errCorrupt, "internal"},
	} {
		require.Equal(t, tc.want, ErrorCode(tc.err), "%v", tc.err)
	}
}

func TestTypedErrors(t *testing.T) {
	vm := &VersionMismatchError{Op: 2, Key: []byte("k"), Expected: 5, Actual: 7}
	require.ErrorIs(t, vm, ErrVersionMismatch)
	require.NotErrorIs(t, vm, ErrNotLeader)
	require.Equal(t, `kv: version mismatch on op 2 (key "k"): expected 5, actual 7`, vm.Error())

	nl := fmt.Errorf("forward: %w", &NotLeaderError{Leader: 2})
	require.ErrorIs(t, nl, ErrNotLeader)
	var target *NotLeaderError
	require.ErrorAs(t, nl, &target)
	require.Equal(t, uint64(2), target.Leader)
	require.Contains(t, nl.Error(), "leader is node 2")
	require.Contains(t, (&NotLeaderError{}).Error(), "unknown")
}

func TestResultErrAndCodeString(t *testing.T) {
	for _, tc := range []struct {
		code Code
		err  error
		name string
	}{
		{CodeOK, nil, "ok"},
		{CodeVersionMismatch, ErrVersionMismatch, "version_mismatch"},
		{CodeInvalid, ErrInvalid, "invalid_argument"},
		{CodeTooLarge, ErrTooLarge, "too_large"},
		{CodeSessionExpired, ErrSessionExpired, "session_expired"},
		{CodeStaleSequence, ErrStaleSequence, "stale_sequence"},
	} {
		err := Result{Code: tc.code}.Err()
		if tc.err == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.name, ErrorCode(err), "Code.String matches the API code")
		}
		require.Equal(t, tc.name, tc.code.String())
	}
	require.Equal(t, "Code(99)", Code(99).String())
	require.Equal(t, "internal", ErrorCode(Result{Code: 99}.Err()))
}
