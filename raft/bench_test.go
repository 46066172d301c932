package raft

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkCommit measures the consensus core alone: n peers in one
// goroutine, messages passed in memory, no disk. The leader proposes batches
// of 64 entries of 128 bytes and the cluster runs until the leader has
// committed the batch. One op is one batch.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{3, 5} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { benchmarkCommit(b, n) })
	}
}

func benchmarkCommit(b *testing.B, n int) {
	const batch = 64
	data := make([]byte, 128)

	var ids []uint64
	for id := uint64(1); id <= uint64(n); id++ {
		ids = append(ids, id)
	}
	peers := make([]*Raft, n)
	for i, id := range ids {
		r, err := New(Config{
			ID: id, Peers: ids, ElectionTick: 10, HeartbeatTick: 1,
			Rand: rand.New(rand.NewPCG(1, id)),
		}, PersistentState{})
		if err != nil {
			b.Fatal(err)
		}
		peers[i] = r
	}

	var queue []Message
	handle := func(r *Raft) {
		if r.HasReady() {
			rd := r.Ready() // nothing to persist or apply: this measures the core
			queue = append(queue, rd.Messages...)
			r.Advance(rd)
		}
	}
	deliver := func() {
		for i := 0; i < len(queue); i++ { // queue grows as we go
			p := peers[queue[i].To-1]
			p.Step(queue[i])
			handle(p)
		}
		clear(queue) // drop references to delivered entries
		queue = queue[:0]
	}

	leader := peers[0]
	for i := 0; leader.Status().Role != Leader; i++ {
		if i > 1000 {
			b.Fatal("no leader")
		}
		leader.Tick()
		handle(leader)
		deliver()
	}

	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		for range batch {
			if _, _, err := leader.Propose(data); err != nil {
				b.Fatal(err)
			}
		}
		handle(leader)
		target := leader.Status().LastIndex
		for leader.Status().Commit < target {
			if len(queue) == 0 {
				b.Fatalf("stuck: commit %d < %d with nothing in flight", leader.Status().Commit, target)
			}
			deliver()
			handle(leader)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)

	entries := float64(b.N * batch)
	b.ReportMetric(entries/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/entries, "allocs/entry")
}
