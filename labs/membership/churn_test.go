package membership_test

import (
	"slices"
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
)

// membershipChurn runs three clients (appends, and reads through ReadIndex)
// while the membership changes at random through the leader, as an
// operator would make the changes: add a spare as a learner (again, after
// it was removed), promote a learner that caught up, remove a member
// (keeping three voters), transfer leadership. Between changes the cluster
// is split, the leader cut off, nodes crash and restart. At the end
// everything heals; no acknowledged write may be lost and the history must
// be linearizable.
//
// Nodes 1-3 are never added back once removed: (*sim.Sim).AddLearner
// restarts a node with an empty disk and raft.Config.Peers set to the first
// configuration, so a wiped node 2 believes it is a voter of {1,2,3}, and
// two such nodes cut off together elect one another with empty logs (seed
// 122 of this test with -seeds 200 showed it: "leader completeness: new
// leader 3 (term 11) lacks committed entry 1").
func membershipChurn(t *labtest.T, unreliable bool) {
	var opts []labtest.Option
	if unreliable {
		opts = append(opts, labtest.Unreliable())
	}
	c := newCluster(t, 3, 2, opts...)
	rnd := t.Rand()
	pick := func(ids []uint64) (uint64, bool) {
		if len(ids) == 0 {
			return 0, false
		}
		return ids[rnd.IntN(len(ids))], true
	}
	down := map[uint64]bool{}
	c.StartClients(3)
	c.Run(200 * time.Millisecond)
	for range 40 {
		lead, ok := c.Leader()
		if ok {
			lst, _ := c.Status(lead)
			conf := lst.Conf
			switch rnd.IntN(10) {
			case 0, 1: // add a learner (a spare, or a spare removed before)
				var outside []uint64
				for _, id := range c.Nodes() {
					// Not nodes 1-3: wiped, they would restart believing
					// they are voters of the first configuration.
					if id > 3 && !labtest.IsMember(conf, id) {
						outside = append(outside, id)
					}
				}
				if id, ok := pick(outside); ok && c.AddLearner(id) == nil {
					delete(down, id) // AddLearner starts it afresh
				}
			case 2, 3: // promote a learner that has caught up
				var ready []uint64
				for _, id := range conf.Learners {
					if pr := c.Raft(lead).Progress(id); pr != nil && pr.Match+10 >= lst.LastIndex {
						ready = append(ready, id)
					}
				}
				if id, ok := pick(ready); ok {
					c.Promote(id)
				}
			case 4: // remove a learner, or a voter while more than three
				candidates := slices.Clone(conf.Learners)
				if len(conf.Voters) > 3 {
					candidates = append(candidates, conf.Voters...)
				}
				if id, ok := pick(candidates); ok {
					c.RemoveMember(id)
				}
			case 5: // hand leadership to another voter
				if id, ok := pick(without(conf.Voters, lead)); ok {
					c.TransferLeader(id)
				}
			}
		}
		switch rnd.IntN(6) {
		case 0: // split everything into two random groups
			ids := slices.Clone(c.Nodes())
			rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			k := 1 + rnd.IntN(len(ids)-1)
			c.Partition(ids[:k], ids[k:])
		case 1: // cut the leader off
			if id, ok := c.Leader(); ok {
				c.Disconnect(id)
			}
		case 2: // crash a node, at most two at a time
			var up []uint64
			for _, id := range c.Nodes() {
				if c.IsUp(id) {
					up = append(up, id)
				}
			}
			if id, ok := pick(up); ok && len(down) < 2 {
				c.Crash(id)
				down[id] = true
			}
		case 3: // heal, and restart what is down
			c.Heal()
			for _, id := range c.Nodes() {
				if down[id] {
					c.Restart(id)
					delete(down, id)
				}
			}
		}
		c.Run(time.Duration(50+rnd.IntN(300)) * time.Millisecond)
	}
	c.Heal()
	c.SetUnreliable(false)
	for _, id := range c.Nodes() {
		if down[id] {
			c.Restart(id)
		}
	}
	c.Run(2 * time.Second)
	c.StopClients()
	c.Run(2 * time.Second)
	st := c.LeaderStatus()
	c.OneAny(labtest.Cmd(1<<20), len(st.Conf.Voters))
	stats := c.Stats()
	if ops, _ := c.ClientOps(); ops == 0 {
		t.Fatalf("no client operation completed during the churn")
	}
	t.Logf("%d configuration changes, %d transfers, %d elections; final %s", stats.ConfChanges, stats.Transfers, stats.Elections, labtest.ConfString(st.Conf))
	c.CheckHistory()
}

// TestMembershipChurn: membership churn on a reliable network.
func TestMembershipChurn(t *testing.T) {
	labtest.ForSeeds(t, 20, func(t *labtest.T) { membershipChurn(t, false) })
}

// TestMembershipChurnUnreliable: the same on a lossy, duplicating,
// reordering network.
func TestMembershipChurnUnreliable(t *testing.T) {
	labtest.ForSeeds(t, 20, func(t *labtest.T) { membershipChurn(t, true) })
}

// TestReadIndexLinearizable: clients read through ReadIndex (on whichever
// node they reach: followers forward to the leader) and write, while the
// cluster is split, leaders are cut off, nodes crash and clocks drift.
// Porcupine checks every read against every write.
func TestReadIndexLinearizable(t *testing.T) {
	labtest.ForSeeds(t, 20, func(t *labtest.T) {
		c := newCluster(t, 5, 0)
		rnd := t.Rand()
		all := c.Nodes()
		for _, id := range all {
			// Slow and fast clocks: a deposed leader may believe it leads
			// for longer, which is exactly when a careless read goes wrong.
			c.SetTickSkew(id, 0.7+rnd.Float64()*2)
		}
		c.StartClients(4)
		down := map[uint64]bool{}
		for range 30 {
			switch rnd.IntN(5) {
			case 0:
				ids := slices.Clone(all)
				rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				k := 1 + rnd.IntN(len(ids)-1)
				c.Partition(ids[:k], ids[k:])
			case 1, 2:
				if id, ok := c.Leader(); ok {
					c.Disconnect(id)
				}
			case 3:
				id := all[rnd.IntN(len(all))]
				if c.IsUp(id) && len(down) < 2 {
					c.Crash(id)
					down[id] = true
				}
			case 4:
				c.Heal()
				for _, id := range all { // in ID order: never map order
					if down[id] {
						c.Restart(id)
					}
				}
				clear(down)
			}
			c.Run(time.Duration(100+rnd.IntN(400)) * time.Millisecond)
		}
		c.Heal()
		for _, id := range all {
			if down[id] {
				c.Restart(id)
			}
		}
		for _, id := range all {
			c.SetTickSkew(id, 1)
		}
		c.Run(2 * time.Second)
		c.StopClients()
		c.Run(2 * time.Second)
		c.OneAny(labtest.Cmd(1<<20), 5)
		if ops, _ := c.ClientOps(); ops < 50 {
			t.Fatalf("only %d client operations completed", ops)
		}
		c.CheckHistory()
	})
}
