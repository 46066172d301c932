package transport

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// countingHandler counts what arrives and nothing else.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Process(raft.Message)        { h.n.Add(1) }
func (h *countingHandler) ReportUnreachable(uint64)    {}
func (h *countingHandler) ReportSnapshot(uint64, bool) {}
func (h *countingHandler) wait(b *testing.B, want int64) {
	deadline := time.Now().Add(time.Minute)
	for h.n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d messages arrived", h.n.Load(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkSend measures one node streaming MsgApps (64 entries of 128
// bytes each, like a leader under write load) to another over loopback.
// Send never blocks, so the benchmark keeps at most half a queue in flight
// to avoid drops, and counts a message when the receiver's Handler has it.
func BenchmarkSend(b *testing.B) {
	const queue = 4096
	recv := &countingHandler{}
	rt, err := NewTCP(Config{ID: 2, ListenAddr: "127.0.0.1:0", Handler: recv, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	dropped := atomic.Int64{}
	st, err := NewTCP(Config{ID: 1, ListenAddr: "127.0.0.1:0", Handler: &countingHandler{}, Logger: testLogger(),
		QueueSize: queue, Metrics: &Metrics{MessagesDropped: func(_ uint64, n int) { dropped.Add(int64(n)) }}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	st.AddPeer(2, rt.Addr())

	ents := make([]raft.Entry, 64)
	for i := range ents {
		ents[i] = raft.Entry{Term: 1, Index: uint64(i + 1), Data: make([]byte, 128)}
	}
	msg := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 1, Commit: 1, Entries: ents}
	size := int64(len(raft.AppendMessage(nil, msg)) + frameHeaderSize)

	// Warm up: the connection is established.
	st.Send([]raft.Message{msg})
	recv.wait(b, 1)
	base := recv.n.Load()

	batch := make([]raft.Message, 64)
	for i := range batch {
		batch[i] = msg
	}
	b.SetBytes(size)
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		k := min(len(batch), b.N-sent)
		for int64(sent)-(recv.n.Load()-base) > queue/2 {
			time.Sleep(20 * time.Microsecond)
		}
		st.Send(batch[:k])
		sent += k
	}
	recv.wait(b, base+int64(b.N))
	b.StopTimer()
	if d := dropped.Load(); d != 0 {
		b.Fatalf("%d messages dropped", d)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "msgs/s")
	b.ReportMetric(float64(int64(b.N)*size)/secs/(1<<20), "MiB/s")
	b.ReportMetric(float64(b.N)*64/secs, "entries/s")
}

// BenchmarkSnapshot measures streaming a 64 MiB snapshot over loopback
// (default 256 KiB chunks), the receiver's store discarding the bytes.
func BenchmarkSnapshot(b *testing.B) {
	const size = 64 << 20
	a := startNode(b, 1, "", nil)
	c := startNode(b, 2, "", nil)
	c.store.setReceive(func(_ raft.SnapshotMeta, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	connect(a, c)
	a.store.put(1, make([]byte, size))
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		a.Send([]raft.Message{snapMsg(1, 2, 1)})
		eventually(b, time.Minute, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == i+1 })
	}
	b.StopTimer()
	for _, r := range a.h.snapReports() {
		if !r.ok {
			b.Fatal("snapshot failed")
		}
	}
}
