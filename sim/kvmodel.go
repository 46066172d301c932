package sim

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The kv workload's keys: kvGroups groups of kvSlots keys each, "g1/k0"…
// Every operation touches one group (a scan reads a whole group, a batch
// writes two keys of one), so the history is checked group by group.
const (
	kvGroups = 4
	kvSlots  = 3
)

func kvKey(group, slot int) string { return fmt.Sprintf("g%d/k%d", group, slot) }

func kvGroupPrefix(group int) string { return fmt.Sprintf("g%d/", group) }

// kvOpKind is what a kv client does.
type kvOpKind uint8

const (
	kvPut    kvOpKind = iota // unconditional put
	kvCAS                    // put if the key's version is IfVersion (0: absent)
	kvDelete                 // unconditional delete
	kvBatch                  // put Slot and Slot2 atomically
	kvGet                    // linearizable read of one key
	kvScan                   // linearizable read of a group, at most Limit keys
)

// kvInput is what porcupine sees of a kv operation.
type kvInput struct {
	Kind      kvOpKind
	Group     int
	Slot      int
	Slot2     int // kvBatch: the second key
	Value     string
	IfVersion uint64
	Limit     int // kvScan
}

// kvOutput is what the client saw. Versions are the log index of a key's
// last write: the model cannot predict them, but it checks that each is
// consistent with every other read and that they grow in linearization
// order.
type kvOutput struct {
	Unknown  bool
	Found    bool   // get, delete: the key existed
	Value    string // get
	Version  uint64 // put, cas, batch: the new version; get, delete: the version read
	Mismatch bool   // cas: the condition failed
	Actual   uint64 // cas mismatch: the key's version
	Items    []kvItem
}

type kvItem struct {
	Slot    int
	Value   string
	Version uint64
}

// kvSlot is the model's view of one key. A write whose outcome the client
// never learned leaves the version unknown until a read pins it.
type kvSlot struct {
	Present  bool
	Value    string
	Version  uint64
	VerKnown bool
}

// kvState is one group; comparable, so porcupine can cache states.
type kvState struct {
	Slots [kvSlots]kvSlot
	// MaxVer is the highest version known to be written in the group so
	// far: a later write must get a higher one.
	MaxVer uint64
}

func newKVState() kvState {
	var st kvState
	for i := range st.Slots {
		st.Slots[i].VerKnown = true // absent: version 0
	}
	return st
}

// pin checks a version read from slot i against the model and records it.
func (st kvState) pin(i int, ver uint64) (kvState, bool) {
	sl := &st.Slots[i]
	if sl.VerKnown {
		return st, sl.Version == ver
	}
	if ver == 0 {
		return st, false // present keys have a version
	}
	sl.Version, sl.VerKnown = ver, true
	st.MaxVer = max(st.MaxVer, ver)
	return st, true
}

// written records a write of value to slot i with a known (ver > 0) or
// unknown (ver == 0) version.
func (st kvState) written(i int, value string, ver uint64) (kvState, bool) {
	if ver != 0 && ver <= st.MaxVer {
		return st, false // versions grow with the log
	}
	st.Slots[i] = kvSlot{Present: true, Value: value, Version: ver, VerKnown: ver != 0}
	st.MaxVer = max(st.MaxVer, ver)
	return st, true
}

func (st kvState) deleted(i int) kvState {
	st.Slots[i] = kvSlot{VerKnown: true}
	return st
}

