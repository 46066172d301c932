package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// client is one closed-loop client: it sends a request, waits for the
// answer, records it, and sends the next. Everything it records is its
// own until it stops, so recording takes no lock; only the two live
// counters that the progress display reads are atomic.
type client struct {
	endpoint string
	http     *http.Client
	proto    protocol
	op       Op
	ratio    float64 // fraction of reads with OpMixed
	keys     int
	value    []byte // every put writes it, every get expects it
	rng      *rand.Rand
	body     bytes.Buffer // reused for every answer

	ops  atomic.Int64 // requests answered successfully, in every phase
	errs atomic.Int64 // requests failed, in every phase
}

// stats is what one client recorded in one phase.
type stats struct {
	ops    int64
	errors Errors
	puts   *Histogram // nil when not timed, or no put succeeded
	gets   *Histogram
	timed  bool // whether latencies are recorded at all
}

func (s *stats) record(read bool, d time.Duration, err error) {
	if err != nil {
		s.errors.add(asFailure(err))
		return
	}
	s.ops++
	if !s.timed {
		return
	}
	h := &s.puts
	if read {
		h = &s.gets
	}
	if *h == nil {
		*h = NewHistogram()
	}
	(*h).Record(d)
}

// preload writes the keys handed out by next until none are left.
func (c *client) preload(ctx context.Context, next *atomic.Int64, st *stats) {
	for !done(ctx) {
		i := next.Add(1) - 1
		if i >= int64(c.keys) {
			return
		}
		c.request(ctx, false, keyName(int(i)), st)
	}
}

// loop sends random requests until end. A request that starts before
// measureFrom is recorded in warm, any other in measured.
func (c *client) loop(ctx context.Context, measureFrom, end time.Time, warm, measured *stats) {
	for !done(ctx) {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		st := measured
		if now.Before(measureFrom) {
			st = warm
		}
		read := c.op == OpGet || c.op == OpMixed && c.rng.Float64() < c.ratio
		c.request(ctx, read, keyName(c.rng.IntN(c.keys)), st)
	}
}

// request sends one request and records it, unless the run was
// interrupted while it was under way: that failure is not the server's.
func (c *client) request(ctx context.Context, read bool, key string, st *stats) {
	start := time.Now()
	err := c.do(ctx, read, key)
	d := time.Since(start)
	if err != nil && done(ctx) {
		return
	}
	st.record(read, d, err)
	if err != nil {
		c.errs.Add(1)
	} else {
		c.ops.Add(1)
	}
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

func (c *client) do(ctx context.Context, read bool, key string) error {
	var req *http.Request
	var err error
	if read {
		req, err = c.proto.getRequest(ctx, c.endpoint, key)
	} else {
		req, err = c.proto.putRequest(ctx, c.endpoint, key, c.value)
	}
	if err != nil {
		return &failure{kind: "bad request", detail: err.Error()}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return networkFailure(err)
	}
	defer resp.Body.Close()
	c.body.Reset()
	// Reading the whole answer lets the connection be used again.
	if _, err := c.body.ReadFrom(io.LimitReader(resp.Body, int64(len(c.value))+maxErrorBody)); err != nil {
		return networkFailure(err)
	}
	if resp.StatusCode/100 != 2 {
		f := statusFailure(resp.StatusCode, c.body.Bytes())
		if n, ok := c.proto.(errorNamer); ok {
			if name := n.errorName(c.body.Bytes()); name != "" {
				f.kind += " " + name
			}
		}
		return f
	}
	if read {
		return c.proto.checkGet(c.body.Bytes(), c.value)
	}
	return c.proto.checkPut(resp.Header)
}

// asFailure gives an error a kind: a wrong answer unless it has one.
func asFailure(err error) *failure {
	if f, ok := err.(*failure); ok {
		return f
	}
	return &failure{kind: "wrong answer", detail: excerpt(err.Error())}
}

// keyName is the i-th key of the keyspace; all keys have the same length
// up to 100 million.
func keyName(i int) string { return fmt.Sprintf("bench-%08d", i) }

func done(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
