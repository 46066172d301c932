package kv

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sampleCommands covers every kind, op type and field.
func sampleCommands() []Command {
	return []Command{
		{},
		{Kind: CmdTick, Time: baseTime},
		{Kind: CmdOpenSession, Time: 1},
		{Kind: CmdCloseSession, Session: Session{ClientID: 42}, Time: math.MaxInt64},
		{Kind: CmdOps, Session: Session{ClientID: 7, Seq: 300}, Time: baseTime, Ops: []Op{
			{Type: OpPut, Key: []byte("k"), Value: []byte("v"), TTL: time.Minute},
			{Type: OpPut, Key: []byte("cas"), Value: []byte{0, 0xff}, CheckVersion: true, IfVersion: math.MaxUint64},
			{Type: OpDelete, Key: []byte("d"), CheckVersion: true},
			{Type: OpGet, Key: []byte{0}},
		}},
		// Invalid commands encode and decode too; Limits.Check rejects them.
		{Kind: CmdTick, Time: -5, Ops: []Op{{Type: OpGet, TTL: -time.Second, IfVersion: 3}}},
	}
}

// randomCommand builds a command with arbitrary (valid-kind) fields.
func randomCommand(r *rand.Rand) Command {
	c := Command{
		Kind:    CommandKind(r.IntN(4)),
		Session: Session{ClientID: randUint(r), Seq: randUint(r)},
		Time:    int64(randUint(r)),
	}
	for range r.IntN(5) {
		op := Op{
			Type:         OpType(1 + r.IntN(3)),
			Key:          randBytes(r, 20),
			Value:        randBytes(r, 50),
			CheckVersion: r.IntN(2) == 0,
			IfVersion:    randUint(r),
			TTL:          time.Duration(randUint(r)),
		}
		c.Ops = append(c.Ops, op)
	}
	return c
}

// randUint returns small and large numbers, so every varint length occurs.
func randUint(r *rand.Rand) uint64 {
	return r.Uint64() >> r.IntN(65)
}

func randBytes(r *rand.Rand, max int) []byte {
	n := r.IntN(max + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCommandRoundTrip(t *testing.T) {
	cmds := sampleCommands()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		cmds = append(cmds, randomCommand(r))
	}
	for i := range cmds {
		c := cmds[i]
		b := c.Encode()
		require.Len(t, b, c.encodedLen())
		require.Equal(t, byte(commandVersion), b[0])
		got, err := DecodeCommand(b)
		require.NoError(t, err, "command %d", i)
		require.Equal(t, c, got, "command %d", i)
	}
}

// TestCommandEncodingIsStable pins the format: entries already in logs must
// keep decoding to the same commands.
func TestCommandEncodingIsStable(t *testing.T) {
	c := Command{Kind: CmdOps, Session: Session{ClientID: 5, Seq: 300}, Time: -1, Ops: []Op{
		{Type: OpPut, Key: []byte("k"), Value: []byte("v"), TTL: 2},
		{Type: OpDelete, Key: []byte("d"), CheckVersion: true, IfVersion: 9},
	}}
	const want = "01" + "00" + "05" + "ac02" + "01" + "02" +
		"01" + "00" + "00" + "016b" + "0176" + "04" +
		"02" + "01" + "09" + "0164" + "00" + "00"
	require.Equal(t, want, hex.EncodeToString(c.Encode()))
}

func TestDecodeCommandRejects(t *testing.T) {
	valid := Command{Kind: CmdOps, Time: 1, Ops: []Op{{Type: OpPut, Key: []byte("k")}}}
	good := valid.Encode() // 01 00 00 00 02 01 | 01 00 00 01 6b 00 00
	mutate := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version only", []byte{commandVersion}},
		{"unknown version", mutate(0, 2)},
		{"unknown kind", mutate(1, 4)},
		{"unknown op type", mutate(6, 4)},
		{"op type zero", mutate(6, 0)},
		{"bad boolean", mutate(7, 2)},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"truncated", good[:len(good)-1]},
		{"non-minimal varint", []byte{1, 0, 0x80, 0x00, 0, 0, 0}},
		{"varint overflow", []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0}},
		{"key longer than input", []byte{1, 0, 0, 0, 0, 1, 1, 0, 0, 0x7f, 'k', 0, 0}},
		{"op count beyond input", []byte{1, 0, 0, 0, 0, 0xff, 0xff, 0x03, 1, 0, 0, 0, 0, 0}},
	} {
		_, err := DecodeCommand(tc.in)
		require.ErrorIs(t, err, ErrInvalid, tc.name)
	}
	_, err := DecodeCommand(good)
	require.NoError(t, err)
}

func TestDecodeCommandDoesNotAlias(t *testing.T) {
	c := Command{Kind: CmdOps, Ops: []Op{{Type: OpPut, Key: []byte("key"), Value: []byte("value")}}}
	b := c.Encode()
	got, err := DecodeCommand(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 'X'
	}
	require.Equal(t, "key", string(got.Ops[0].Key))
	require.Equal(t, "value", string(got.Ops[0].Value))
}

// FuzzDecodeCommand: decoding arbitrary bytes never panics; whatever decodes
// re-encodes to exactly the same bytes (the encoding is canonical) and
// decodes again to the same command.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(c.Encode())
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		c := randomCommand(r)
		f.Add(c.Encode())
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0x80, 0x00, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		enc := c.Encode()
		require.Equal(t, b, enc, "encoding is not canonical")
		require.Len(t, enc, c.encodedLen())
		c2, err := DecodeCommand(enc)
		require.NoError(t, err)
		require.Equal(t, c, c2)
		_ = DefaultLimits().Check(&c) // must not panic either
	})
}
