// Package rpcapi is minikv's RPC front door: the kv and cluster operations
// of a server.Node over Go's net/rpc, on its own TCP port (listen.rpc,
// 127.0.0.1:7071 by default). Import it as
//
//	rpcapi "github.com/minikv-go/minikv/api/rpc"
//
// Go programs use it through package api/client, which finds the leader,
// retries and keeps sessions; this comment is for someone writing another
// client.
//
// # Wire protocol
//
// A connection is plain TCP carrying net/rpc's gob encoding, exactly what
// rpc.Dial and rpc.NewClient speak: each request is a gob-encoded
// rpc.Request{ServiceMethod, Seq} followed by the gob-encoded argument
// struct; each response is an rpc.Response{ServiceMethod, Seq, Error}
// followed by the reply struct. Calls on one connection may be pipelined;
// responses come back in completion order, matched by Seq. gob matches
// struct fields by name, so a client may declare its own structs with the
// fields it needs.
//
// Failures of the operation itself never use rpc.Response.Error (net/rpc
// would flatten them into a string): every reply has a field Err *Error,
// nil on success, carrying a stable code (kv.ErrorCode's names, plus
// "unavailable": the node did nothing and the call can be retried), a
// message and the details a client needs to act: the leader's id and RPC
// address for "not_leader", the expected and actual versions for
// "version_mismatch". Error.Err rebuilds the typed kv error.
// rpc.Response.Error is used only for protocol problems: an unknown method,
// a request over the size limit (MsgRequestTooLarge; the server then closes
// the connection) or a server shutting down (MsgServerClosed).
//
// # Services and methods
//
//	method                  arguments, reply                             who answers
//	KV.Do                   DoArgs, *DoReply                             the leader: propose ops, open or close a session
//	KV.Get                  GetArgs, *GetReply                           any node: read a key, linearizably unless Stale
//	KV.Scan                 ScanArgs, *ScanReply                         any node: read a page of keys
//	Cluster.Status          StatusArgs, *StatusReply                     any node: its view of the cluster
//	Cluster.AddMember       AddMemberArgs, *AddMemberReply               the leader: add a learner
//	Cluster.RemoveMember    RemoveMemberArgs, *RemoveMemberReply         the leader: remove a member
//	Cluster.TransferLeader  TransferLeaderArgs, *TransferLeaderReply     the leader: hand leadership over
//
// Leader-only calls on a follower answer "not_leader" with the leader's id
// and RPC address when known; the server never forwards a call, so the
// client redirects. A "not_leader" answer means the command was not
// applied. A "timeout" (each call is bounded by the node's
// limits.request_timeout) or a broken connection leaves a write in doubt:
// retry it with the same session and sequence number and the state
// machine applies it at most once (see package kv, sessions).
//
// Requests are bounded: a request larger than limits.max_request_bytes is
// refused, and a scan's reply is cut short (with Next set) before its keys
// and values exceed that size.
package rpcapi
