package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/s3/store"
	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

// startCluster starts n in-process nodes on loopback, with real TCP
// transports.
func startCluster(t *testing.T, n int) []*server.Node {
	var cfgs []server.Config
	var members []server.Member
	for i := 1; i <= n; i++ {
		cfg := nodeConfig(t, "memory")
		cfg.ID = uint64(i)
		cfgs = append(cfgs, cfg)
		members = append(members, server.Member{ID: cfg.ID, Raft: cfg.Listen.Raft, HTTP: "http://" + cfg.Listen.HTTP, RPC: cfg.Listen.RPC})
	}
	nodes := make([]*server.Node, n)
	for i := range cfgs {
		cfgs[i].Cluster.Members = members
		require.NoError(t, cfgs[i].Validate())
		node, err := server.Open(cfgs[i], nil, quiet)
		require.NoError(t, err)
		nodes[i] = node
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			if !stopped[n] {
				n.Close()
			}
		}
	})
	return nodes
}

// stopped are the nodes a test closed (Close must be called once).
var stopped = map[*server.Node]bool{}

func stop(t *testing.T, n *server.Node) {
	require.NoError(t, n.Close())
	stopped[n] = true
}

// agreedLeader waits until the running nodes agree on a leader that is
// one of them.
func agreedLeader(t *testing.T, nodes []*server.Node) *server.Node {
	t.Helper()
	var lead *server.Node
	require.Eventually(t, func() bool {
		lead = nil
		var id uint64
		for _, n := range nodes {
			st := n.Status()
			if st.Leader == 0 || id != 0 && st.Leader != id {
				return false
			}
			id = st.Leader
		}
		for _, n := range nodes {
			if n.ID() == id {
				lead = n
			}
		}
		if lead == nil {
			return false // the leader they name is not among the running nodes yet
		}
		ready, _ := lead.Ready()
		return ready
	}, 15*time.Second, 10*time.Millisecond)
	return lead
}

