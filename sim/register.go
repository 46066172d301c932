package sim

import (
	"encoding/binary"
	"fmt"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/raft"
)

// register is the replicated state machine of this stage of the course: an
// append-only list of numbers. Appends return the new length; reads return
// the length, the last value and a hash of the whole list, so one read pins
// down the entire contents without carrying them.
type register struct {
	state registerState
	index uint64 // last applied
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

// snapshot encodes the register's state and applied index; restore reads
// them back.
func (r *register) snapshot() ([]byte, error) {
	b := binary.AppendUvarint(nil, r.index)
	b = binary.AppendUvarint(b, uint64(r.state.Len))
	b = binary.AppendUvarint(b, r.state.Last)
	return binary.AppendUvarint(b, r.state.Hash), nil
}

func (r *register) restore(b []byte) error {
	var vals [4]uint64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("register snapshot: truncated")
		}
		vals[i], b = v, b[n:]
	}
	r.index = vals[0]
	r.state = registerState{Len: int(vals[1]), Last: vals[2], Hash: vals[3]}
	return nil
}

func (r *register) apply(entries []raft.Entry) ([]any, error) {
	results := make([]any, len(entries))
	for i, e := range entries {
		if e.Index != r.index+1 {
			return nil, fmt.Errorf("register: applying index %d after %d", e.Index, r.index)
		}
		r.index = e.Index
		if v, ok := appendedValue(e); ok {
			r.state = r.state.appendValue(v)
		}
		results[i] = r.state
	}
	return results, nil
}

func (r *register) applied() uint64 { return r.index }

func (r *register) digest() (uint64, error) {
	return r.state.Hash ^ uint64(r.state.Len)<<48 ^ r.state.Last*0x9e3779b97f4a7c15, nil
}

// crash: the register lives in memory only; a restarted node rebuilds it
// from its snapshot and log.
func (r *register) crash() {}

// appendedValue returns the value an entry appends to the register, if any.
func appendedValue(e raft.Entry) (uint64, bool) {
	if e.Type != raft.EntryNormal || len(e.Data) == 0 || e.Data[0] != opAppend {
		return 0, false
	}
	v, _ := binary.Uvarint(e.Data[1:])
	return v, true
}

// registerWorkload: clients append unique values (70%) and read the whole
// register through ReadIndex (30%).
type registerWorkload struct{ s *Sim }

func (w registerWorkload) model() porcupine.Model { return RegisterModel }

func (w registerWorkload) openStateMachine(*node) (stateMachine, error) { return newRegister(), nil }

func (w registerWorkload) commandID(e raft.Entry) (opID, bool) {
	v, ok := appendedValue(e)
	return opID{a: v}, ok
}

func (w registerWorkload) nextOp(c *client) *pendingOp {
	s := w.s
	p := s.clients
	p.nextVal++
	v := p.nextVal
	if s.rng.IntN(10) >= 7 {
		return &pendingOp{
			input: registerInput{},
			read:  func(sm stateMachine) any { return registerOutput{State: sm.(*register).state} },
		}
	}
	return &pendingOp{
		input:   registerInput{Append: true, Value: v},
		command: func() []byte { return encodeAppend(v) },
		outcome: func(res any) (any, bool) { return registerOutput{State: res.(registerState)}, false },
		id:      opID{a: v}, hasID: true,
		unknown: registerOutput{Unknown: true},
	}
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
