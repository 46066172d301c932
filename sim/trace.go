package sim

import (
	"slices"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// TraceEvent is one thing that happened in a traced run, in the form the HTML
// trace view draws. Times are virtual microseconds since the start.
type TraceEvent struct {
	T    int64  `json:"t"`
	Kind string `json:"k"` // state, crash, send, recv, commit, net, violation
	Node uint64 `json:"n,omitempty"`

	// state
	Role string `json:"role,omitempty"`
	Term uint64 `json:"term,omitempty"`
	Lead uint64 `json:"lead,omitempty"`
	Note string `json:"note,omitempty"`

	// send: Node sent a message to To. recv: a copy of a message from To
	// reached Node (Note "dropped" if a cut link or a crash ate it).
	To      uint64 `json:"to,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Summary string `json:"sum,omitempty"`

	// commit: the cluster-wide commit of Index, first seen at Node.
	Index uint64 `json:"idx,omitempty"`

	// net: the set of cut directed links [from, to] from now on.
	Blocked [][2]uint64 `json:"blocked,omitempty"`
}

// Trace is a recorded run.
type Trace struct {
	Seed      uint64       `json:"seed"`
	Nodes     int          `json:"nodes"`
	Faults    string       `json:"faults"`
	Events    []TraceEvent `json:"events"`
	Truncated bool         `json:"truncated"`
}

// maxTraceEvents keeps a trace of a long run small enough for a browser.
const maxTraceEvents = 400_000

// tracer records a run. A nil tracer records nothing, so call sites need no
// checks.
type tracer struct {
	t Trace
}

func newTracer(opts Options) *tracer {
	return &tracer{t: Trace{Seed: opts.Seed, Nodes: opts.Nodes, Faults: opts.Faults.String()}}
}

func (tr *tracer) add(e TraceEvent) {
	if len(tr.t.Events) >= maxTraceEvents {
		tr.t.Truncated = true
		return
	}
	tr.t.Events = append(tr.t.Events, e)
}

func us(d time.Duration) int64 { return d.Microseconds() }

func (tr *tracer) state(now time.Duration, id uint64, st raft.Status, note string) {
	if tr == nil {
		return
	}
	tr.add(TraceEvent{T: us(now), Kind: "state", Node: id, Role: st.Role.String(), Term: st.Term, Lead: st.Lead, Note: note})
}

func (tr *tracer) crash(now time.Duration, id uint64) {
	if tr == nil {
		return
	}
	tr.add(TraceEvent{T: us(now), Kind: "crash", Node: id})
}

func (tr *tracer) message(now time.Duration, m raft.Message) {
	if tr == nil {
		return
	}
	tr.add(TraceEvent{T: us(now), Kind: "send", Node: m.From, To: m.To, Msg: m.Type.String(), Summary: m.String()})
}

// deliver records when a message sent at sentAt arrived.
func (tr *tracer) deliver(now time.Duration, m raft.Message, dropped bool) {
	if tr == nil {
		return
	}
	note := ""
	if dropped {
		note = "dropped"
	}
	tr.add(TraceEvent{T: us(now), Kind: "recv", Node: m.To, To: m.From, Msg: m.Type.String(), Summary: m.String(), Note: note})
}

func (tr *tracer) commit(now time.Duration, id, index uint64) {
	if tr == nil {
		return
	}
	tr.add(TraceEvent{T: us(now), Kind: "commit", Node: id, Index: index})
}

func (tr *tracer) network(now time.Duration, n *network, ids []uint64) {
	if tr == nil {
		return
	}
	var cut [][2]uint64
	for _, a := range ids {
		for _, b := range ids {
			if a != b && !n.linkUp(a, b) {
				cut = append(cut, [2]uint64{a, b})
			}
		}
	}
	tr.add(TraceEvent{T: us(now), Kind: "net", Blocked: cut})
}

func (tr *tracer) violation(now time.Duration, err error) {
	if tr == nil {
		return
	}
	tr.add(TraceEvent{T: us(now), Kind: "violation", Note: err.Error()})
}

// Trace returns the recorded trace, or nil when tracing is off.
func (s *Sim) Trace() *Trace {
	if s.trace == nil {
		return nil
	}
	t := s.trace.t
	t.Events = slices.Clone(t.Events)
	return &t
}
