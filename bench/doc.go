// Package bench is the load generator behind `minikv bench`.
//
// A run drives a cluster's HTTP API with a fixed number of closed-loop
// clients: each client sends one request, waits for the answer, records its
// latency and sends the next, for a fixed duration. Every latency goes into
// the client's own [Histogram] (no locks on the hot path); the histograms
// are merged when the clients stop. The result is the throughput, the
// latency quantiles and every error by kind — a run never hides an error.
//
// Three targets speak different protocols over the same load: minikv's
// REST API (PUT and GET /v1/kv/{key}), etcd v3's HTTP/JSON gateway
// (POST /v3/kv/put and /v3/kv/range), so that the two can be measured side
// by side on the same machine, and an S3 API (PUT and GET
// /{bucket}/{key}, path style), minikv's or any other. The load, the
// clients, the histograms, the error accounting and the report are the
// same for all three; a protocol only makes the requests and judges the
// answers (protocol.go). The S3 protocol signs every request with AWS
// Signature V4 (the AWS SDK's signer) without reading the body: puts are
// UNSIGNED-PAYLOAD, or carry the SHA-256 of the value, computed once. It
// creates its bucket before the load, and checks every put's ETag and
// every get's bytes. An S3 API cannot be asked who leads, so a leader-only
// S3 run asks minikv's REST API (Config.Rest) and sends its load to the
// leader's S3 address.
//
// Files, one job each:
//
//	histogram.go  the fixed-memory log-linear latency histogram
//	config.go     what a run does: operation, clients, durations, target
//	protocol.go   what a protocol is, and minikv's REST requests;
//	              etcd.go, etcd's gateway requests; s3.go, signed S3 requests
//	errors.go     classifying a failed request into an error kind
//	leader.go     finding the leader for --leader-only, for S3 through REST
//	client.go     one closed-loop client
//	runner.go     a whole run: preload, warmup, measurement
//	result.go     what a run measured, merged over the clients
//	progress.go   the progress line on stderr
//	report.go     the result as a table or as JSON; format.go, its numbers
//	              and sizes (64KiB)
package bench
