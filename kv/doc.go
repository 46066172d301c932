// Package kv is minikv's replicated key-value state machine: the code that
// committed Raft log entries are applied to, on every replica, in log order.
//
// Raft makes every replica see the same entries in the same order; this
// package makes every replica compute the same state and the same answer
// from them. So the apply path is deterministic: no wall clock, no
// randomness, no goroutines, no dependence on Go's map order. Time comes
// from the entries themselves, and the simulator (package sim) replays whole
// clusters bit for bit by seed.
//
// # Commands
//
// The data of a normal log entry is one Command, encoded by Command.Encode
// and decoded (strictly) by DecodeCommand:
//
//	version  byte, 1
//	kind     byte: 0 ops, 1 open session, 2 close session, 3 tick
//	session  clientID uvarint, seq uvarint
//	time     varint: the leader's clock, Unix nanoseconds
//	ops      count uvarint, then per op: type byte (1 put, 2 delete, 3 get),
//	         checkVersion byte, ifVersion uvarint, key, value (each a uvarint
//	         length and bytes), ttl varint (nanoseconds)
//
// Each value has exactly one encoding, so decode(encode(c)) == c and
// encode(decode(b)) == b. The ops of a command apply atomically and in
// order: each op sees the writes of the ops before it, and if one fails its
// condition nothing is written. Gets inside a command read the state at
// apply time, so a command is a small transaction.
//
// # Versions
//
// The version of a key is the log index of the entry that last wrote it
// (like etcd's mod_revision). A conditional put or delete (CheckVersion)
// applies only if the key's version equals IfVersion; IfVersion 0 means the
// key must not exist. A failed condition reports the key's actual version.
//
// # Time and TTL
//
// The state machine's clock is the largest command Time applied so far (see
// Now). A put with a TTL expires at clock + TTL; normally that is the
// command's own Time plus TTL. A key whose expiry is at or before the clock
// is gone for every read and condition, on every replica at the same index.
// Apply deletes expired keys lazily (see ttl.go); CmdTick entries move the
// clock when there are no writes.
//
// # Sessions
//
// Clients that retry get exactly-once semantics from sessions (Raft thesis
// §6.3): see session.go. A session's id is the index of the entry that
// opened it; it remembers the last sequence number and result, so a retried
// command returns its first result (Result.Duplicate) instead of applying
// twice. Sessions unused for Limits.SessionTTL by the state machine's clock
// expire.
//
// # Engine layout
//
// Everything lives in one storage.Engine, under one-byte prefixes (keys.go):
//
//	0x00                            meta: applied index and clock
//	0x01 clientID                   session record
//	0x02 lastActive clientID        session-activity index, for expiry
//	0x03 expiresAt userKey          TTL index, for expiry
//	0x04 userKey                    user record: version, expiresAt, value
//	0x05 nodeID                     cluster member: the context of the change that added it
//
// Numbers in keys are 8-byte big-endian, so index order is time order. User
// keys all sit under 0x04 and cannot collide with internal records. The meta
// record is written in the same engine batch as the data of every Apply, so
// a durable engine reopens exactly where it stopped, and a snapshot (an
// engine dump) carries the applied index and clock with the data.
//
// # Files
//
//	command.go       Command and its encoding
//	limits.go        Limits and Limits.Check
//	result.go        Result, Code, and results kept in sessions
//	statemachine.go  StateMachine, New, Apply
//	overlay.go       the read-your-writes layers Apply works in
//	ops.go           put, delete, get and conditions
//	session.go       sessions: open, close, dedupe, expiry
//	ttl.go           key expiry and the sweep
//	read.go          Get and Scan
//	snapshot.go      Snapshot and Restore
//	digest.go        Digest, to compare replicas
//	keys.go          the engine key layout and record encodings
//	encoding.go      varint and byte-string helpers
//	errors.go        errors and ErrorCode
package kv
