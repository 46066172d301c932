package sim

import (
	"container/heap"
	"time"
)

// eventKind names what an event does; it is part of the trace digest.
type eventKind uint8

const (
	evTick eventKind = iota + 1
	evDeliver
	evSyncDone
	evRestart
	evClient
	evNemesis
	evCall
)

// event is one scheduled happening. Events run in (at, seq) order; seq breaks
// ties in the order events were scheduled, so the queue never depends on
// anything but the seed.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	node uint64 // the node concerned, or 0
	gen  uint64 // the node's incarnation when scheduled; stale events are skipped
	run  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

func (q *eventQueue) push(e *event) { heap.Push(q, e) }
func (q *eventQueue) pop() *event   { return heap.Pop(q).(*event) }
