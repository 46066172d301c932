package transport

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// sampleMessages returns one message of every type but MsgSnap from one
// peer to another, with entries, context and every field set somewhere.
func sampleMessages(from, to uint64, round int) []raft.Message {
	r := uint64(round)
	ctx := []byte(fmt.Sprintf("read-%d-%d", from, round))
	return []raft.Message{
		{Type: raft.MsgApp, From: from, To: to, Term: 5 + r, LogTerm: 4, Index: 100 + r, Commit: 99, Entries: []raft.Entry{
			{Term: 5, Index: 101 + r, Type: raft.EntryNormal, Data: []byte("put k v")},
			{Term: 5, Index: 102 + r, Type: raft.EntryNoop},
			{Term: 5, Index: 103 + r, Type: raft.EntryNormal, Data: bytes.Repeat([]byte{byte(round)}, 3000)},
		}},
		{Type: raft.MsgAppResp, From: from, To: to, Term: 5, Index: 77, Reject: true, RejectHint: 60, LogTerm: 3},
		{Type: raft.MsgVote, From: from, To: to, Term: 6, Index: 120, LogTerm: 5, Context: []byte("transfer")},
		{Type: raft.MsgVoteResp, From: from, To: to, Term: 6, Reject: round%2 == 0},
		{Type: raft.MsgPreVote, From: from, To: to, Term: 7, Index: 120, LogTerm: 5},
		{Type: raft.MsgPreVoteResp, From: from, To: to, Term: 7},
		{Type: raft.MsgHeartbeat, From: from, To: to, Term: 6, Commit: 118, Index: r, Context: ctx},
		{Type: raft.MsgHeartbeatResp, From: from, To: to, Term: 6, Index: r, Context: ctx},
		{Type: raft.MsgReadIndex, From: from, To: to, Term: 6, Context: ctx},
		{Type: raft.MsgReadIndexResp, From: from, To: to, Term: 6, Index: 118, Context: ctx},
		{Type: raft.MsgTimeoutNow, From: from, To: to, Term: 6},
	}
}

// Three transports exchange messages of every type; each arrives intact and
// the messages from each peer arrive in the order they were sent.
func TestMessagesBetweenThreeNodes(t *testing.T) {
	nodes := []*node{startNode(t, 1, "", nil), startNode(t, 2, "", nil), startNode(t, 3, "", nil)}
	connect(nodes...)
	const rounds = 20
	want := map[[2]uint64][][]byte{} // (from, to) → encoded messages in order
	for round := range rounds {
		for _, a := range nodes {
			var batch []raft.Message
			for _, b := range nodes {
				if a == b {
					continue
				}
				ms := sampleMessages(a.cfg.ID, b.cfg.ID, round)
				for _, m := range ms {
					want[[2]uint64{a.cfg.ID, b.cfg.ID}] = append(want[[2]uint64{a.cfg.ID, b.cfg.ID}], encode(m))
				}
				batch = append(batch, ms...)
			}
			a.Send(batch)
		}
	}
	perNode := 2 * rounds * len(sampleMessages(1, 2, 0))
	for _, n := range nodes {
		eventually(t, 5*time.Second, fmt.Sprintf("node %d to get %d messages", n.cfg.ID, perNode),
			func() bool { return n.h.count() >= perNode })
	}
	for _, n := range nodes {
		got := map[[2]uint64][][]byte{}
		for _, m := range n.h.messages() {
			if m.To != n.cfg.ID {
				t.Fatalf("node %d got a message for %d", n.cfg.ID, m.To)
			}
			got[[2]uint64{m.From, m.To}] = append(got[[2]uint64{m.From, m.To}], encode(m))
		}
		for _, from := range nodes {
			if from == n {
				continue
			}
			k := [2]uint64{from.cfg.ID, n.cfg.ID}
			if len(got[k]) != len(want[k]) {
				t.Fatalf("%d→%d: %d messages, want %d", k[0], k[1], len(got[k]), len(want[k]))
			}
			for i := range want[k] {
				if !bytes.Equal(got[k][i], want[k][i]) {
					t.Fatalf("%d→%d: message %d differs or is out of order", k[0], k[1], i)
				}
			}
		}
		if d := n.m.dropped.Load(); d != 0 {
			t.Errorf("node %d dropped %d messages", n.cfg.ID, d)
		}
		if s, r := n.m.sent.Load(), n.m.received.Load(); s != int64(perNode) || r != int64(perNode) {
			t.Errorf("node %d metrics: sent %d, received %d; want %d each", n.cfg.ID, s, r, perNode)
		}
	}
}

