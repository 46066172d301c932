// Package client is the Go client of minikv's RPC API (package api/rpc).
//
//	c, err := client.New([]string{"127.0.0.1:7071"}, client.Options{})
//	...
//	defer c.Close()
//	ver, err := c.Put(ctx, []byte("greeting"), []byte("hello"))
//	item, err := c.Get(ctx, []byte("greeting"))
//
// # Finding the leader
//
// Writes and membership changes must reach the leader. The client sends
// them to the node it believes leads; a follower answers "not leader" with
// the leader's address, and the client goes there. When a node does not
// answer, or knows no leader, the client tries the next endpoint, with a
// short backoff while an election runs. Besides the endpoints it was given,
// it learns every member's address from the cluster status, so it keeps
// working when the node it first talked to is gone. Reads go to the leader
// if known, otherwise to the endpoints in turn: any node serves
// linearizable reads.
//
// # Retries and exactly-once writes
//
// Every write goes through a session (Raft thesis §6.3): the client opens
// one on first use (a replicated command), numbers its commands 1, 2, 3,
// ..., and keeps one command outstanding per session. When a write's fate
// is unknown — the connection broke or the node timed out after the
// command was sent — the client retries it with the same session and
// number, and the state machine applies it at most once: a retry of a
// command that was applied gets the first answer back. So Put, Delete and
// Batch retry until they get an answer or the context (or
// Options.Timeout) ends. Reads have no effect and retry freely.
//
// A Client is safe for concurrent use. Concurrent writes do not wait for
// each other: each takes a session from a small pool (opening a new one if
// all are busy) and returns it when done. Close closes the idle sessions.
//
// # When the outcome is unknown
//
// Two things end a write whose fate is unknown: the deadline passes while
// retrying, or the session disappears (it expired after kv.Limits'
// SessionTTL of inactivity, or the cluster lost it), so the retry cannot
// be recognised as one. In both cases the error wraps ErrUnknownOutcome
// (with kv.ErrTimeout or kv.ErrSessionExpired): the write may or may not
// have been applied, and only reading the key tells. A session that
// expired before anything was sent is replaced silently and the write
// goes on.
//
// # Errors
//
// Errors are the typed errors of package kv, rebuilt from the RPC replies:
// errors.Is(err, kv.ErrNotFound), errors.As(err, &vm) with
// vm *kv.VersionMismatchError, kv.ErrTooLarge, kv.ErrInvalid, and
// kv.ErrTimeout when the deadline passes while retrying (say, while no
// leader is elected; the message has the last error seen). When no
// endpoint accepts a connection at all the error wraps ErrUnavailable.
package client
