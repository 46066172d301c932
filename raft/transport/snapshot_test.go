package transport

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
)

func snapMsg(from, to, index uint64) raft.Message {
	return raft.Message{Type: raft.MsgSnap, From: from, To: to, Term: 3,
		Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: index, Term: 2,
			Conf: raft.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}}}}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// A snapshot of several chunks arrives byte-exact through Receive; then the
// receiver's Process gets the MsgSnap (metadata only); then the sender gets
// ReportSnapshot(ok).
func TestSnapshotStream(t *testing.T) {
	events := &eventLog{}
	const chunk = 256 << 10
	a := startNode(t, 1, "", func(c *Config) { c.ChunkBytes = chunk })
	b := startNode(t, 2, "", nil)
	a.h.setEvents(events, "a")
	b.h.setEvents(events, "b")
	b.store.mu.Lock()
	b.store.events, b.store.name = events, "b"
	b.store.mu.Unlock()
	connect(a, b)
	data := randomBytes(5<<20+12345, 1) // 21 chunks, the last one short
	a.store.put(42, data)

	a.Send([]raft.Message{snapMsg(1, 2, 42)})
	eventually(t, 10*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports(); r[0] != (snapReport{2, true}) {
		t.Fatalf("report %+v, want ok", r[0])
	}
	got, ok := b.store.got(42)
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want %d identical ones", len(got), len(data))
	}
	msgs := b.h.messages()
	if len(msgs) != 1 {
		t.Fatalf("Process got %d messages", len(msgs))
	}
	want := snapMsg(1, 2, 42)
	if !bytes.Equal(encode(msgs[0]), encode(want)) || msgs[0].Snapshot.Data != nil {
		t.Fatalf("Process got %v, want %v without data", msgs[0], want)
	}
	wantEvents := []string{"b stored 42", "b process MsgSnap", "a report-snapshot 2 true"}
	if ev := events.events(); !slices.Equal(ev, wantEvents) {
		t.Fatalf("events %q, want %q", ev, wantEvents)
	}
	if n := a.m.snapBytes.Load(); n != int64(len(data)) {
		t.Fatalf("SnapshotBytesSent = %d, want %d", n, len(data))
	}
	if a.m.sent.Load() != 1 || b.m.received.Load() != 1 {
		t.Fatalf("metrics: sent %d, received %d", a.m.sent.Load(), b.m.received.Load())
	}
}

func TestSnapshotEmpty(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.store.put(1, nil)
	a.Send([]raft.Message{snapMsg(1, 2, 1)})
	eventually(t, 5*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; !r.ok {
		t.Fatal("empty snapshot failed")
	}
	if got, ok := b.store.got(1); !ok || len(got) != 0 {
		t.Fatalf("received %v %v", got, ok)
	}
}

// While a snapshot streams (and its receiver's store is slow), heartbeats
// keep flowing; a second MsgSnap to the same peer is dropped.
func TestSnapshotDoesNotBlockMessages(t *testing.T) {
	a := startNode(t, 1, "", func(c *Config) { c.ChunkBytes = 64 << 10 })
	b := startNode(t, 2, "", nil)
	connect(a, b)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	b.store.setReceive(func(meta raft.SnapshotMeta, r io.Reader) error {
		if _, err := io.CopyN(io.Discard, r, 1000); err != nil {
			return err
		}
		once.Do(func() { close(started) })
		<-release
		_, err := io.Copy(io.Discard, r)
		return err
	})
	a.store.put(7, randomBytes(8<<20, 2))
	a.Send([]raft.Message{snapMsg(1, 2, 7)})
	<-started
	a.Send([]raft.Message{snapMsg(1, 2, 7)}) // dropped: one stream per peer
	if d := a.m.dropped.Load(); d != 1 {
		t.Fatalf("dropped %d, want the second MsgSnap", d)
	}
	for i := range 50 {
		a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: uint64(i)}})
	}
	eventually(t, 3*time.Second, "heartbeats during the snapshot", func() bool { return b.h.count() == 50 })
	if len(a.h.snapReports()) != 0 {
		t.Fatal("snapshot reported before it was stored")
	}
	close(release)
	eventually(t, 10*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; !r.ok {
		t.Fatal("snapshot failed")
	}
	// The slot is free again.
	a.Send([]raft.Message{snapMsg(1, 2, 7)})
	eventually(t, 10*time.Second, "second ReportSnapshot", func() bool { return len(a.h.snapReports()) == 2 })
}