// Many messages handed over in one Send all arrive, in order.
func TestManyMessagesAtOnce(t *testing.T) {
	const n = 20000
	a := startNode(t, 1, "", func(c *Config) { c.QueueSize = n })
	b := startNode(t, 2, "", nil)
	connect(a, b)
	msgs := make([]raft.Message, n)
	for i := range msgs {
		msgs[i] = raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 1, Index: uint64(i)}
	}
	a.Send(msgs)
	eventually(t, 10*time.Second, "all messages", func() bool { return b.h.count() == n })
	for i, m := range b.h.messages() {
		if m.Index != uint64(i) {
			t.Fatalf("message %d has index %d", i, m.Index)
		}
	}
}

func TestSendToUnknownPeerDrops(t *testing.T) {
	a := startNode(t, 1, "", nil)
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 9}})
	if a.m.dropped.Load() != 1 {
		t.Fatalf("dropped = %d, want 1", a.m.dropped.Load())
	}
	// A MsgSnap to nobody is reported as failed (soon, but not from
	// within Send).
	a.Send([]raft.Message{{Type: raft.MsgSnap, From: 1, To: 9, Snapshot: &raft.Snapshot{}}})
	eventually(t, time.Second, "ReportSnapshot", func() bool { return len(a.h.snapReports()) > 0 })
	if r := a.h.snapReports(); len(r) != 1 || r[0] != (snapReport{9, false}) {
		t.Fatalf("snapshot reports %v", r)
	}
}

func TestQueueFullDrops(t *testing.T) {
	// A peer that accepts TCP but never answers the handshake: the
	// writer is stuck dialing, the queue fills.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a := startNode(t, 1, "", func(c *Config) { c.QueueSize = 4; c.DialTimeout = 300 * time.Millisecond })
	a.AddPeer(2, ln.Addr().String())
	msgs := make([]raft.Message, 10)
	for i := range msgs {
		msgs[i] = raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2}
	}
	a.Send(msgs)
	if d := a.m.dropped.Load(); d < 6 {
		t.Fatalf("dropped %d, want at least 6", d)
	}
	// When the handshake times out, the queued ones are dropped too, with
	// one ReportUnreachable.
	eventually(t, 3*time.Second, "ReportUnreachable", func() bool { return a.h.unreachableCount(2) > 0 })
	eventually(t, 3*time.Second, "all dropped", func() bool { return a.m.dropped.Load() == 10 })
	if c := a.h.unreachableCount(2); c != 1 {
		t.Fatalf("ReportUnreachable called %d times, want 1", c)
	}
}

// A peer goes away: messages to it are dropped and ReportUnreachable is
// called (not once per message); a new transport on the same address
// gets messages again.
func TestReconnect(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	addr := b.Addr()
	connect(a, b)
	hb := func(i int) []raft.Message {
		return []raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 1, Index: uint64(i)}}
	}
	a.Send(hb(0))
	eventually(t, 3*time.Second, "first message", func() bool { return b.h.count() == 1 })

	b.Close()
	// Keep sending like a leader's heartbeats until the loss is noticed.
	i := 1
	eventually(t, 5*time.Second, "ReportUnreachable", func() bool {
		a.Send(hb(i))
		i++
		return a.h.unreachableCount(2) > 0
	})
	sentWhileDown := i - 1
	if a.m.dropped.Load() == 0 {
		t.Fatal("no message counted as dropped")
	}
	// With backoff capped at 100ms, 300ms of sending every 5ms means ~60
	// more drops but only a few reports.
	for range 60 {
		a.Send(hb(i))
		i++
		time.Sleep(5 * time.Millisecond)
	}
	if r := a.h.unreachableCount(2); r > 10 {
		t.Fatalf("ReportUnreachable called %d times for %d messages: spam", r, sentWhileDown+60)
	}

	b2 := startNode(t, 2, addr, nil)
	eventually(t, 5*time.Second, "messages to flow again", func() bool {
		a.Send(hb(i))
		i++
		return b2.h.count() > 0
	})
	if b.h.count() != 1 {
		t.Fatalf("closed transport got %d messages", b.h.count())
	}
}

