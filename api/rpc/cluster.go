package rpcapi

import (
	"context"
)

// Cluster is the "Cluster" service: status and membership. Its methods
// are called by net/rpc; they always return nil and report failures in
// the reply.
type Cluster struct{ s *Server }

// Status reports the answering node's view of the cluster: any node
// answers, so a client can see each member's term, commit and applied
// index by asking each.
func (c *Cluster) Status(_ StatusArgs, reply *StatusReply) error {
	reply.Err = c.s.run("status", func(context.Context) error {
		reply.Status = c.s.node.Status()
		return nil
	})
	return nil
}

// AddMember adds a node as a learner; the leader promotes it to voter once
// it has caught up. Leader only.
func (c *Cluster) AddMember(args AddMemberArgs, reply *AddMemberReply) error {
	reply.Err = c.s.run("add_member", func(ctx context.Context) error {
		return c.s.node.AddMember(ctx, args.Member)
	})
	return nil
}

// RemoveMember removes a node from the cluster. Leader only.
func (c *Cluster) RemoveMember(args RemoveMemberArgs, reply *RemoveMemberReply) error {
	reply.Err = c.s.run("remove_member", func(ctx context.Context) error {
		return c.s.node.RemoveMember(ctx, args.ID)
	})
	return nil
}

// TransferLeader hands leadership to To (0: the most caught-up other
// voter) and waits until it leads. Leader only.
func (c *Cluster) TransferLeader(args TransferLeaderArgs, reply *TransferLeaderReply) error {
	reply.Err = c.s.run("transfer_leader", func(ctx context.Context) error {
		var err error
		reply.Leader, err = c.s.node.TransferLeader(ctx, args.To)
		return err
	})
	return nil
}
