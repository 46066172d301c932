package rest_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

func clusterStatus(t *testing.T, n *testNode) server.ClusterStatus {
	t.Helper()
	var st server.ClusterStatus
	do(t, http.MethodGet, n.url+"/v1/cluster", nil).decode(t, http.StatusOK, &st)
	return st
}

// voters returns the ids of the voters a status lists.
func voters(st server.ClusterStatus) []uint64 {
	var ids []uint64
	for _, m := range st.Members {
		if m.Role == "voter" {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func TestClusterAnyNodeServes(t *testing.T) {
	nodes := startCluster(t, 3)
	lead, fol := leaderAndFollowers(t, nodes)

	// Every node reports the same cluster: three voters with their
	// addresses, one leader.
	for _, n := range nodes {
		st := clusterStatus(t, n)
		require.Equal(t, n.node.ID(), st.ID)
		require.Equal(t, lead.node.ID(), st.Leader)
		require.Equal(t, []uint64{1, 2, 3}, voters(st))
		require.Len(t, st.Initial, 3)
		for i, m := range st.Members {
			require.Equal(t, nodes[i].url, m.HTTP)
			require.NotEmpty(t, m.Raft)
		}
		if n == lead {
			require.Equal(t, "leader", st.Role)
		} else {
			require.Equal(t, "follower", st.Role)
		}
	}

	// A write to a follower is forwarded to the leader, which answers.
	a := do(t, http.MethodPut, fol[0].url+"/v1/kv/dir/k?if_version=0", "one")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, lead.id(), a.header.Get("X-Minikv-Node"), "the leader served the write")

	// A linearizable read on the other follower sees it at once.
	a = do(t, http.MethodGet, fol[1].url+"/v1/kv/dir/k", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "one", string(a.body))
	require.Equal(t, fol[1].id(), a.header.Get("X-Minikv-Node"), "reads are served locally")

	// The path goes to the leader as it came: escapes and slashes intact.
	a = do(t, http.MethodPut, fol[1].url+"/v1/kv/a%2F%2Fb/sp%20ace%3F%25?ttl=1h", "esc")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	a = do(t, http.MethodGet, lead.url+"/v1/kv/a//b/sp%20ace%3F%25", nil)
	require.Equal(t, "esc", string(a.body))
	require.NotEmpty(t, a.header.Get("X-Minikv-Expires-At"))

	// Conflicts and their details come back through the forwarder.
	e := do(t, http.MethodPut, fol[1].url+"/v1/kv/dir/k?if_version=0", "two").requireError(t, http.StatusConflict, "version_mismatch")
	require.NotZero(t, *e.Error.Actual)

	// Batches, deletes and scans from followers.
	var out struct{ Version uint64 }
	do(t, http.MethodPost, fol[1].url+"/v1/batch", `{"ops":[{"op":"put","key":"dir/b","value":"Yg=="},{"op":"delete","key":"dir/k"}]}`).
		decode(t, http.StatusOK, &out)
	var page scanPage
	do(t, http.MethodGet, fol[0].url+"/v1/kv?prefix=dir/", nil).decode(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "dir/b", page.Items[0].Key)
	require.Equal(t, out.Version, page.Items[0].Version)

	// A stale read is this node's state: it catches up soon after.
	put(t, lead.url, "stale", "x")
	require.Eventually(t, func() bool {
		a := do(t, http.MethodGet, fol[0].url+"/v1/kv/stale?consistency=stale", nil)
		return a.status == http.StatusOK && string(a.body) == "x"
	}, 5*time.Second, 5*time.Millisecond)

	// Forwarding shows in the follower's metrics under the same op.
	require.Contains(t, string(do(t, http.MethodGet, fol[0].url+"/metrics", nil).body),
		`minikv_request_duration_seconds_count{api="rest",code="ok",op="kv.put"} 1`)
	require.Empty(t, fol[0].logs.String())
}

func TestForwardedOnlyOnce(t *testing.T) {
	nodes := startCluster(t, 3)
	_, fol := leaderAndFollowers(t, nodes)
	// A request some node already forwarded reaches a follower (as when
	// leadership moved meanwhile): it is answered, not forwarded again.
	req, err := http.NewRequest(http.MethodPut, fol[0].url+"/v1/kv/k", strings.NewReader("v"))
	require.NoError(t, err)
	req.Header.Set("X-Minikv-Forwarded-By", fol[1].id())
	a := send(t, req)
	e := a.requireError(t, http.StatusServiceUnavailable, "not_leader")
	require.Contains(t, e.Error.Message, "node "+fol[1].id()+" forwarded")
	require.NotZero(t, e.Error.Leader)
	require.Contains(t, fol[0].logs.String(), "request failed")
	require.Contains(t, fol[0].logs.String(), "op=kv.put")
	require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, fol[0].url+"/v1/kv/k", nil).status, "nothing was written")
}

