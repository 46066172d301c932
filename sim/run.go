package sim

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// Result is what one autonomous run found.
type Result struct {
	Seed      uint64
	Digest    string
	Stats     Stats
	SimTime   time.Duration
	Messages  int
	ClientOps int // operations with a known outcome
	// Violation is the first broken invariant, non-linearizable history or
	// loss of liveness after the faults stopped; nil if the run was clean.
	Violation error
	// Linearizable is porcupine's verdict on the clients' history.
	Linearizable porcupine.CheckResult
	// History, Model and Info allow porcupine.Visualize on a failing run.
	History []porcupine.Operation
	Model   porcupine.Model
	Info    porcupine.LinearizationInfo
	Trace   *Trace
}

// HealTimeout is how long, after the faults stop, a cluster has to complete
// a client operation before the run counts as stuck.
const HealTimeout = 10 * time.Second

// Run runs one autonomous simulation: clients and the nemesis for
// opts.Duration, then a quiet period in which every fault is healed and the
// cluster must make progress again, then the linearizability check.
// checkTimeout bounds porcupine's search (a wall-clock bound, so it is kept
// generous: an inconclusive check is reported, never taken as a pass).
func Run(opts Options, checkTimeout time.Duration) Result {
	s := New(opts)
	s.StartClients(opts.Clients)
	nm := s.startNemesis()
	s.RunFor(opts.Duration)

	if s.violation == nil {
		nm.stop()
		okBefore, _ := s.ClientOps()
		progressed, _ := s.RunUntil(HealTimeout, func() bool {
			ok, _ := s.ClientOps()
			return ok > okBefore
		})
		if !progressed && s.violation == nil && opts.Clients > 0 {
			s.fail(fmt.Errorf("liveness: no client operation completed within %v after all faults healed", HealTimeout))
		}
		s.StopClients()
		s.RunFor(opts.ClientTimeout + 100*time.Millisecond)
	}
	res := Result{Seed: opts.Seed, Stats: s.stats, SimTime: s.now, Messages: s.net.sent, Model: s.Model()}
	res.ClientOps, _ = s.ClientOps()
	if lost := s.LostAcknowledged(); s.violation == nil && len(lost) > 0 {
		s.fail(fmt.Errorf("durability: %d acknowledged writes are no longer in the committed history, e.g. %s", len(lost), lost[0]))
	}
	if s.violation == nil && len(s.History()) > 0 {
		res.Linearizable, res.Info = s.CheckLinearizable(checkTimeout)
		res.History = s.History()
		switch res.Linearizable {
		case porcupine.Illegal:
			s.fail(fmt.Errorf("linearizability: the clients' history of %d operations is not linearizable", len(res.History)))
		case porcupine.Unknown:
			s.fail(fmt.Errorf("linearizability: check inconclusive after %v (%d operations)", checkTimeout, len(res.History)))
		}
	}
	res.Violation = s.violation
	res.Digest = s.Digest()
	res.Trace = s.Trace() // after the checks, so their verdict is in it
	return res
}
