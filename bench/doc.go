// Package bench is the load generator behind `minikv bench`.
//
// A run drives a cluster's HTTP API with a fixed number of closed-loop
// clients: each client sends one request, waits for the answer, records its
// latency and sends the next, for a fixed duration. Every latency goes into
// the client's own [Histogram] (no locks on the hot path); the histograms
// are merged when the clients stop. The result is the throughput, the
// latency quantiles and every error by kind — a run never hides an error.
//
// Two targets speak different protocols over the same load: minikv's REST
// API (PUT and GET /v1/kv/{key}) and etcd v3's HTTP/JSON gateway
// (POST /v3/kv/put and /v3/kv/range), so that the two can be measured side
// by side on the same machine.
//
// Files, one job each:
//
//	histogram.go  the fixed-memory log-linear latency histogram
//	config.go     what a run does: operation, clients, durations, target
//	protocol.go   minikv's REST requests; etcd.go, etcd's gateway requests
//	errors.go     classifying a failed request into an error kind
//	leader.go     finding the leader for --leader-only
//	client.go     one closed-loop client
//	runner.go     a whole run: preload, warmup, measurement
//	result.go     what a run measured, merged over the clients
//	progress.go   the progress line on stderr
//	report.go     the result as a table or as JSON; format.go, its numbers
package bench
