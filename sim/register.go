package sim

import (
	"encoding/binary"
	"fmt"

	"github.com/anishathalye/porcupine"
)

// register is the replicated state machine of this stage of the course: an
// append-only list of numbers. Appends return the new length; reads return
// the length, the last value and a hash of the whole list, so one read pins
// down the entire contents without carrying them.
type register struct {
	state registerState
}

// registerState is small and comparable, so porcupine can cache it.
type registerState struct {
	Len  int
	Last uint64
	Hash uint64
}

func (st registerState) appendValue(v uint64) registerState {
	return registerState{Len: st.Len + 1, Last: v, Hash: st.Hash*1099511628211 + v + 1}
}

func newRegister() *register { return &register{} }

// An append command is one byte of op and a uvarint value. Reads do not go
// through the log: they use ReadIndex (see client.go).
const opAppend byte = 'A'

func encodeAppend(v uint64) []byte { return binary.AppendUvarint([]byte{opAppend}, v) }

// snapshot encodes the register's state; restore reads it back.
func (r *register) snapshot() []byte {
	b := binary.AppendUvarint(nil, uint64(r.state.Len))
	b = binary.AppendUvarint(b, r.state.Last)
	return binary.AppendUvarint(b, r.state.Hash)
}

func (r *register) restore(b []byte) error {
	var vals [3]uint64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("register snapshot: truncated")
		}
		vals[i], b = v, b[n:]
	}
	r.state = registerState{Len: int(vals[0]), Last: vals[1], Hash: vals[2]}
	return nil
}

type registerResult struct {
	state registerState
}

func (r *register) apply(cmd []byte) registerResult {
	if len(cmd) > 0 && cmd[0] == opAppend {
		v, _ := binary.Uvarint(cmd[1:])
		r.state = r.state.appendValue(v)
	}
	return registerResult{state: r.state}
}

// registerInput and registerOutput are what porcupine sees of an operation.
type registerInput struct {
	Append bool
	Value  uint64
}

type registerOutput struct {
	State   registerState
	Unknown bool // the client never learned the outcome
}

// RegisterModel is the sequential specification the histories are checked
// against.
var RegisterModel = porcupine.Model{
	Init: func() any { return registerState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(registerState), input.(registerInput), output.(registerOutput)
		if in.Append {
			next := st.appendValue(in.Value)
			return out.Unknown || out.State == next, next
		}
		return out.State == st, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(registerInput), output.(registerOutput)
		if in.Append {
			if out.Unknown {
				return fmt.Sprintf("append(%d) → ?", in.Value)
			}
			return fmt.Sprintf("append(%d) → len %d", in.Value, out.State.Len)
		}
		return fmt.Sprintf("read() → len %d, last %d", out.State.Len, out.State.Last)
	},
	DescribeState: func(state any) string {
		st := state.(registerState)
		return fmt.Sprintf("len %d, last %d, hash %x", st.Len, st.Last, st.Hash)
	},
}
