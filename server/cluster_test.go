package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/stretchr/testify/require"
)

// testCluster is n in-process nodes on loopback with real TCP transports.
type testCluster struct {
	t     *testing.T
	cfgs  []Config
	nodes []*Node // nil while stopped
}

func newTestCluster(t *testing.T, n int, tweak func(*Config)) *testCluster {
	c := &testCluster{t: t}
	var members []Member
	for i := 1; i <= n; i++ {
		cfg := DefaultConfig()
		cfg.ID = uint64(i)
		cfg.DataDir = t.TempDir()
		cfg.Engine = "pebble"
		cfg.Listen = Listen{HTTP: freeAddr(t), RPC: freeAddr(t), Raft: freeAddr(t)}
		cfg.Raft.Tick = Duration(10 * time.Millisecond)
		if tweak != nil {
			tweak(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		members = append(members, cfg.self())
	}
	for i := range c.cfgs {
		c.cfgs[i].Cluster.Members = members
		require.NoError(t, c.cfgs[i].Validate())
		c.nodes = append(c.nodes, nil)
		c.start(i + 1)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i + 1)
		}
	})
	return c
}

func (c *testCluster) start(id int) {
	n, err := Open(c.cfgs[id-1], nil, nil)
	require.NoError(c.t, err)
	c.nodes[id-1] = n
}

func (c *testCluster) stop(id int) {
	if n := c.nodes[id-1]; n != nil {
		require.NoError(c.t, n.Close())
		c.nodes[id-1] = nil
	}
}

// leader waits until every running node agrees on a leader and returns it.
func (c *testCluster) leader() *Node {
	c.t.Helper()
	var lead uint64
	require.Eventually(c.t, func() bool {
		lead = 0
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			st := n.Status()
			if st.Leader == 0 || lead != 0 && st.Leader != lead {
				return false
			}
			lead = st.Leader
		}
		return lead != 0 && c.nodes[lead-1] != nil
	}, 10*time.Second, 10*time.Millisecond, "no agreed leader")
	return c.nodes[lead-1]
}

func TestThreeNodesReplicateAndSurviveTheLeader(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.Raft.SnapshotEntries = 40 })
	ctx := context.Background()
	lead := c.leader()

	// A follower refuses writes and names the leader.
	follower := c.nodes[lead.ID()%3]
	_, err := follower.Do(ctx, put("a", "1"))
	var nl *kv.NotLeaderError
	require.ErrorAs(t, err, &nl)
	require.Equal(t, lead.ID(), nl.Leader)

	versions := map[string]uint64{}
	for i := range 100 {
		k := fmt.Sprintf("k%03d", i)
		res, err := lead.Do(ctx, put(k, fmt.Sprint(i)))
		require.NoError(t, err)
		versions[k] = res.Ops[0].Version
	}
	// Linearizable reads on a follower see every acknowledged write.
	it, err := follower.Get(ctx, []byte("k099"), false)
	require.NoError(t, err)
	require.Equal(t, "99", string(it.Value))
	require.Equal(t, versions["k099"], it.Version)

	// Stop the leader: the others elect a new one and lose nothing.
	old := int(lead.ID())
	c.stop(old)
	lead = c.leader()
	require.NotEqual(t, uint64(old), lead.ID())
	page, err := lead.Scan(ctx, kv.ScanRequest{Prefix: []byte("k")}, false)
	require.NoError(t, err)
	require.Len(t, page.Items, 100)
	for i := range 100 {
		k := fmt.Sprintf("late%03d", i)
		_, err := lead.Do(ctx, put(k, "x"))
		require.NoError(t, err)
	}

	// The old leader restarts behind a compacted log and catches up (from
	// a snapshot: the others compacted while it was away).
	c.start(old)
	require.Eventually(t, func() bool {
		it, err := c.nodes[old-1].Get(ctx, []byte("late099"), true)
		return err == nil && string(it.Value) == "x"
	}, 10*time.Second, 10*time.Millisecond, "the restarted node catches up")
	for k, v := range versions {
		it, err := c.nodes[old-1].Get(ctx, []byte(k), true)
		require.NoError(t, err)
		require.Equal(t, v, it.Version, k)
	}
}

func TestMembershipAddAndRemoveOnALiveCluster(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx := context.Background()
	lead := c.leader()
	_, err := lead.Do(ctx, put("before", "join"))
	require.NoError(t, err)

	// A fourth node joins through the leader's API... here directly
	// through AddMember, as the REST handler does.
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Engine = 4, t.TempDir(), "pebble"
	cfg.Listen = Listen{HTTP: freeAddr(t), RPC: freeAddr(t), Raft: freeAddr(t)}
	cfg.Raft.Tick = Duration(10 * time.Millisecond)
	cfg.Cluster.Members = c.cfgs[0].Cluster.Members // started as the cluster's first configuration...
	cfg.Cluster.Members = append(cfg.Cluster.Members, cfg.self())
	// ...but without being in it: write its cluster.json by hand, as a join does.
	cl := clusterFile{ClusterID: 1, Members: c.cfgs[0].Cluster.Members}
	require.NoError(t, writeJSON(cfg.DataDir, cl))
	n4, err := Open(cfg, nil, nil)
	require.NoError(t, err)
	defer n4.Close()
	require.NoError(t, lead.AddMember(ctx, cfg.self()))
	require.Eventually(t, func() bool {
		st := lead.Status()
		for _, m := range st.Members {
			if m.ID == 4 && m.Role == "voter" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the new node is promoted once caught up")
	it, err := n4.Get(ctx, []byte("before"), false)
	require.NoError(t, err)
	require.Equal(t, "join", string(it.Value))

	// Remove a follower; the cluster goes on with the others.
	victim := uint64(1)
	if victim == lead.ID() {
		victim = 2
	}
	require.NoError(t, lead.RemoveMember(ctx, victim))
	require.Eventually(t, func() bool { return len(lead.Status().Members) == 3 }, 5*time.Second, 10*time.Millisecond)
	_, err = lead.Do(ctx, put("after", "remove"))
	require.NoError(t, err)
	err = lead.RemoveMember(ctx, victim)
	require.True(t, errors.Is(err, kv.ErrNotFound), "removing a non-member: %v", err)

	// Adding node 4 again with the same address is a join already done.
	require.ErrorIs(t, lead.AddMember(ctx, cfg.self()), ErrAlreadyMember)
	// Ids are never reused: not a first member's, not a later member's.
	require.NoError(t, lead.RemoveMember(ctx, 4))
	require.Eventually(t, func() bool { return len(lead.Status().Members) == 2 }, 5*time.Second, 10*time.Millisecond)
	for _, id := range []uint64{victim, 4} {
		again := cfg.self()
		again.ID = id
		err := lead.AddMember(ctx, again)
		require.ErrorIs(t, err, kv.ErrInvalid)
		require.ErrorContains(t, err, "never reused", "node %d", id)
	}
	// A member must be reachable where it says it is: a wildcard address
	// (a node listening on 0.0.0.0 that asks to join) is refused.
	for _, bad := range []func(*Member){
		func(m *Member) { m.Raft = "0.0.0.0:7072" },
		func(m *Member) { m.HTTP = "http://[::]:7070" },
		func(m *Member) { m.RPC = ":7071" },
		func(m *Member) { m.S3 = "http://0.0.0.0:9000" },
	} {
		m := cfg.self()
		m.ID = 9
		bad(&m)
		err := lead.AddMember(ctx, m)
		require.ErrorIs(t, err, kv.ErrInvalid)
		require.ErrorContains(t, err, "every address of its host")
	}
}
