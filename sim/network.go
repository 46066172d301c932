package sim

import (
	"time"

	"github.com/minikv-go/minikv/raft"
)

// NetOptions shapes the simulated network between nodes.
type NetOptions struct {
	// Every message takes a delay drawn uniformly from [MinDelay, MaxDelay];
	// two messages on the same link may therefore arrive out of order.
	MinDelay, MaxDelay time.Duration
	// Loss and Dup are the probabilities that a message is dropped, or
	// delivered twice.
	Loss, Dup float64
	// LongDelayProb is the probability that a message is held back by up to
	// LongDelay on top (a long reordering, as in TestFigure8Unreliable).
	LongDelayProb float64
	LongDelay     time.Duration
}

// network carries raft messages between nodes. A message from a to b gets
// through unless a or b is disconnected (cut off from everyone, as MIT's
// harness does it) or the directed link a→b is blocked (partitions block
// both directions, an asymmetric fault only one).
type network struct {
	opts         NetOptions
	disconnected map[uint64]bool    // only ever looked up
	blocked      map[[2]uint64]bool // {from, to} → dropped; only ever looked up

	sent, dropped, delivered int
	bytes                    int
	rejectedApps             int
	snapChunks               int
	byType                   map[raft.MessageType]int
}

func newNetwork(opts NetOptions) *network {
	return &network{opts: opts, disconnected: map[uint64]bool{}, blocked: map[[2]uint64]bool{}, byType: map[raft.MessageType]int{}}
}

func (n *network) linkUp(from, to uint64) bool {
	return !n.disconnected[from] && !n.disconnected[to] && !n.blocked[[2]uint64{from, to}]
}

// send schedules the delivery of m, perhaps twice, perhaps never.
func (s *Sim) send(m raft.Message) {
	if m.Type == raft.MsgSnap {
		s.streamSnapshot(m)
		return
	}
	n := s.net
	n.sent++
	n.byType[m.Type]++
	if m.Type == raft.MsgAppResp && m.Reject {
		n.rejectedApps++
	}
	s.msgBuf = raft.AppendMessage(s.msgBuf[:0], m)
	n.bytes += len(s.msgBuf)
	s.trace.message(s.now, m)
	if s.rng.Float64() < n.opts.Loss {
		n.dropped++
		return
	}
	copies := 1
	if s.rng.Float64() < n.opts.Dup {
		copies = 2
	}
	for range copies {
		delay := n.opts.MinDelay
		if span := n.opts.MaxDelay - n.opts.MinDelay; span > 0 {
			delay += time.Duration(s.rng.Int64N(int64(span) + 1))
		}
		if n.opts.LongDelay > 0 && s.rng.Float64() < n.opts.LongDelayProb {
			delay += time.Duration(s.rng.Int64N(int64(n.opts.LongDelay)))
		}
		s.schedule(delay, evDeliver, m.To, func() { s.deliver(m) })
	}
}

// deliver hands m to its destination, unless the link is cut or the node down
// when it arrives.
func (s *Sim) deliver(m raft.Message) {
	s.msgBuf = raft.AppendMessage(s.msgBuf[:0], m)
	s.digest.Write(s.msgBuf)
	nd := s.nodes[m.To]
	if !s.net.linkUp(m.From, m.To) || !nd.up {
		s.net.dropped++
		s.trace.deliver(s.now, m, true)
		if m.Type == raft.MsgSnap {
			s.reportSnapshotFailure(m)
		}
		return
	}
	s.trace.deliver(s.now, m, false)
	s.net.delivered++
	nd.inbox = append(nd.inbox, m)
	nd.process()
}

// reportSnapshotFailure tells the sender that a snapshot did not get
// through, as a real transport sees its snapshot stream break.
func (s *Sim) reportSnapshotFailure(m raft.Message) {
	sender := s.nodes[m.From]
	s.scheduleNode(s.net.opts.MaxDelay, evDeliver, sender, func() {
		sender.raft.ReportSnapshot(m.To, true)
		sender.process()
	})
}

// streamSnapshot sends a snapshot the way a real transport streams a
// snapshot file: in chunks of Options.SnapshotChunkBytes, in order, over one
// connection. Each chunk may be lost or cut off by a partition like any
// message; then the stream breaks, the receiver throws the partial snapshot
// away, and the sender learns of the failure (ReportSnapshot). Only when the
// last chunk arrives does the receiver's core get the MsgSnap.
func (s *Sim) streamSnapshot(m raft.Message) {
	n := s.net
	n.byType[m.Type]++
	s.trace.message(s.now, m)
	size := s.opts.SnapshotChunkBytes
	if size <= 0 {
		size = 1 << 20
	}
	chunks := max(1, (len(m.Snapshot.Data)+size-1)/size)
	broken := false
	at := time.Duration(0)
	for i := range chunks {
		n.sent++
		n.bytes += min(size, len(m.Snapshot.Data)-i*size)
		n.snapChunks++
		// One connection: chunks arrive in order, each some delay after
		// the previous one.
		at += n.opts.MinDelay
		if span := n.opts.MaxDelay - n.opts.MinDelay; span > 0 {
			at += time.Duration(s.rng.Int64N(int64(span)/4 + 1))
		}
		lost := s.rng.Float64() < n.opts.Loss
		last := i == chunks-1
		s.schedule(at, evDeliver, m.To, func() {
			if broken {
				return
			}
			if lost || !s.net.linkUp(m.From, m.To) || !s.nodes[m.To].up {
				broken = true
				n.dropped++
				s.trace.deliver(s.now, m, true)
				s.reportSnapshotFailure(m)
				return
			}
			if last {
				s.deliver(m)
			}
		})
	}
}

// SnapshotChunks returns how many snapshot chunks were sent.
func (s *Sim) SnapshotChunks() int { return s.net.snapChunks }
