package sim

import (
	"errors"
	"fmt"

	"github.com/minikv-go/minikv/raft"
)

// Membership changes and leadership transfers, as an operator would make
// them: through the current leader. The nemesis uses them when the
// "membership" fault is on; lab 5's tests call them directly.

// ErrNoLeader is returned when no live node leads.
var ErrNoLeader = errors.New("sim: no leader")

// Leader returns the live node that leads in the highest term.
func (s *Sim) Leader() (uint64, bool) {
	var best uint64
	var term uint64
	for _, id := range s.ids {
		if st, up := s.Status(id); up && st.Role == raft.Leader && st.Term >= term {
			best, term = id, st.Term
		}
	}
	return best, best != 0
}

func (s *Sim) viaLeader(do func(*node) error) error {
	id, ok := s.Leader()
	if !ok {
		return ErrNoLeader
	}
	n := s.nodes[id]
	var err error
	s.guard(func() {
		if err = do(n); err == nil {
			n.process()
		}
	})
	return err
}

// ErrIDRetired is returned when AddLearner names a node that ran before.
var ErrIDRetired = errors.New("sim: a server's ID is never reused; add a new server")

// AddLearner asks the leader to add node id, which must never have run, as a
// learner, and starts it with an empty disk. IDs are never reused (as in
// etcd): a server that was removed and wiped must not come back under its
// old ID, or it could act on a membership it no longer has — two wiped
// members of the first configuration could even elect each other.
func (s *Sim) AddLearner(id uint64) error {
	n := s.nodes[id]
	if n == nil {
		return fmt.Errorf("sim: no node %d", id)
	}
	if n.started {
		return ErrIDRetired
	}
	err := s.viaLeader(func(l *node) error {
		_, _, err := l.raft.ProposeConfChange(raft.ConfChange{Type: raft.ConfAddLearner, NodeID: id})
		return err
	})
	if err != nil {
		return err
	}
	s.stats.ConfChanges++
	return n.start()
}

// Promote asks the leader to make learner id a voter.
func (s *Sim) Promote(id uint64) error {
	return s.confChange(raft.ConfChange{Type: raft.ConfPromote, NodeID: id})
}

// RemoveMember asks the leader to remove node id (it keeps running, as a
// removed server does until its operator stops it).
func (s *Sim) RemoveMember(id uint64) error {
	return s.confChange(raft.ConfChange{Type: raft.ConfRemove, NodeID: id})
}

func (s *Sim) confChange(cc raft.ConfChange) error {
	err := s.viaLeader(func(l *node) error {
		_, _, err := l.raft.ProposeConfChange(cc)
		return err
	})
	if err == nil {
		s.stats.ConfChanges++
	}
	return err
}

// TransferLeader asks the leader to hand leadership to voter to.
func (s *Sim) TransferLeader(to uint64) error {
	err := s.viaLeader(func(l *node) error { return l.raft.TransferLeadership(to) })
	if err == nil {
		s.stats.Transfers++
	}
	return err
}

// membership is the nemesis's membership fault: add a spare as a learner,
// promote a caught-up learner, remove a member (keeping three voters), or
// transfer leadership — whichever the dice pick and the cluster allows.
func (nm *nemesis) membership() {
	s := nm.s
	lid, ok := s.Leader()
	if !ok {
		return
	}
	lr := s.nodes[lid].raft
	st := lr.Status()
	member := func(id uint64) bool {
		for _, m := range append(append([]uint64(nil), st.Conf.Voters...), st.Conf.Learners...) {
			if m == id {
				return true
			}
		}
		return false
	}
	pick := func(ids []uint64) (uint64, bool) {
		if len(ids) == 0 {
			return 0, false
		}
		return ids[s.rng.IntN(len(ids))], true
	}
	switch s.rng.IntN(4) {
	case 0:
		var outside []uint64
		for _, id := range s.ids {
			if !member(id) && !s.nodes[id].started {
				outside = append(outside, id)
			}
		}
		if id, ok := pick(outside); ok {
			s.AddLearner(id)
		}
	case 1:
		var ready []uint64
		for _, id := range st.Conf.Learners {
			if pr := lr.Progress(id); pr != nil && pr.Match+10 >= st.LastIndex {
				ready = append(ready, id)
			}
		}
		if id, ok := pick(ready); ok {
			s.Promote(id)
		}
	case 2:
		candidates := st.Conf.Learners
		if len(st.Conf.Voters) > 3 {
			candidates = append(append([]uint64(nil), candidates...), st.Conf.Voters...)
		}
		if id, ok := pick(candidates); ok {
			s.RemoveMember(id)
		}
	case 3:
		var others []uint64
		for _, id := range st.Conf.Voters {
			if id != lid {
				others = append(others, id)
			}
		}
		if id, ok := pick(others); ok {
			s.TransferLeader(id)
		}
	}
}
