package rpcapi_test

import (
	"net/rpc"
	"testing"
	"time"

	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/api/rpc/rpctest"
	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

// A learner that has never answered the leader must not be promoted to
// voter: in a one-node cluster that makes two voters, one of them dead,
// and the cluster can no longer commit anything.
//
// (server.Node.promoteCaughtUp once promoted a learner when
// pr.Match+100 >= commit, which a learner with Match 0 satisfies while the
// log is shorter than 100 entries.)
func TestUnreachableLearnerIsNotPromoted(t *testing.T) {
	cl := rpctest.Start(t, 1)
	c, err := rpc.Dial("tcp", cl.Nodes[0].Addr)
	require.NoError(t, err)
	defer c.Close()
	var add rpcapi.AddMemberReply
	require.NoError(t, c.Call("Cluster.AddMember", rpcapi.AddMemberArgs{Member: server.Member{ID: 9, Raft: "127.0.0.1:1", HTTP: "http://127.0.0.1:1", RPC: "127.0.0.1:1"}}, &add))
	require.Nil(t, add.Err)

	time.Sleep(300 * time.Millisecond) // many background rounds
	var st rpcapi.StatusReply
	require.NoError(t, c.Call("Cluster.Status", rpcapi.StatusArgs{}, &st))
	require.Equal(t, "learner", st.Status.Members[1].Role, "node 9 never answered; it is still a learner")

	var put rpcapi.DoReply
	require.NoError(t, c.Call("KV.Do", rpcapi.DoArgs{Ops: []kv.Op{{Type: kv.OpPut, Key: []byte("k"), Value: []byte("v")}}}, &put))
	require.Nil(t, put.Err, "the cluster still commits")
}
