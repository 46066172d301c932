package client

import (
	"context"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/server"
)

// Status returns the cluster's status as the leader sees it (a follower's
// view of the membership may lag), or as any node sees it if the leader
// cannot be reached. The client learns the members' addresses from it.
func (c *Client) Status(ctx context.Context) (server.ClusterStatus, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	reply, _, err := invoke[rpcapi.StatusReply](ctx, c, "Cluster.Status", rpcapi.StatusArgs{}, policy{})
	if err != nil {
		return server.ClusterStatus{}, err
	}
	st := reply.Status
	if st.Role != "leader" {
		// Ask the leader this node names, then the other members.
		var order []server.MemberStatus
		for _, m := range st.Members {
			if m.ID == st.Leader {
				order = append([]server.MemberStatus{m}, order...)
			} else if m.ID != st.ID {
				order = append(order, m)
			}
		}
		for _, m := range order {
			if m.RPC == "" {
				continue
			}
			if ls, err := c.NodeStatus(ctx, m.RPC); err == nil && ls.Role == "leader" {
				st = ls
				break
			}
		}
	}
	c.learnStatus(st)
	return st, nil
}

// NodeStatus returns the status as the node at addr (an RPC address) sees
// it: its role, term, commit and applied index. It asks that node only,
// once.
func (c *Client) NodeStatus(ctx context.Context, addr string) (server.ClusterStatus, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var reply rpcapi.StatusReply
	out, err := c.attempt(ctx, addr, "Cluster.Status", rpcapi.StatusArgs{}, &reply)
	if out != answered {
		return server.ClusterStatus{}, err
	}
	return reply.Status, reply.Err.Err()
}

// AddMember adds a node to the cluster as a learner; the leader promotes
// it to voter once it has caught up. m needs the node's id and raft
// address, and should have its HTTP and RPC addresses too, so that clients
// and the other nodes can find it. If the call's fate is unknown it is not
// retried (a second add would fail): check with Status.
func (c *Client) AddMember(ctx context.Context, m server.Member) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, _, err := invoke[rpcapi.AddMemberReply](ctx, c, "Cluster.AddMember", rpcapi.AddMemberArgs{Member: m}, policy{leader: true, write: true, once: true})
	return err
}

// RemoveMember removes node id from the cluster. Like AddMember, it is not
// retried if its fate is unknown.
func (c *Client) RemoveMember(ctx context.Context, id uint64) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, _, err := invoke[rpcapi.RemoveMemberReply](ctx, c, "Cluster.RemoveMember", rpcapi.RemoveMemberArgs{ID: id}, policy{leader: true, write: true, once: true})
	return err
}

// TransferLeader hands leadership to node to (0: the most caught-up other
// voter), waits until it leads, and returns its id.
func (c *Client) TransferLeader(ctx context.Context, to uint64) (uint64, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	reply, _, err := invoke[rpcapi.TransferLeaderReply](ctx, c, "Cluster.TransferLeader", rpcapi.TransferLeaderArgs{To: to}, policy{leader: true, write: true, once: true})
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.leader = "" // the next leader call finds the new one
	c.mu.Unlock()
	return reply.Leader, nil
}

// learnMembers asks addr for the cluster status, once, and learns the
// members' addresses from it. Errors are ignored: it only helps.
func (c *Client) learnMembers(ctx context.Context, addr string) {
	var reply rpcapi.StatusReply
	if out, _ := c.attempt(ctx, addr, "Cluster.Status", rpcapi.StatusArgs{}, &reply); out == answered && reply.Err == nil {
		c.learnStatus(reply.Status)
	}
}

// learnStatus adds every member's RPC address to the endpoints, and takes
// the leader's as the leader's if none is known.
func (c *Client) learnStatus(st server.ClusterStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range st.Members {
		c.learn(m.RPC)
		if m.ID == st.Leader && m.RPC != "" && c.leader == "" {
			c.leader = m.RPC
		}
	}
}
