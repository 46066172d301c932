// Package api holds what minikv's front doors share. The doors themselves
// are in subpackages: rest (HTTP/JSON), rpc (net/rpc) and client (the Go
// client of the RPC API); later s3. Every door calls the same
// server.Node operations, so a key written through one is read the same
// through any other.
package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count and time requests at every front door.
type Metrics struct {
	Requests *prometheus.HistogramVec
}

// NewMetrics registers the request metrics with reg. Call it once per
// registry; both doors share the result.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "minikv_request_duration_seconds",
			Help:    "Latency of API requests, by front door (rest, rpc), operation and result code.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 2, 16),
		}, []string{"api", "op", "code"}),
	}
	reg.MustRegister(m.Requests)
	return m
}

// Observe records one request. A nil *Metrics records nothing.
func (m *Metrics) Observe(api, op, code string, d time.Duration) {
	if m != nil {
		m.Requests.WithLabelValues(api, op, code).Observe(d.Seconds())
	}
}
