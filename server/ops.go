package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/raft/runner"
)

// ReservedPrefix starts the keys minikv keeps for itself (the S3 API's
// buckets, objects and chunks live under it). Do, Get and Scan refuse or
// skip them, so a user of the key-value API can neither read nor damage
// them; Internal reaches them.
const ReservedPrefix = "\x00"

// Do proposes one command and returns its result once applied on this node.
// It must run on the leader: elsewhere it fails with a *kv.NotLeaderError
// naming the leader (0 if none is known). The command's Time is set here,
// from this node's clock: the leader's clock is the one the state machine
// follows.
func (n *Node) Do(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	for _, op := range cmd.Ops {
		if reserved(op.Key) {
			return kv.Result{}, errReserved
		}
	}
	return n.do(ctx, cmd)
}

func (n *Node) do(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	res, err := n.propose(ctx, cmd)
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

var errReserved = fmt.Errorf("%w: keys starting with a NUL byte are reserved for minikv's own data", kv.ErrInvalid)

func reserved(key []byte) bool { return len(key) > 0 && key[0] == ReservedPrefix[0] }

func (n *Node) propose(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	cmd.Time = time.Now().UnixNano()
	if err := n.limits.Check(&cmd); err != nil {
		return kv.Result{}, err
	}
	res, err := n.raft.Propose(ctx, cmd.Encode())
	return res, n.mapErr(err)
}

// mapErr turns runner and raft errors into the kv errors the front doors
// know how to answer.
func (n *Node) mapErr(err error) error {
	var nl *raft.NotLeaderError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nl):
		return &kv.NotLeaderError{Leader: nl.Leader}
	case errors.Is(err, raft.ErrTransferInProgress):
		// This node still leads, for a moment: forwarding to it would loop.
		return fmt.Errorf("%w: leadership is being transferred", kv.ErrUnavailable)
	case errors.Is(err, runner.ErrDropped), errors.Is(err, raft.ErrNoLeader):
		// Leadership is changing: the command was not applied.
		return &kv.NotLeaderError{Leader: n.raft.Status().Lead}
	case errors.Is(err, runner.ErrStopped):
		return fmt.Errorf("%w: this node is shutting down", kv.ErrUnavailable)
	case errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrConfChangeTooEarly):
		return fmt.Errorf("%w: %w", kv.ErrUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", kv.ErrTimeout, err)
	}
	return err
}

// Get reads one key. A linearizable read reflects every write that
// completed before it started; a stale one is this node's state as it is.
func (n *Node) Get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	if reserved(key) {
		return kv.Item{}, errReserved
	}
	return n.get(ctx, key, stale)
}

func (n *Node) get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	if err := n.barrier(ctx, stale); err != nil {
		return kv.Item{}, err
	}
	return n.sm.Get(key)
}

// Scan reads a page of keys, linearizably unless stale. Reserved keys are
// never listed.
func (n *Node) Scan(ctx context.Context, req kv.ScanRequest, stale bool) (kv.ScanResult, error) {
	if reserved(req.Prefix) {
		return kv.ScanResult{}, errReserved
	}
	if len(req.Prefix) == 0 && bytes.Compare(req.Start, []byte{ReservedPrefix[0] + 1}) < 0 {
		req.Start = []byte{ReservedPrefix[0] + 1}
	}
	return n.scan(ctx, req, stale)
}

func (n *Node) scan(ctx context.Context, req kv.ScanRequest, stale bool) (kv.ScanResult, error) {
	if err := n.barrier(ctx, stale); err != nil {
		return kv.ScanResult{}, err
	}
	return n.sm.Scan(req)
}

// Internal is the key-value API of minikv's own components (the S3 API):
// the same operations, reserved keys included.
type Internal struct{ n *Node }

// Internal returns the key-value API with access to reserved keys.
func (n *Node) Internal() Internal { return Internal{n} }

// Do is Node.Do without the reserved-key check.
func (i Internal) Do(ctx context.Context, cmd kv.Command) (kv.Result, error) { return i.n.do(ctx, cmd) }

// Get is Node.Get without the reserved-key check.
func (i Internal) Get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	return i.n.get(ctx, key, stale)
}

// Scan is Node.Scan without the reserved-key check.
func (i Internal) Scan(ctx context.Context, req kv.ScanRequest, stale bool) (kv.ScanResult, error) {
	return i.n.scan(ctx, req, stale)
}

func (n *Node) barrier(ctx context.Context, stale bool) error {
	if stale {
		return nil
	}
	return n.mapErr(n.raft.ReadBarrier(ctx))
}

// Limits returns the limits commands are checked against.
func (n *Node) Limits() kv.Limits { return n.limits }

// MemberStatus is one member as the cluster status shows it.
type MemberStatus struct {
	Member
	Role string `json:"role"` // voter or learner
}

// ClusterStatus is what GET /v1/cluster reports.
type ClusterStatus struct {
	ID           uint64         `json:"id"`
	ClusterID    uint64         `json:"cluster_id"`
	Leader       uint64         `json:"leader"`
	Role         string         `json:"role"`
	Term         uint64         `json:"term"`
	CommitIndex  uint64         `json:"commit_index"`
	AppliedIndex uint64         `json:"applied_index"`
	Members      []MemberStatus `json:"members"`
	// Initial is the cluster's first configuration: a joining node starts
	// its raft core from it, as every member did.
	Initial []Member `json:"initial_members"`
}

