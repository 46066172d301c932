package sim

import (
	"time"

	"github.com/minikv-go/minikv/raft"
)

// nemesis injects the faults of Options.Faults at random moments: it cuts
// the network (halves, the leader alone, one direction), crashes and later
// restarts nodes, makes the network lossy, duplicating or slow, and skews
// clocks. Every choice comes from the simulation's PRNG.
type nemesis struct {
	s      *Sim
	active bool
	base   NetOptions
}

func (s *Sim) startNemesis() *nemesis {
	nm := &nemesis{s: s, active: true, base: s.net.opts}
	if s.opts.Faults&FaultSkew != 0 {
		for _, id := range s.ids {
			s.SetTickSkew(id, 0.7+0.6*s.rng.Float64())
		}
	}
	nm.scheduleNext()
	return nm
}

func (nm *nemesis) scheduleNext() {
	s := nm.s
	s.schedule(100*time.Millisecond+time.Duration(s.rng.Int64N(int64(900*time.Millisecond))), evNemesis, 0, nm.act)
}

// action is one kind of fault the nemesis can inject.
type action struct {
	fault Faults
	do    func(nm *nemesis)
}

var nemesisActions = []action{
	{FaultPartition, (*nemesis).randomHalves},
	{FaultPartition, (*nemesis).isolateLeader},
	{FaultPartition | FaultAsymmetric, (*nemesis).heal},
	{FaultAsymmetric, (*nemesis).oneWay},
	{FaultCrash, (*nemesis).crashOne},
	{FaultLoss, func(nm *nemesis) { nm.netFault(func(o *NetOptions) { o.Loss = 0.05 + 0.25*nm.s.rng.Float64() }) }},
	{FaultDup, func(nm *nemesis) { nm.netFault(func(o *NetOptions) { o.Dup = 0.05 + 0.2*nm.s.rng.Float64() }) }},
	{FaultReorder, func(nm *nemesis) {
		nm.netFault(func(o *NetOptions) {
			o.LongDelayProb = 0.1
			o.LongDelay = 50*time.Millisecond + time.Duration(nm.s.rng.Int64N(int64(450*time.Millisecond)))
		})
	}},
	{FaultMembership, (*nemesis).membership},
	{FaultMembership, (*nemesis).membership},
	{FaultSkew, func(nm *nemesis) {
		s := nm.s
		s.SetTickSkew(s.ids[s.rng.IntN(len(s.ids))], 0.5+1.5*s.rng.Float64())
	}},
}

func (nm *nemesis) act() {
	if !nm.active {
		return
	}
	var enabled []action
	for _, a := range nemesisActions {
		if nm.s.opts.Faults&a.fault != 0 {
			enabled = append(enabled, a)
		}
	}
	if len(enabled) > 0 {
		enabled[nm.s.rng.IntN(len(enabled))].do(nm)
	}
	nm.scheduleNext()
}

func (nm *nemesis) randomHalves() {
	s := nm.s
	ids := append([]uint64(nil), s.ids...)
	s.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	k := 1 + s.rng.IntN(len(ids)-1)
	s.Partition(ids[:k], ids[k:])
}

func (nm *nemesis) isolateLeader() {
	s := nm.s
	for _, id := range s.ids {
		if st, up := s.Status(id); up && st.Role == raft.Leader {
			s.Disconnect(id)
			return
		}
	}
}

func (nm *nemesis) oneWay() {
	s := nm.s
	a := s.ids[s.rng.IntN(len(s.ids))]
	for _, b := range s.ids {
		if b != a && s.rng.IntN(2) == 0 {
			s.BlockLink(a, b)
		}
	}
}

func (nm *nemesis) heal() { nm.s.Heal() }

func (nm *nemesis) crashOne() {
	s := nm.s
	id := s.ids[s.rng.IntN(len(s.ids))]
	if !s.IsUp(id) {
		return
	}
	// (A node the membership nemesis wipes meanwhile is started fresh by
	// AddLearner; the restart below then finds it up and does nothing.)
	s.Crash(id)
	s.schedule(10*time.Millisecond+time.Duration(s.rng.Int64N(int64(2*time.Second))), evRestart, id, func() {
		if nm.active {
			s.Restart(id)
		}
	})
}

// netFault degrades the network for a while, then restores the baseline.
func (nm *nemesis) netFault(change func(*NetOptions)) {
	s := nm.s
	o := s.net.opts
	change(&o)
	s.SetNet(o)
	s.schedule(500*time.Millisecond+time.Duration(s.rng.Int64N(int64(2500*time.Millisecond))), evNemesis, 0, func() {
		if nm.active {
			s.SetNet(nm.base)
		}
	})
}

// stop ends all faults: the network heals, crashed nodes restart, clocks
// agree again.
func (nm *nemesis) stop() {
	s := nm.s
	nm.active = false
	s.Heal()
	s.SetNet(nm.base)
	for _, id := range s.ids {
		s.SetTickSkew(id, 1)
		if s.nodes[id].started {
			s.Restart(id)
		}
	}
}