func TestClusterTransferLeader(t *testing.T) {
	nodes := startCluster(t, 3)
	lead, fol := leaderAndFollowers(t, nodes)
	put(t, lead.url, "k", "before")

	// Asked of a follower, the transfer is forwarded to the leader.
	target := fol[1].node.ID()
	var out struct{ Leader uint64 }
	do(t, http.MethodPost, fol[0].url+"/v1/cluster/transfer-leader", map[string]uint64{"to": target}).decode(t, http.StatusOK, &out)
	require.Equal(t, target, out.Leader)
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if st := n.node.Status(); st.Leader != target {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond, "every node follows the new leader")
	require.Equal(t, "leader", clusterStatus(t, fol[1]).Role)

	// Writes through the old leader are now forwarded to the new one.
	a := do(t, http.MethodPut, lead.url+"/v1/kv/k", "after")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, fol[1].id(), a.header.Get("X-Minikv-Node"))
	require.Equal(t, "after", string(do(t, http.MethodGet, fol[0].url+"/v1/kv/k", nil).body))

	// An empty body picks the most caught-up other voter.
	do(t, http.MethodPost, lead.url+"/v1/cluster/transfer-leader", nil).decode(t, http.StatusOK, &out)
	require.NotEqual(t, target, out.Leader)
	require.NotZero(t, out.Leader)
}

func TestClusterAddRemoveMember(t *testing.T) {
	nodes := startCluster(t, 3)
	lead, fol := leaderAndFollowers(t, nodes)
	for i := range 20 {
		put(t, lead.url, fmt.Sprintf("k%02d", i), "v")
	}

	// A fourth node joins through a follower's API: GET /v1/cluster, then
	// POST /v1/cluster/members, which the follower forwards to the leader.
	l := newListener(t)
	cfg := testConfig(t, 4, l)
	cfg.Cluster.Join = fol[0].url
	n4 := start(t, cfg, l)
	require.Eventually(t, func() bool {
		st := n4.node.Status()
		return slices.Equal(voters(st), []uint64{1, 2, 3, 4}) && st.Leader == lead.node.ID()
	}, 10*time.Second, 10*time.Millisecond, "the leader promotes the caught-up learner")
	for _, n := range nodes {
		require.Eventually(t, func() bool { return len(voters(clusterStatus(t, n))) == 4 }, 5*time.Second, 10*time.Millisecond)
	}
	st := clusterStatus(t, lead)
	require.Equal(t, l.url, st.Members[3].HTTP, "the member's addresses are known to all")

	// The new node serves reads and forwards writes.
	require.Equal(t, "v", string(do(t, http.MethodGet, n4.url+"/v1/kv/k19", nil).body))
	put(t, n4.url, "from4", "x")

	// Adding it again is refused.
	m := server.Member{ID: 4, Raft: cfg.Listen.Raft, HTTP: l.url}
	do(t, http.MethodPost, lead.url+"/v1/cluster/members", m).requireError(t, http.StatusBadRequest, "invalid_argument")

	// Remove it, asking a follower.
	var out struct{ Removed uint64 }
	do(t, http.MethodDelete, fol[1].url+"/v1/cluster/members/4", nil).decode(t, http.StatusOK, &out)
	require.EqualValues(t, 4, out.Removed)
	for _, n := range nodes {
		require.Eventually(t, func() bool { return slices.Equal(voters(clusterStatus(t, n)), []uint64{1, 2, 3}) },
			5*time.Second, 10*time.Millisecond)
	}
	do(t, http.MethodDelete, lead.url+"/v1/cluster/members/4", nil).requireError(t, http.StatusNotFound, "not_found")
	put(t, fol[0].url, "after-removal", "x")
}

func TestLeaderAddressUnknown(t *testing.T) {
	// The members list has no HTTP addresses: a follower cannot forward,
	// and says why.
	nodes := startClusterWith(t, 3, func(cfg *server.Config) {
		for i := range cfg.Cluster.Members {
			cfg.Cluster.Members[i].HTTP = ""
		}
	})
	lead, fol := leaderAndFollowers(t, nodes)
	e := do(t, http.MethodPut, fol[0].url+"/v1/kv/k", "v").requireError(t, http.StatusServiceUnavailable, "not_leader")
	require.Equal(t, lead.node.ID(), e.Error.Leader)
	require.Contains(t, e.Error.Message, "HTTP address is unknown")
	put(t, lead.url, "k", "v")
	require.Equal(t, "v", string(do(t, http.MethodGet, fol[0].url+"/v1/kv/k", nil).body))
}

func TestClusterConcurrentWrites(t *testing.T) {
	nodes := startCluster(t, 3)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := nodes[(w+i)%len(nodes)]
				req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v1/kv/c/%d/%02d", n.url, w, i), strings.NewReader("v"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("writer %d, write %d via node %d: %s", w, i, n.node.ID(), resp.Status)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, n := range nodes {
		var page scanPage
		do(t, http.MethodGet, n.url+"/v1/kv?prefix=c/", nil).decode(t, http.StatusOK, &page)
		require.Len(t, page.Items, writers*each, "every acknowledged write is readable on node %d", n.node.ID())
	}
}