// AddPeer with a new address moves the connection there.
func TestAddPeerNewAddress(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	b2 := startNode(t, 2, "", nil) // the same node id, moved elsewhere
	a.AddPeer(2, b.Addr())
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	eventually(t, 3*time.Second, "message at the old address", func() bool { return b.h.count() == 1 })
	a.AddPeer(2, b2.Addr())
	eventually(t, 3*time.Second, "message at the new address", func() bool {
		a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
		return b2.h.count() > 0
	})
	n := b.h.count()
	time.Sleep(50 * time.Millisecond)
	if b.h.count() != n {
		t.Fatal("messages still go to the old address")
	}
}

func TestRemovePeer(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	eventually(t, 3*time.Second, "message", func() bool { return b.h.count() == 1 })
	a.RemovePeer(2)
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	if a.m.dropped.Load() != 1 {
		t.Fatalf("dropped = %d, want 1", a.m.dropped.Load())
	}
	never(t, 100*time.Millisecond, "a message after RemovePeer", func() bool { return b.h.count() > 1 })
	// And it can come back.
	a.AddPeer(2, b.Addr())
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	eventually(t, 3*time.Second, "message after re-adding", func() bool { return b.h.count() == 2 })
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rawHello dials addr, sends a hello and returns the connection and the
// answer byte (-1 when the connection was closed without one).
func rawHello(t *testing.T, addr string, h hello) (net.Conn, int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := h.encode()
	if _, err := c.Write(b[:]); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var s [1]byte
	if _, err := io.ReadFull(c, s[:]); err != nil {
		return c, -1
	}
	return c, int(s[0])
}

// closedByPeer reports whether the peer closed c (a read sees EOF or a reset).
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestHandshakeRefused(t *testing.T) {
	logs := &syncBuffer{}
	b := startNode(t, 2, "", func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	good := hello{version: protocolVersion, kind: connMessages, cluster: 7, from: 1, to: 2}

	t.Run("wrong cluster", func(t *testing.T) {
		a := startNode(t, 1, "", func(c *Config) { c.ClusterID = 8 })
		a.AddPeer(2, b.Addr())
		eventually(t, 3*time.Second, "ReportUnreachable at the sender", func() bool {
			a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
			return a.h.unreachableCount(2) > 0
		})
		if !strings.Contains(logs.String(), "wrong cluster id") {
			t.Fatalf("receiver did not log why:\n%s", logs)
		}
	})
	t.Run("wrong to", func(t *testing.T) {
		a := startNode(t, 1, "", nil)
		a.AddPeer(3, b.Addr()) // node 3 is not at b's address
		eventually(t, 3*time.Second, "ReportUnreachable at the sender", func() bool {
			a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 3}})
			return a.h.unreachableCount(3) > 0
		})
		if !strings.Contains(logs.String(), "wrong node id") {
			t.Fatalf("receiver did not log why:\n%s", logs)
		}
	})
	t.Run("answers", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(*hello)
			want int
		}{
			{"version", func(h *hello) { h.version = 99 }, int(handshakeBadVersion)},
			{"cluster", func(h *hello) { h.cluster = 8 }, int(handshakeWrongCluster)},
			{"to", func(h *hello) { h.to = 5 }, int(handshakeWrongNode)},
			{"kind", func(h *hello) { h.kind = 9 }, int(handshakeBadKind)},
		} {
			h := good
			tc.edit(&h)
			c, status := rawHello(t, b.Addr(), h)
			if status != tc.want {
				t.Errorf("%s: answer %d, want %d", tc.name, status, tc.want)
			}
			if !closedByPeer(c) {
				t.Errorf("%s: connection left open", tc.name)
			}
			c.Close()
		}
	})
	t.Run("garbage", func(t *testing.T) {
		for name, junk := range map[string][]byte{
			"http":      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 40)),
			"zeros":     make([]byte, 100),
			"bad crc":   func() []byte { b := good.encode(); b[35] ^= 1; return b[:] }(),
			"short":     []byte("MKVR"),
			"long junk": bytes.Repeat([]byte{0xff}, 1<<16),
		} {
			c, err := net.Dial("tcp", b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.Write(junk)
			if name == "short" {
				c.(*net.TCPConn).CloseWrite()
			}
			if !closedByPeer(c) {
				t.Errorf("%s: connection left open", name)
			}
			c.Close()
		}
	})
	t.Run("bad frames after a good handshake", func(t *testing.T) {
		undecodable, _ := appendFrame(nil, frameMessage, []byte("not a message"))
		corrupt, _ := appendFrame(nil, frameMessage, encode(raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2}))
		corrupt[len(corrupt)-1] ^= 1
		forged, _ := appendFrame(nil, frameMessage, encode(raft.Message{Type: raft.MsgHeartbeat, From: 3, To: 2}))
		snapOnMsgConn, _ := appendFrame(nil, frameMessage, encode(raft.Message{Type: raft.MsgSnap, From: 1, To: 2,
			Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1}, Data: []byte("inline")}}))
		wrongType, _ := appendFrame(nil, frameSnapChunk, []byte("chunk"))
		for name, bad := range map[string][]byte{
			"undecodable":       undecodable,
			"bad crc":           corrupt,
			"forged sender":     forged,
			"MsgSnap inline":    snapOnMsgConn,
			"chunk on msg conn": wrongType,
			"oversized length":  {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0},
		} {
			c, status := rawHello(t, b.Addr(), good)
			if status != int(handshakeOK) {
				t.Fatalf("good hello answered %d", status)
			}
			c.Write(bad)
			if !closedByPeer(c) {
				t.Errorf("%s: connection left open", name)
			}
			c.Close()
		}
	})
	if n := b.h.count(); n != 0 {
		t.Fatalf("refused connections delivered %d messages", n)
	}
	// The receiver still works for a proper peer.
	a := startNode(t, 1, "", nil)
	a.AddPeer(2, b.Addr())
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	eventually(t, 3*time.Second, "a good message after the bad ones", func() bool { return b.h.count() == 1 })
}

