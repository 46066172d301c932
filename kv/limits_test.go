package kv

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimitsCheck(t *testing.T) {
	l := Limits{MaxKeyBytes: 4, MaxValueBytes: 8, MaxOps: 3, MaxCommandBytes: 48}
	ops := func(o ...Op) Command { return Command{Kind: CmdOps, Ops: o} }
	put := func(k, v string) Op { return Op{Type: OpPut, Key: []byte(k), Value: []byte(v)} }
	for _, tc := range []struct {
		name string
		cmd  Command
		want error // nil, ErrInvalid or ErrTooLarge
	}{
		{"put", ops(put("k", "v")), nil},
		{"put at limits", ops(put("kkkk", "vvvvvvvv")), nil},
		{"empty value", ops(Op{Type: OpPut, Key: []byte("k")}), nil},
		{"put with TTL", ops(Op{Type: OpPut, Key: []byte("k"), TTL: time.Second}), nil},
		{"conditional put", ops(Op{Type: OpPut, Key: []byte("k"), CheckVersion: true, IfVersion: 3}), nil},
		{"conditional delete", ops(Op{Type: OpDelete, Key: []byte("k"), CheckVersion: true}), nil},
		{"get", ops(Op{Type: OpGet, Key: []byte("k")}), nil},
		{"session", Command{Kind: CmdOps, Session: Session{ClientID: 3, Seq: 1}, Ops: []Op{put("k", "")}}, nil},
		{"tick", Command{Kind: CmdTick, Time: 5}, nil},
		{"open", Command{Kind: CmdOpenSession}, nil},
		{"close", Command{Kind: CmdCloseSession, Session: Session{ClientID: 9}}, nil},
		{"close ignores seq", Command{Kind: CmdCloseSession, Session: Session{ClientID: 9, Seq: 4}}, nil},

		{"unknown kind", Command{Kind: 4}, ErrInvalid},
		{"negative time", Command{Kind: CmdTick, Time: -1}, ErrInvalid},
		{"no ops", ops(), ErrInvalid},
		{"seq 0 on a session", Command{Kind: CmdOps, Session: Session{ClientID: 3}, Ops: []Op{put("k", "")}}, ErrInvalid},
		{"seq without session", Command{Kind: CmdOps, Session: Session{Seq: 1}, Ops: []Op{put("k", "")}}, ErrInvalid},
		{"open with session", Command{Kind: CmdOpenSession, Session: Session{ClientID: 1}}, ErrInvalid},
		{"tick with session", Command{Kind: CmdTick, Session: Session{Seq: 1}}, ErrInvalid},
		{"close without id", Command{Kind: CmdCloseSession}, ErrInvalid},
		{"tick with ops", Command{Kind: CmdTick, Ops: []Op{put("k", "")}}, ErrInvalid},
		{"bad op type", ops(Op{Type: 0, Key: []byte("k")}), ErrInvalid},
		{"empty key", ops(Op{Type: OpGet}), ErrInvalid},
		{"negative TTL", ops(Op{Type: OpPut, Key: []byte("k"), TTL: -1}), ErrInvalid},
		{"TTL on delete", ops(Op{Type: OpDelete, Key: []byte("k"), TTL: 1}), ErrInvalid},
		{"TTL on get", ops(Op{Type: OpGet, Key: []byte("k"), TTL: 1}), ErrInvalid},
		{"value on delete", ops(Op{Type: OpDelete, Key: []byte("k"), Value: []byte("v")}), ErrInvalid},
		{"value on get", ops(Op{Type: OpGet, Key: []byte("k"), Value: []byte("v")}), ErrInvalid},
		{"conditional get", ops(Op{Type: OpGet, Key: []byte("k"), CheckVersion: true}), ErrInvalid},
		{"IfVersion without CheckVersion", ops(Op{Type: OpPut, Key: []byte("k"), IfVersion: 1}), ErrInvalid},

		{"key too long", ops(put("kkkkk", "")), ErrTooLarge},
		{"value too long", ops(put("k", "vvvvvvvvv")), ErrTooLarge},
		{"too many ops", ops(put("a", ""), put("b", ""), put("c", ""), put("d", "")), ErrTooLarge},
		{"command too large", ops(put("a", "vvvvvvvv"), put("b", "vvvvvvvv"), put("c", "vvvvvvvv")), ErrTooLarge},
	} {
		err := l.Check(&tc.cmd)
		if tc.want == nil {
			require.NoError(t, err, tc.name)
			continue
		}
		require.ErrorIs(t, err, tc.want, tc.name)
		require.NotEqual(t, tc.want.Error(), err.Error(), "%s: the error says what is wrong", tc.name)
	}
}

func TestLimitsZeroFieldsTakeDefaults(t *testing.T) {
	var zero Limits
	require.Equal(t, DefaultLimits(), zero.withDefaults())
	long := Command{Kind: CmdOps, Ops: []Op{{Type: OpPut, Key: bytes.Repeat([]byte("k"), DefaultMaxKeyBytes+1)}}}
	require.ErrorIs(t, zero.Check(&long), ErrTooLarge)
	ok := Command{Kind: CmdOps, Ops: []Op{{Type: OpPut, Key: bytes.Repeat([]byte("k"), DefaultMaxKeyBytes)}}}
	require.NoError(t, zero.Check(&ok))
	require.NoError(t, DefaultLimits().validate())
}
