package bench

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Run runs the load that cfg describes and returns what it measured. The
// error is for a run that cannot start (bad settings, no leader found, an
// S3 bucket that cannot be created); failed requests are counted in the
// Result, never returned. Cancelling ctx stops the run early: the Result
// then holds what was measured so far.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	value := benchValue(cfg)
	proto := newProtocol(&cfg, value)
	eps, err := setUp(ctx, &cfg, proto)
	if err != nil {
		return nil, err
	}
	var dials atomic.Int64
	tr := newTransport(maxClientsPerHost(cfg.Clients, eps), &dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: cfg.Timeout}

	res := &Result{Config: cfg, Endpoints: eps}
	res.Config.Progress = nil
	runPhases(ctx, cfg, newClients(cfg, eps, hc, proto, value), res)
	res.Connections = dials.Load()
	return res, nil
}

// setUp returns the endpoints the load goes to: every endpoint, or with
// LeaderOnly the leader's. It finds the leader, and prepares the server
// when the protocol needs it, through connections of its own, not counted
// with the load's.
func setUp(ctx context.Context, cfg *Config, proto protocol) ([]string, error) {
	eps := normalizeAll(cfg.Endpoints)
	p, prepares := proto.(preparer)
	if !cfg.LeaderOnly && !prepares {
		return eps, nil
	}
	var uncounted atomic.Int64
	tr := newTransport(1, &uncounted)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	if cfg.LeaderOnly {
		lead, err := locateLeader(ctx, hc, cfg, eps, normalizeAll(cfg.Rest))
		if err != nil {
			return nil, err
		}
		eps = []string{lead}
	}
	if prepares {
		if err := p.prepare(ctx, hc, eps[0]); err != nil {
			return nil, err
		}
	}
	return eps, nil
}

// normalizeAll normalizes endpoints that Validate has checked.
func normalizeAll(endpoints []string) []string {
	out := make([]string, len(endpoints))
	for i, e := range endpoints {
		out[i], _ = NormalizeEndpoint(e)
	}
	return out
}

// runPhases runs the preload when there is one, then the warmup and the
// measured period, into res.
func runPhases(ctx context.Context, cfg Config, clients []*client, res *Result) {
	if cfg.preloads() {
		res.Preload = preload(ctx, cfg, clients)
		if done(ctx) {
			res.Interrupted = true
			return
		}
		if res.Preload.Errors.Total() > 0 {
			return // reads of a keyspace not written would only fail
		}
	}
	res.Warmup, res.Run = measure(ctx, cfg, clients)
	res.Interrupted = done(ctx)
}

// newTransport returns a transport that keeps one connection per client
// alive between requests, and counts the connections it opens: a server
// that closes keep-alive connections shows up there. Without the cap on
// connections per host, a client whose last connection is not yet back in
// the idle pool when it sends its next request would open another.
func newTransport(perHost int, dials *atomic.Int64) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil, // a benchmark talks to its servers directly
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				dials.Add(1)
			}
			return conn, err
		},
		MaxConnsPerHost:     perHost,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: 5 * time.Second,
	}
}

// maxClientsPerHost returns how many clients share the busiest host, as
// the transport sees hosts: client i uses endpoint i mod n, and two
// endpoints may name the same host.
func maxClientsPerHost(clients int, eps []string) int {
	perHost := map[string]int{}
	most := 0
	for i := range clients {
		u, _ := url.Parse(eps[i%len(eps)])
		perHost[u.Scheme+"://"+u.Host]++
		most = max(most, perHost[u.Scheme+"://"+u.Host])
	}
	return most
}

// benchValue is the one value every put writes and every get expects;
// letters, so that it reads well when someone looks at a key by hand.
func benchValue(cfg Config) []byte {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	value := make([]byte, cfg.ValueSize)
	for i := range value {
		value[i] = 'a' + byte(rng.IntN(26))
	}
	return value
}

func newClients(cfg Config, eps []string, hc *http.Client, proto protocol, value []byte) []*client {
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		clients[i] = &client{
			endpoint: eps[i%len(eps)],
			http:     hc,
			proto:    proto,
			op:       cfg.Op,
			ratio:    cfg.ReadRatio,
			keys:     cfg.Keys,
			value:    value,
			rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1)),
		}
	}
	return clients
}

// preload writes every key of the keyspace once, the clients sharing the
// work.
func preload(ctx context.Context, cfg Config, clients []*client) *Phase {
	var next atomic.Int64
	all := newStats(len(clients), true)
	stop := cfg.Progress.show(phaseView{name: "preload", totalOps: int64(cfg.Keys), counts: liveCounts(clients)})
	start := time.Now()
	everyClient(clients, func(i int, c *client) { c.preload(ctx, &next, all[i]) })
	elapsed := time.Since(start)
	stop()
	return mergeStats(elapsed, all)
}

// measure runs the load for the warmup and then the measured duration.
// The clients run through both without a pause; a request belongs to the
// period in which it started.
func measure(ctx context.Context, cfg Config, clients []*client) (warmup, run *Phase) {
	warm, measured := newStats(len(clients), false), newStats(len(clients), true)
	stop := cfg.Progress.show(phaseView{name: "run", warmup: cfg.Warmup, total: cfg.Warmup + cfg.Duration, counts: liveCounts(clients)})
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	everyClient(clients, func(i int, c *client) { c.loop(ctx, measureFrom, end, warm[i], measured[i]) })
	// The last requests may end after the nominal end: the measured period
	// is until the last answer, so that throughput counts them fairly.
	finished := time.Now()
	stop()
	if cfg.Warmup > 0 {
		warmup = mergeStats(min(finished.Sub(start), cfg.Warmup), warm)
	}
	if finished.After(measureFrom) {
		run = mergeStats(finished.Sub(measureFrom), measured)
	}
	return warmup, run
}

func newStats(n int, timed bool) []*stats {
	all := make([]*stats, n)
	for i := range all {
		all[i] = &stats{timed: timed}
	}
	return all
}

// everyClient runs f for each client in its own goroutine and waits for
// them all.
func everyClient(clients []*client, f func(i int, c *client)) {
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { f(i, c) })
	}
	wg.Wait()
}

// liveCounts sums the clients' live counters, for the progress display.
func liveCounts(clients []*client) func() (int64, int64) {
	return func() (ops, errs int64) {
		for _, c := range clients {
			ops += c.ops.Load()
			errs += c.errs.Load()
		}
		return ops, errs
	}
}