func TestNewTCPErrors(t *testing.T) {
	h := newRecorder()
	for name, cfg := range map[string]Config{
		"no id":      {Handler: h, ListenAddr: "127.0.0.1:0"},
		"no handler": {ID: 1, ListenAddr: "127.0.0.1:0"},
		"no addr":    {ID: 1, Handler: h},
		"bad addr":   {ID: 1, Handler: h, ListenAddr: "127.0.0.1:99999"},
	} {
		if tr, err := NewTCP(cfg); err == nil {
			tr.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

// Close leaves no goroutine behind, whatever was going on.
func TestCloseLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		nodes := []*node{startNode(t, 1, "", nil), startNode(t, 2, "", nil), startNode(t, 3, "", nil)}
		connect(nodes...)
		nodes[0].AddPeer(4, "127.0.0.1:1") // nobody there: a peer in backoff
		for _, n := range nodes {
			for _, o := range nodes {
				if n != o {
					n.Send(sampleMessages(n.cfg.ID, o.cfg.ID, 0))
				}
			}
		}
		// A snapshot stream that is still running when Close comes.
		hold := make(chan struct{})
		nodes[1].store.setReceive(func(meta raft.SnapshotMeta, r io.Reader) error {
			<-hold
			_, err := io.Copy(io.Discard, r)
			return err
		})
		nodes[0].store.put(5, make([]byte, 4<<20))
		nodes[0].Send([]raft.Message{{Type: raft.MsgSnap, From: 1, To: 2, Term: 1,
			Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: 5, Term: 1}}}})
		// A connection that never finishes its handshake.
		c, err := net.Dial("tcp", nodes[2].Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, n := range nodes {
			eventually(t, 3*time.Second, "messages", func() bool { return n.h.count() >= 2*len(sampleMessages(1, 2, 0)) })
		}
		close(hold)
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			n.Close() // twice is fine
		}
	}()
	waitGoroutines(t, before)
}

// Close does not wait out the handshake with a peer that accepted the
// connection but never answers.
func TestCloseDuringHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	a := startNode(t, 1, "", func(c *Config) { c.DialTimeout = 10 * time.Second })
	a.AddPeer(2, ln.Addr().String())
	c := <-accepted
	defer c.Close()
	start := time.Now()
	a.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