// kvStep returns every state op can lead to from st given what the client
// saw; none if the output is impossible there.
func kvStep(st kvState, in kvInput, out kvOutput) []kvState {
	one := func(next kvState, ok bool) []kvState {
		if !ok {
			return nil
		}
		return []kvState{next}
	}
	sl := st.Slots[in.Slot]
	switch in.Kind {
	case kvPut:
		return one(st.written(in.Slot, in.Value, out.Version))
	case kvBatch:
		next, ok := st.written(in.Slot, in.Value, out.Version)
		if !ok {
			return nil
		}
		// Both keys get the same version: the batch is one log entry.
		next.Slots[in.Slot2] = kvSlot{Present: true, Value: in.Value, Version: out.Version, VerKnown: out.Version != 0}
		return []kvState{next}
	case kvDelete:
		if out.Unknown {
			return []kvState{st.deleted(in.Slot)}
		}
		if out.Found != sl.Present {
			return nil
		}
		if _, ok := st.pin(in.Slot, out.Version); !ok {
			return nil
		}
		return []kvState{st.deleted(in.Slot)}
	case kvCAS:
		canMatch := sl.VerKnown && sl.Version == in.IfVersion || !sl.VerKnown && in.IfVersion != 0
		switch {
		case out.Unknown:
			// It applied, or failed its condition, or never ran: the last two
			// leave the state as it was.
			states := []kvState{st}
			if canMatch {
				next, _ := st.written(in.Slot, in.Value, 0)
				states = append(states, next)
			}
			return states
		case out.Mismatch:
			if out.Actual == in.IfVersion {
				return nil
			}
			return one(st.pin(in.Slot, out.Actual))
		default:
			if !canMatch {
				return nil
			}
			return one(st.written(in.Slot, in.Value, out.Version))
		}
	case kvGet:
		if out.Found != sl.Present || out.Found && out.Value != sl.Value {
			return nil
		}
		if !out.Found {
			return []kvState{st}
		}
		return one(st.pin(in.Slot, out.Version))
	case kvScan:
		var want []int
		for i, s := range st.Slots {
			if s.Present && (in.Limit <= 0 || len(want) < in.Limit) {
				want = append(want, i)
			}
		}
		if len(out.Items) != len(want) {
			return nil
		}
		next := st
		for j, it := range out.Items {
			if it.Slot != want[j] || it.Value != st.Slots[it.Slot].Value {
				return nil
			}
			var ok bool
			if next, ok = next.pin(it.Slot, it.Version); !ok {
				return nil
			}
		}
		return []kvState{next}
	}
	return nil
}

// KVModel is the sequential specification of the kv workload: a map from
// key to (value, version), checked one key group at a time. It is
// nondeterministic because a compare-and-set whose outcome is unknown may
// have applied or not.
var KVModel = (&porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		groups := make([][]porcupine.Operation, kvGroups)
		for _, op := range history {
			g := op.Input.(kvInput).Group
			groups[g] = append(groups[g], op)
		}
		var out [][]porcupine.Operation
		for _, g := range groups {
			if len(g) > 0 {
				out = append(out, g)
			}
		}
		return out
	},
	Init: func() []any { return []any{newKVState()} },
	Step: func(state, input, output any) []any {
		next := kvStep(state.(kvState), input.(kvInput), output.(kvOutput))
		out := make([]any, len(next))
		for i, st := range next {
			out[i] = st
		}
		return out
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		key := kvKey(in.Group, in.Slot)
		res := func(s string) string {
			if out.Unknown {
				return "?"
			}
			return s
		}
		switch in.Kind {
		case kvPut:
			return fmt.Sprintf("put(%s, %s) → %s", key, in.Value, res(fmt.Sprintf("v%d", out.Version)))
		case kvBatch:
			return fmt.Sprintf("batch(%s, %s = %s) → %s", key, kvKey(in.Group, in.Slot2), in.Value, res(fmt.Sprintf("v%d", out.Version)))
		case kvCAS:
			if out.Mismatch {
				return fmt.Sprintf("cas(%s, if v%d, %s) → mismatch, v%d", key, in.IfVersion, in.Value, out.Actual)
			}
			return fmt.Sprintf("cas(%s, if v%d, %s) → %s", key, in.IfVersion, in.Value, res(fmt.Sprintf("v%d", out.Version)))
		case kvDelete:
			return fmt.Sprintf("delete(%s) → %s", key, res(fmt.Sprintf("found=%v v%d", out.Found, out.Version)))
		case kvGet:
			if !out.Found {
				return fmt.Sprintf("get(%s) → not found", key)
			}
			return fmt.Sprintf("get(%s) → %s v%d", key, out.Value, out.Version)
		default:
			var items []string
			for _, it := range out.Items {
				items = append(items, fmt.Sprintf("k%d=%s v%d", it.Slot, it.Value, it.Version))
			}
			return fmt.Sprintf("scan(%s, limit %d) → [%s]", kvGroupPrefix(in.Group), in.Limit, strings.Join(items, " "))
		}
	},
	DescribeState: func(state any) string {
		st := state.(kvState)
		var parts []string
		for i, s := range st.Slots {
			switch {
			case !s.Present:
				parts = append(parts, fmt.Sprintf("k%d: -", i))
			case s.VerKnown:
				parts = append(parts, fmt.Sprintf("k%d: %s v%d", i, s.Value, s.Version))
			default:
				parts = append(parts, fmt.Sprintf("k%d: %s v?", i, s.Value))
			}
		}
		return strings.Join(parts, ", ")
	},
}).ToModel()