// Status reports this node's view of the cluster.
func (n *Node) Status() ClusterStatus {
	st := n.raft.Status()
	cs := ClusterStatus{ID: n.cfg.ID, ClusterID: n.clusterID, Leader: st.Lead, Role: strings.ToLower(st.Role.String()), Term: st.Term,
		CommitIndex: st.Commit, AppliedIndex: n.sm.Applied(), Initial: n.initial}
	table := n.memberTable()
	ids := make([]uint64, 0, len(table))
	for id := range table {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		role := "voter"
		if slices.Contains(st.Conf.Learners, id) {
			role = "learner"
		}
		cs.Members = append(cs.Members, MemberStatus{Member: table[id], Role: role})
	}
	return cs
}

// Leader returns the leader's addresses, if this node knows them.
func (n *Node) Leader() (Member, bool) {
	lead := n.raft.Status().Lead
	if lead == raft.None {
		return Member{}, false
	}
	m, ok := n.memberTable()[lead]
	return m, ok && m.HTTP != ""
}

// Ready reports whether the node can serve: it knows a leader and has
// applied everything it knows is committed.
func (n *Node) Ready() (bool, string) {
	st := n.raft.Status()
	switch {
	case st.Lead == raft.None:
		return false, "no leader known"
	case n.sm.Applied() < st.Commit:
		return false, fmt.Sprintf("applying: %d of %d", n.sm.Applied(), st.Commit)
	}
	return true, "ok"
}

// ErrAlreadyMember: the server is a member already, with the same raft
// address (a join that was already done, e.g. with minikv cluster add).
var ErrAlreadyMember = fmt.Errorf("%w: already a member", kv.ErrInvalid)

// AddMember adds a server to the cluster as a learner; the leader promotes
// it to voter once it has caught up. Leader only.
func (n *Node) AddMember(ctx context.Context, m Member) error {
	if m.ID == 0 || m.Raft == "" {
		return fmt.Errorf("%w: a member needs an id and a raft address", kv.ErrInvalid)
	}
	// The addresses are where the other members and clients reach the new
	// one: a node listening on 0.0.0.0 must say which address that is.
	for _, a := range []struct{ name, addr string }{{"raft", m.Raft}, {"http", m.HTTP}, {"rpc", m.RPC}, {"s3", m.S3}} {
		if a.addr != "" && !connectable(a.addr) {
			return fmt.Errorf("%w: node %d's %s address %q is every address of its host, not one the others can connect to; give the address they reach it at",
				kv.ErrInvalid, m.ID, a.name, a.addr)
		}
	}
	// Only the leader's view of the membership is current: a follower
	// sends the request on before judging it.
	if n.raft.Status().Role != raft.Leader {
		return n.mapErr(&raft.NotLeaderError{Leader: n.raft.Status().Lead})
	}
	if cur, ok := n.memberTable()[m.ID]; ok {
		if cur.Raft == m.Raft {
			return fmt.Errorf("%w: node %d is already a member", ErrAlreadyMember, m.ID)
		}
		return fmt.Errorf("%w: node %d is already a member, at %s", kv.ErrInvalid, m.ID, cur.Raft)
	}
	removed, err := n.sm.WasRemoved(m.ID)
	if err != nil {
		return err
	}
	if removed || slices.ContainsFunc(n.initial, func(i Member) bool { return i.ID == m.ID }) {
		return fmt.Errorf("%w: node id %d was a member before; ids are never reused", kv.ErrInvalid, m.ID)
	}
	// The leader starts sending to the learner as soon as the change is in
	// its log, before it is applied: tell the transport now.
	n.mu.Lock()
	n.joined[m.ID] = m
	n.mu.Unlock()
	n.tr.AddPeer(m.ID, m.Raft)
	ctxb, _ := json.Marshal(m)
	return n.mapErr(n.raft.ProposeConfChange(ctx, raft.ConfChange{Type: raft.ConfAddLearner, NodeID: m.ID, Context: ctxb}))
}

// RemoveMember removes a server from the cluster. Leader only.
func (n *Node) RemoveMember(ctx context.Context, id uint64) error {
	if st := n.raft.Status(); st.Role != raft.Leader {
		return n.mapErr(&raft.NotLeaderError{Leader: st.Lead})
	}
	if _, ok := n.memberTable()[id]; !ok {
		return fmt.Errorf("%w: node %d is not a member", kv.ErrNotFound, id)
	}
	return n.mapErr(n.raft.ProposeConfChange(ctx, raft.ConfChange{Type: raft.ConfRemove, NodeID: id}))
}

// TransferLeader hands leadership to node to (0: the most caught-up other
// voter) and waits until it leads. Leader only.
func (n *Node) TransferLeader(ctx context.Context, to uint64) (uint64, error) {
	st := n.raft.Status()
	if st.Role != raft.Leader {
		return 0, n.mapErr(&raft.NotLeaderError{Leader: st.Lead})
	}
	if to == 0 {
		var best uint64
		for _, id := range st.Conf.Voters {
			if id == n.cfg.ID {
				continue
			}
			// Only a peer that answers can take over.
			if pr, ok := n.raft.Progress(id); ok && pr.RecentActive && (to == 0 || pr.Match > best) {
				to, best = id, pr.Match
			}
		}
		if to == 0 {
			return 0, fmt.Errorf("%w: no other voter that answers to transfer leadership to", kv.ErrInvalid)
		}
	}
	if !slices.Contains(st.Conf.Voters, to) {
		return 0, fmt.Errorf("%w: node %d is not a voter", kv.ErrInvalid, to)
	}
	return to, n.mapErr(n.raft.TransferLeadership(ctx, to))
}
