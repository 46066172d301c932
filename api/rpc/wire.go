package rpcapi

import (
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
)

// The argument and reply structs of every method. Field names are the wire
// format (gob matches by name): add fields, never rename them.

// DoArgs is a command to propose: kv.Command without Time, which the
// leader sets. Kind is kv.CmdOps, kv.CmdOpenSession or kv.CmdCloseSession.
type DoArgs struct {
	Kind    kv.CommandKind // 0 ops, 1 open session, 2 close session
	Session kv.Session     // {ClientID, Seq}; zero for no session
	Ops     []kv.Op        // {Type, Key, Value, CheckVersion, IfVersion, TTL (ns)}
}

// DoReply is the command's result. On a version mismatch both are set:
// Result says which op failed.
type DoReply struct {
	Result kv.Result
	Err    *Error
}

// GetArgs reads one key.
type GetArgs struct {
	Key   []byte
	Stale bool // serve from this node's state without confirming it is current
}

// GetReply is the key as read.
type GetReply struct {
	Item kv.Item
	Err  *Error
}

// ScanArgs reads a page of keys.
type ScanArgs struct {
	Request kv.ScanRequest // {Prefix, Start, End, Limit}
	Stale   bool
}

// ScanReply is one page; Result.Next, if set, is the Start of the next.
type ScanReply struct {
	Result kv.ScanResult
	Err    *Error
}

// StatusArgs asks for the cluster status; it has no fields.
type StatusArgs struct{}

// StatusReply is the answering node's view of the cluster.
type StatusReply struct {
	Status server.ClusterStatus
	Err    *Error
}

// AddMemberArgs adds a node as a learner.
type AddMemberArgs struct {
	Member server.Member // {ID, Raft, HTTP, RPC}
}

// AddMemberReply reports the outcome.
type AddMemberReply struct {
	Err *Error
}

// RemoveMemberArgs removes a node.
type RemoveMemberArgs struct {
	ID uint64
}

// RemoveMemberReply reports the outcome.
type RemoveMemberReply struct {
	Err *Error
}

// TransferLeaderArgs hands leadership to To (0: the most caught-up voter).
type TransferLeaderArgs struct {
	To uint64
}

// TransferLeaderReply names the new leader.
type TransferLeaderReply struct {
	Leader uint64
	Err    *Error
}

// Failure returns the reply's error, nil on success. Every reply has one,
// so a client can handle them alike.
func (r *DoReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *GetReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *ScanReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *StatusReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *AddMemberReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *RemoveMemberReply) Failure() *Error { return r.Err }

// Failure returns the reply's error, nil on success.
func (r *TransferLeaderReply) Failure() *Error { return r.Err }