// The receiver's store fails: the sender hears ok=false, and the receiver's
// core never sees the MsgSnap.
func TestSnapshotReceiveError(t *testing.T) {
	for name, recv := range map[string]func(raft.SnapshotMeta, io.Reader) error{
		"after reading some": func(_ raft.SnapshotMeta, r io.Reader) error {
			io.CopyN(io.Discard, r, 300<<10)
			return errTestStore
		},
		"after reading all": func(_ raft.SnapshotMeta, r io.Reader) error {
			io.Copy(io.Discard, r)
			return errTestStore
		},
		"nil without reading all": func(_ raft.SnapshotMeta, r io.Reader) error {
			io.CopyN(io.Discard, r, 10)
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			a := startNode(t, 1, "", func(c *Config) { c.ChunkBytes = 128 << 10 })
			b := startNode(t, 2, "", nil)
			connect(a, b)
			b.store.setReceive(recv)
			a.store.put(3, randomBytes(1<<20, 3))
			a.Send([]raft.Message{snapMsg(1, 2, 3)})
			eventually(t, 10*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
			if r := a.h.snapReports()[0]; r != (snapReport{2, false}) {
				t.Fatalf("report %+v, want failure", r)
			}
			if b.h.count() != 0 {
				t.Fatal("Process called for a snapshot that was not stored")
			}
		})
	}
}

// The receiver dies in the middle of the stream: ReportSnapshot(false).
func TestSnapshotReceiverDies(t *testing.T) {
	a := startNode(t, 1, "", func(c *Config) { c.ChunkBytes = 64 << 10 })
	b := startNode(t, 2, "", nil)
	connect(a, b)
	halfway := make(chan struct{})
	b.store.setReceive(func(_ raft.SnapshotMeta, r io.Reader) error {
		if _, err := io.CopyN(io.Discard, r, 1<<20); err != nil {
			return err
		}
		close(halfway)
		_, err := io.Copy(io.Discard, r) // fails when the transport closes
		return err
	})
	a.store.put(9, randomBytes(16<<20, 4))
	a.Send([]raft.Message{snapMsg(1, 2, 9)})
	<-halfway
	b.Close()
	eventually(t, 10*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; r != (snapReport{2, false}) {
		t.Fatalf("report %+v, want failure", r)
	}
	if b.h.count() != 0 {
		t.Fatal("Process called for a broken stream")
	}
}

func TestSnapshotOpenFails(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.Send([]raft.Message{snapMsg(1, 2, 99)}) // a has no snapshot 99
	eventually(t, 5*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; r.ok {
		t.Fatal("reported ok")
	}
}

// A store whose reader ends before the size it announced.
type shortStore struct{ *memStore }

func (s shortStore) Open(meta raft.SnapshotMeta) (io.ReadCloser, int64, error) {
	rc, n, err := s.memStore.Open(meta)
	return rc, n + 100, err
}

func TestSnapshotShortSource(t *testing.T) {
	a := startNode(t, 1, "", func(c *Config) {
		st := newMemStore()
		st.put(5, randomBytes(300<<10, 5))
		c.Snapshots = shortStore{st}
	})
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.Send([]raft.Message{snapMsg(1, 2, 5)})
	eventually(t, 5*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; r.ok {
		t.Fatal("reported ok")
	}
	never(t, 100*time.Millisecond, "Process of a short snapshot", func() bool { return b.h.count() > 0 })
	if _, ok := b.store.got(5); ok {
		t.Fatal("short snapshot stored")
	}
}

// A receiver without a SnapshotStore refuses snapshot connections.
func TestSnapshotRefusedWithoutStore(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", func(c *Config) { c.Snapshots = nil })
	connect(a, b)
	a.store.put(1, []byte("x"))
	a.Send([]raft.Message{snapMsg(1, 2, 1)})
	eventually(t, 5*time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) == 1 })
	if r := a.h.snapReports()[0]; r.ok {
		t.Fatal("reported ok")
	}
}
