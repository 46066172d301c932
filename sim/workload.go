package sim

import (
	"fmt"

	"github.com/anishathalye/porcupine"
	"github.com/minikv-go/minikv/raft"
)

// Workload names the replicated state machine the simulated nodes run and
// the operations the simulated clients issue against it.
type Workload string

const (
	// WorkloadKV is minikv's real key-value state machine (package kv),
	// driven by clients with sessions that put, get, delete, compare-and-set,
	// batch and scan; histories are checked per key group.
	WorkloadKV Workload = "kv"
	// WorkloadRegister is the append-only register of labs 1–5: the
	// smallest state machine that still shows every Raft bug.
	WorkloadRegister Workload = "register"
)

// ParseWorkload reads a workload name.
func ParseWorkload(s string) (Workload, error) {
	switch w := Workload(s); w {
	case WorkloadKV, WorkloadRegister:
		return w, nil
	}
	return "", fmt.Errorf("unknown workload %q (known: kv, register)", s)
}

// stateMachine is what a simulated node replicates. It is applied in log
// order, captured in snapshots, and compared across nodes by digest.
type stateMachine interface {
	// apply applies committed entries in order; results[i] answers
	// entries[i] (nil for entries that carry no command). An error means the
	// state machine is broken: the run fails.
	apply(entries []raft.Entry) (results []any, err error)
	// applied is the index of the last entry the state reflects.
	applied() uint64
	// snapshot captures the state; restore replaces the state with one.
	snapshot() ([]byte, error)
	restore(data []byte) error
	// digest is a hash of the whole state: two nodes at the same applied
	// index must agree on it.
	digest() (uint64, error)
	// crash drops whatever the state machine holds only in memory; what
	// survives is up to the engine it models (nothing, for a volatile one).
	crash()
}

// opID names one client command in the log, so that the checker can tell
// whether a command whose outcome a client never learned ever took effect.
type opID struct{ a, b uint64 }

// workload is the client side of a Workload: which operations clients issue,
// how they are encoded, and the porcupine model their history is checked
// against.
type workload interface {
	model() porcupine.Model
	// openStateMachine gives node n its state machine at start: empty, or
	// whatever its durable engine kept through a crash.
	openStateMachine(n *node) (stateMachine, error)
	// nextOp picks client c's next operation.
	nextOp(c *client) *pendingOp
	// commandID identifies the client command an entry carries, if any.
	commandID(e raft.Entry) (opID, bool)
}

func (s *Sim) newWorkload() workload {
	switch s.opts.Workload {
	case WorkloadRegister:
		return registerWorkload{s: s}
	default:
		return newKVWorkload(s)
	}
}
