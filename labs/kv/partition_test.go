package kvlab

import (
	"errors"
	"testing"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/sim"
)

// TestOnePartition: 5 servers split 3 | 2. The majority keeps serving; the
// minority serves nothing, and commits nothing.
//
// MIT's version gives a clerk only the minority's servers. Our clerks talk
// to any node, and a follower points them at its leader, so the test asks
// the minority directly instead:
//
//   - with the leader on the majority side, a read through a minority
//     server ((*sim.Sim).GetOn) is never answered: the server cannot reach
//     the leader for a read index. Its state machine still holds the old
//     value (a stale read, (*sim.Sim).StaleGet, returns it), which is
//     exactly what ReadIndex keeps a client from seeing;
//   - with the old leader on the minority side, a put the clerk sends it
//     ((*sim.Clerk).Start) is accepted but never commits while the
//     partition lasts; after the heal, the old leader's slot is overwritten,
//     the clerk sends the put again on its session, and it is applied once.
//
// Three autonomous clients run all along, and their history must be
// linearizable.
func TestOnePartition(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		const servers = 5
		c := labtest.NewKVCluster(t, servers)
		rnd := t.Rand()
		c.StartClients(3)
		ck := c.MakeClerk()
		key := ck.Key("a")
		ck.MustPut(key, "13")
		c.Run(2 * c.HeartbeatInterval()) // every follower applies it

		// Part 1: the leader is on the majority side.
		leader := c.CheckOneLeader()
		others := shuffledOthers(rnd, servers, leader)
		majority, minority := []int{leader, others[0], others[1]}, others[2:]
		commits := map[int]uint64{}
		for _, i := range minority {
			commits[i] = c.StatusOf(i).Commit
		}
		c.PartitionServers(majority, minority)

		v14 := ck.MustPut(key, "14") // through the majority's leader
		checkGet(t, ck, key, "14", v14)
		c.Run(3 * c.ElectionTimeout())
		for _, i := range minority {
			it, err := c.GetOn(c.ID(i), key, c.ElectionTimeout())
			if err == nil {
				t.Fatalf("server %d, in the minority %v, served a linearizable read: %q (version %d), while the majority %v has %q at version %d", i, minority, it.Value, it.Version, majority, "14", v14)
			}
			if !errors.Is(err, sim.ErrReadTimeout) && !errors.Is(err, raft.ErrNoLeader) {
				t.Fatalf("server %d, in the minority: get(%q): %v", i, key, err)
			}
			if it, err := c.StaleGet(c.ID(i), key); err != nil || string(it.Value) != "13" {
				t.Fatalf("server %d, in the minority: a stale read of %q returned %q, %v; want the old value 13", i, key, it.Value, err)
			}
			if st := c.StatusOf(i); st.Role == raft.Leader || st.Commit != commits[i] {
				t.Fatalf("server %d, in the minority %v: %v with commit index %d (was %d before the partition): a minority must not elect a leader or commit", i, minority, st.Role, st.Commit, commits[i])
			}
		}

		c.Heal()
		c.Run(c.ElectionTimeout())
		for _, i := range minority {
			if it := getOn(t, c, i, key); it == nil || string(it.Value) != "14" || it.Version != v14 {
				t.Fatalf("server %d, after the heal: get(%q) = %v; want 14 at version %d", i, key, it, v14)
			}
		}

		// Part 2: the leader is on the minority side.
		leader = c.CheckOneLeader()
		others = shuffledOthers(rnd, servers, leader)
		majority, minority = others[:3], []int{leader, others[3]}
		ck2 := c.MakeClerk()
		key2 := ck2.Key("b")
		ck2.MustPut(ck2.Key("session"), "open") // the clerk's session is open before the partition
		c.PartitionServers(majority, minority)

		call, err := ck2.Start(c.ID(leader), kv.Op{Type: kv.OpPut, Key: []byte(key2), Value: []byte("from the minority")})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		c.Run(c.HeartbeatInterval())
		slot := findPut(t, c, leader, key2) // where the old leader put it
		// The majority elects a leader and serves, past the old leader's slot.
		for n := 0; c.StatusOf(majority[0]).Commit <= slot; n++ {
			if n > 100 {
				t.Fatalf("the majority %v did not commit past index %d in 100 puts", majority, slot)
			}
			ck.MustPut(key, "majority")
		}
		c.Run(5 * c.ElectionTimeout())
		if call.Done() {
			res, err := call.Result()
			t.Fatalf("a put sent to the old leader %d, cut off in the minority %v, completed: %s (error %v)", leader, minority, describe(res), err)
		}
		if st := c.StatusOf(leader); st.Commit >= slot {
			t.Fatalf("the old leader %d, in the minority, committed index %d (its put is at %d)", leader, st.Commit, slot)
		}
		if it, ok := ck.MustGet(key2); ok {
			t.Fatalf("the majority serves %q = %q (version %d), a put only the cut-off old leader accepted", key2, it.Value, it.Version)
		}

		c.Heal()
		if !c.Until(20*c.ElectionTimeout(), call.Done) {
			t.Fatalf("the put sent to the old leader %d did not complete within %v of the heal", leader, 20*c.ElectionTimeout())
		}
		res, err := call.Result()
		if err != nil {
			t.Fatalf("the put sent to the old leader: %v", err)
		}
		if res.Index <= slot || res.Duplicate {
			t.Fatalf("the put sent to the old leader was applied at index %d (duplicate %v); it should have been overwritten at %d and applied later, once", res.Index, res.Duplicate, slot)
		}
		checkGet(t, ck, key2, "from the minority", res.Index)
		c.CheckKVHistory(100)
	})
}

// shuffledOthers returns the servers other than skip, in a random order.
func shuffledOthers(rnd *labtest.Rand, servers, skip int) []int {
	var others []int
	for i := range servers {
		if i != skip {
			others = append(others, i)
		}
	}
	rnd.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	return others
}

// findPut returns the index of the uncommitted entry in server i's log
// that puts key, failing the test if there is none.
func findPut(t *labtest.T, c *labtest.KVCluster, i int, key string) uint64 {
	t.Helper()
	st := c.StatusOf(i)
	for index := st.Commit + 1; index <= st.LastIndex; index++ {
		cmd, err := kv.DecodeCommand(c.Raft(c.ID(i)).Entries(index, index+1)[0].Data)
		if err == nil && len(cmd.Ops) == 1 && cmd.Ops[0].Type == kv.OpPut && string(cmd.Ops[0].Key) == key {
			return index
		}
	}
	t.Fatalf("server %d did not accept the put of %q: its uncommitted entries [%d, %d] hold none", i, key, st.Commit+1, st.LastIndex)
	return 0
}
