package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// recorder is a Handler that remembers everything it is told.
type recorder struct {
	mu          sync.Mutex
	msgs        []raft.Message
	unreachable map[uint64]int
	snaps       []snapReport
	events      *eventLog // optional: a log shared with other handlers/stores
	name        string
}

type snapReport struct {
	id uint64
	ok bool
}

func newRecorder() *recorder { return &recorder{unreachable: map[uint64]int{}} }

// setEvents makes r log what it is told into l, as name.
func (r *recorder) setEvents(l *eventLog, name string) {
	r.mu.Lock()
	r.events, r.name = l, name
	r.mu.Unlock()
}

func (r *recorder) Process(m raft.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	ev, name := r.events, r.name
	r.mu.Unlock()
	if ev != nil {
		ev.add(fmt.Sprintf("%s process %s", name, m.Type))
	}
}

func (r *recorder) ReportUnreachable(id uint64) {
	r.mu.Lock()
	r.unreachable[id]++
	r.mu.Unlock()
}

func (r *recorder) ReportSnapshot(id uint64, ok bool) {
	r.mu.Lock()
	r.snaps = append(r.snaps, snapReport{id, ok})
	ev, name := r.events, r.name
	r.mu.Unlock()
	if ev != nil {
		ev.add(fmt.Sprintf("%s report-snapshot %d %v", name, id, ok))
	}
}

func (r *recorder) messages() []raft.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]raft.Message(nil), r.msgs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) unreachableCount(id uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreachable[id]
}

func (r *recorder) snapReports() []snapReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]snapReport(nil), r.snaps...)
}

// eventLog orders events seen by different goroutines and nodes.
type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.ev = append(l.ev, s)
	l.mu.Unlock()
}

func (l *eventLog) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ev...)
}

// memStore is a SnapshotStore in memory.
type memStore struct {
	mu       sync.Mutex
	snaps    map[uint64][]byte // by index
	received map[uint64][]byte
	events   *eventLog
	name     string
	// receive, when set, replaces the default Receive (which copies r).
	receive func(meta raft.SnapshotMeta, r io.Reader) error
}

func newMemStore() *memStore {
	return &memStore{snaps: map[uint64][]byte{}, received: map[uint64][]byte{}}
}

func (s *memStore) put(index uint64, data []byte) {
	s.mu.Lock()
	s.snaps[index] = data
	s.mu.Unlock()
}

func (s *memStore) Open(meta raft.SnapshotMeta) (io.ReadCloser, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.snaps[meta.Index]
	if !ok {
		return nil, 0, fmt.Errorf("no snapshot at %d", meta.Index)
	}
	return io.NopCloser(bytes.NewReader(data)), int64(len(data)), nil
}

// setReceive replaces Receive (locked: the transport's goroutines read it).
func (s *memStore) setReceive(f func(meta raft.SnapshotMeta, r io.Reader) error) {
	s.mu.Lock()
	s.receive = f
	s.mu.Unlock()
}

func (s *memStore) Receive(meta raft.SnapshotMeta, r io.Reader) error {
	s.mu.Lock()
	f := s.receive
	s.mu.Unlock()
	if f != nil {
		return f(meta, r)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	s.mu.Lock()
	s.received[meta.Index] = buf.Bytes()
	ev, name := s.events, s.name
	s.mu.Unlock()
	if ev != nil {
		ev.add(fmt.Sprintf("%s stored %d", name, meta.Index))
	}
	return nil
}

func (s *memStore) got(index uint64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.received[index]
	return b, ok
}

// counters is a Metrics with atomic counts.
type counters struct {
	sent, received, dropped atomic.Int64
	snapBytes               atomic.Int64
}

func (c *counters) metrics() *Metrics {
	return &Metrics{
		MessagesSent:      func(_ raft.MessageType, n int) { c.sent.Add(int64(n)) },
		MessagesReceived:  func(_ raft.MessageType, n int) { c.received.Add(int64(n)) },
		MessagesDropped:   func(_ uint64, n int) { c.dropped.Add(int64(n)) },
		SnapshotBytesSent: func(n int64) { c.snapBytes.Add(n) },
	}
}

// testLogger discards logs unless MINIKV_TRANSPORT_LOG is set (then debug
// logs go to stderr).
func testLogger() *slog.Logger {
	if os.Getenv("MINIKV_TRANSPORT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// node is one transport under test with its handler and store.
type node struct {
	*TCP
	h     *recorder
	store *memStore
	m     *counters
}

// startNode starts a transport for id on addr ("" = a free port on
// 127.0.0.1); edit may change the config before NewTCP.
func startNode(t testing.TB, id uint64, addr string, edit func(*Config)) *node {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	n := &node{h: newRecorder(), store: newMemStore(), m: &counters{}}
	cfg := Config{
		ID:         id,
		ClusterID:  7,
		ListenAddr: addr,
		Handler:    n.h,
		Snapshots:  n.store,
		Logger:     testLogger(),
		MaxBackoff: 100 * time.Millisecond,
		Metrics:    n.m.metrics(),
	}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := NewTCP(cfg)
	if err != nil {
		t.Fatalf("NewTCP(%d): %v", id, err)
	}
	n.TCP = tr
	t.Cleanup(func() { tr.Close() })
	return n
}

// connect makes every node a peer of every other.
func connect(nodes ...*node) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.AddPeer(b.cfg.ID, b.Addr())
			}
		}
	}
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// never checks that cond stays false for d.
func never(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("unexpectedly: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines waits until no more than n goroutines run.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func encode(m raft.Message) []byte { return raft.AppendMessage(nil, m) }

var errTestStore = errors.New("test store refuses")
