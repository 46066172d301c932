package bench

import "time"

// Result is what a run measured.
type Result struct {
	Config    Config   // the run's settings (without Progress)
	Endpoints []string // where requests went: every endpoint, or the leader

	// Preload is the writing of the keyspace before a get or mixed run;
	// Warmup the unmeasured start of the load; both nil when not done.
	Preload *Phase
	Warmup  *Phase
	// Run is the measured period; nil when the run stopped before it
	// (interrupted, or the preload failed).
	Run *Phase

	// Connections is the number of TCP connections opened: one per
	// client, unless a server closed some, or the machine was so loaded
	// that Go's transport, not seeing a request's write finish before
	// its answer came, declined to reuse a connection.
	Connections int64
	Interrupted bool // the run was cancelled before its end
}

// Phase is what the clients did in one phase of a run.
type Phase struct {
	Elapsed time.Duration
	Ops     int64 // requests answered successfully
	Errors  Errors
	// Latency holds every successful request, Puts and Gets the same by
	// operation (nil when there was none). The warmup records none.
	Latency *Histogram
	Puts    *Histogram
	Gets    *Histogram
}

// Throughput returns the successful requests per second.
func (p *Phase) Throughput() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Ops) / p.Elapsed.Seconds()
}

// Errors returns the number of failed requests in every phase.
func (r *Result) Errors() int64 {
	var n int64
	for _, p := range []*Phase{r.Preload, r.Warmup, r.Run} {
		if p != nil {
			n += p.Errors.Total()
		}
	}
	return n
}

// OK reports whether the run went to its end without a single error.
func (r *Result) OK() bool {
	return r.Run != nil && !r.Interrupted && r.Errors() == 0
}

// mergeStats adds up what every client recorded in one phase.
func mergeStats(elapsed time.Duration, all []*stats) *Phase {
	p := &Phase{Elapsed: elapsed}
	for _, s := range all {
		p.Ops += s.ops
		p.Errors.merge(&s.errors)
		p.Puts = mergeInto(p.Puts, s.puts)
		p.Gets = mergeInto(p.Gets, s.gets)
	}
	p.Latency = mergeInto(mergeInto(nil, p.Puts), p.Gets)
	return p
}

// mergeInto merges h into dst, allocating dst when needed; nils are empty.
func mergeInto(dst, h *Histogram) *Histogram {
	if h == nil {
		return dst
	}
	if dst == nil {
		dst = NewHistogram()
	}
	dst.Merge(h)
	return dst
}