// retry repeats op while the cluster is changing leaders.
func retry(t *testing.T, op func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := op()
		if err == nil {
			return
		}
		require.Equal(t, "ServiceUnavailable", store.Code(err), "only leadership errors are retried: %v", err)
		require.True(t, time.Now().Before(deadline), "still failing: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// gateReader serves data, but stops at gateAt until released.
type gateReader struct {
	data    []byte
	off     int
	gateAt  int
	reached chan struct{}
	release chan struct{}
}

func (r *gateReader) Read(p []byte) (int, error) {
	if r.off == r.gateAt && r.reached != nil {
		close(r.reached)
		r.reached = nil
		<-r.release
	}
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.off < r.gateAt {
		end = r.gateAt
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

// The leader is killed while a part is streaming: the part fails, a new
// leader is elected, the client uploads the part again there and
// completes the upload, and nothing acknowledged before is lost.
func TestLeaderKilledDuringMultipartUpload(t *testing.T) {
	ctx := context.Background()
	nodes := startCluster(t, 3)
	lead := agreedLeader(t, nodes)
	clk := &clock{}
	opts := store.Options{ChunkSize: mib, Now: clk.Now}
	s := store.New(lead.Internal(), opts)

	require.NoError(t, s.CreateBucket(ctx, "cluster"))
	small := randomBytes(100, 1)
	_, err := s.PutObject(ctx, store.PutInput{Bucket: "cluster", Key: "acked", Body: bytes.NewReader(small), Size: 100})
	require.NoError(t, err)
	up, err := s.CreateMultipartUpload(ctx, "cluster", "movie", store.ObjectMeta{ContentType: "video/mp4"}, store.ChecksumCRC32)
	require.NoError(t, err)
	p1, p2, p3 := randomBytes(5*mib, 1), randomBytes(5*mib, 2), randomBytes(3*mib+5, 3)
	// Parts 1 and 2 go in parallel, as clients send them.
	infos, errs := make([]store.PartInfo, 2), make([]error, 2)
	var wg sync.WaitGroup
	for i, p := range [][]byte{p1, p2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = s.UploadPart(ctx, store.PartInput{Bucket: "cluster", Key: "movie", UploadID: up.UploadID, Number: i + 1, Body: bytes.NewReader(p), Size: int64(len(p))})
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	i1, i2 := infos[0], infos[1]

	// Part 3 is halfway when the leader goes.
	reached := make(chan struct{})
	r := &gateReader{data: p3, gateAt: 2 * mib, reached: reached, release: make(chan struct{})}
	failed := make(chan error, 1)
	go func() {
		_, err := s.UploadPart(ctx, store.PartInput{Bucket: "cluster", Key: "movie", UploadID: up.UploadID, Number: 3, Body: r, Size: -1})
		failed <- err
	}()
	<-reached
	stop(t, lead)
	close(r.release)
	require.Error(t, <-failed, "the part was not acknowledged")

	var rest []*server.Node
	for _, n := range nodes {
		if n != lead {
			rest = append(rest, n)
		}
	}
	lead2 := agreedLeader(t, rest)
	require.NotEqual(t, lead.ID(), lead2.ID())
	s2 := store.New(lead2.Internal(), opts)

	// Every acknowledged part survived.
	var parts []store.PartInfo
	retry(t, func() (err error) {
		page, err := s2.ListParts(ctx, "cluster", "movie", up.UploadID, 0, 0)
		parts = page.Parts
		return err
	})
	require.Len(t, parts, 2)
	require.Equal(t, i1.ETag, parts[0].ETag)
	require.Equal(t, i2.ETag, parts[1].ETag)
	require.Equal(t, i2.Checksums, parts[1].Checksums)

	var i3 store.PartInfo
	retry(t, func() (err error) {
		i3, err = s2.UploadPart(ctx, store.PartInput{Bucket: "cluster", Key: "movie", UploadID: up.UploadID, Number: 3, Body: bytes.NewReader(p3), Size: int64(len(p3))})
		return err
	})
	var meta store.ObjectMeta
	retry(t, func() (err error) {
		meta, err = s2.CompleteMultipartUpload(ctx, "cluster", "movie", up.UploadID, []store.CompletePart{
			{Number: 1, ETag: i1.ETag}, {Number: 2, ETag: i2.ETag}, {Number: 3, ETag: i3.ETag, Checksums: i3.Checksums}})
		return err
	})
	require.Equal(t, multipartETag(p1, p2, p3), meta.ETag)

	// A GET on the follower sees the completed object (linearizable).
	var follower *server.Node
	for _, n := range rest {
		if n != lead2 {
			follower = n
		}
	}
	sf := store.New(follower.Internal(), opts)
	got := func(key string) []byte {
		_, body, err := sf.GetObject(ctx, "cluster", key, nil)
		require.NoError(t, err)
		defer body.Close()
		b, err := io.ReadAll(body)
		require.NoError(t, err)
		return b
	}
	require.Equal(t, bytes.Join([][]byte{p1, p2, p3}, nil), got("movie"))
	require.Equal(t, small, got("acked"))
	_, err = sf.PutObject(ctx, store.PutInput{Bucket: "cluster", Key: "x", Body: bytes.NewReader(small), Size: 100})
	require.Equal(t, "ServiceUnavailable", store.Code(err), "writes need the leader: %v", err)

	// The chunks of the interrupted part (a marker left on the old
	// leader's watch) are collected once stale; the object keeps its own.
	clk.Advance(store.DefaultGCGrace + time.Second)
	var deleted int
	retry(t, func() (err error) { deleted, err = s2.CollectGarbage(ctx); return err })
	require.Equal(t, 1, deleted, "the chunk part 3 had written on the old leader (the second was read ahead, in memory)")
	require.Equal(t, bytes.Join([][]byte{p1, p2, p3}, nil), got("movie"))
}
