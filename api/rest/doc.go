// Package rest is minikv's HTTP/JSON front door. New returns the
// http.Handler a node serves on its listen.http address:
//
//	PUT    /v1/kv/{key}                 store the request body; ?if_version=N, ?ttl=30s
//	GET    /v1/kv/{key}                 the raw value; ?consistency=stale
//	DELETE /v1/kv/{key}                 ?if_version=N
//	GET    /v1/kv                       list keys: ?prefix=&start=&end=&limit=&consistency=
//	POST   /v1/batch                    ops applied atomically, as one command
//	GET    /v1/cluster                  this node's view of the cluster
//	POST   /v1/cluster/members          add a server (as a learner)
//	DELETE /v1/cluster/members/{id}     remove a server
//	POST   /v1/cluster/transfer-leader  {"to":N}; 0 or absent picks one
//	GET    /healthz, /health/live       200 while the process is up
//	GET    /readyz, /health/ready       200 when the node can serve, else 503
//	GET    /metrics                     Prometheus metrics
//
// A key is the rest of the path after /v1/kv/, URL-decoded: it may contain
// slashes, and any byte can be written as %XX. The path is used as it is,
// never cleaned, so "a//b" and "a/../b" are keys of their own. HEAD works
// wherever GET does.
//
// In JSON bodies values are base64 (they are bytes) and keys are strings;
// a key that is not valid UTF-8, which a JSON string cannot hold, is also
// given exactly as key_base64 (and a batch op may name its key that way).
//
// # Any node, any request
//
// Reads are served by the node that receives them: linearizable by
// default (the node confirms the leader's commit index and waits until it
// has applied that far), or from its own state with consistency=stale.
// Writes must be proposed on the leader; a follower forwards them there,
// with the header X-Minikv-Forwarded-By naming itself, and copies the
// leader's answer back. A forwarded request is never forwarded again: a
// node that receives one and is not the leader answers 503. Every answer
// names the node that served it in X-Minikv-Node.
//
// # Errors
//
// Errors are JSON, with a stable code and a message for people:
//
//	{"error":{"code":"version_mismatch","message":"...","op":0,"key":"k","expected":0,"actual":7}}
//
// The codes and their statuses are those of kv.ErrorCode, plus a few of
// HTTP's own: invalid_argument 400, not_found 404, method_not_allowed 405,
// version_mismatch, session_expired and stale_sequence 409, too_large 413,
// internal 500, unavailable and not_leader 503, timeout 504.
//
// A request body over limits.max_request_bytes is refused with 413, and
// every request has limits.request_timeout to complete, after which it is
// answered 504 (a write may then have been applied or not).
//
// # Files
//
//	rest.go              Options, New, and the path of every request
//	routes.go            the route table and path matching
//	parse.go             request parsing: pure, so it can be fuzzed
//	handlers_kv.go       keys, scans and batches
//	handlers_cluster.go  cluster status and membership
//	handlers_health.go   liveness, readiness and metrics
//	forward.go           forwarding writes to the leader
//	errors.go            errors as the API answers them
//	json.go              response bodies
package rest
