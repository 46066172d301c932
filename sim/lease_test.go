package sim

import (
	"testing"
	"time"
)

// Lease reads (raft.Config.LeaseReads) skip ReadIndex's heartbeat round and
// trust CheckQuorum's lease instead, which assumes every node's clock ticks
// at nearly the same rate. These tests show the assumption is load-bearing:
// with clocks in step, lease reads stay linearizable; with clocks skewed
// (the skew fault runs clocks at 0.5x-2x), a deposed leader whose clock runs
// slow still believes in its lease and serves a stale read, and porcupine
// catches it.
func leaseRun(seed uint64, faults Faults) Result {
	o := DefaultOptions(seed)
	o.Faults = faults
	o.Raft.LeaseReads = true
	return Run(o, time.Minute)
}

func TestLeaseReadsLinearizableWithClocksInStep(t *testing.T) {
	n := uint64(60)
	if testing.Short() {
		n = 10
	}
	for seed := uint64(1); seed <= n; seed++ {
		if res := leaseRun(seed, FaultPartition|FaultAsymmetric|FaultCrash); res.Violation != nil {
			t.Fatalf("%v\nreplay: minikv sim --seed %d --faults partition,asymmetric,crash --lease-reads", res.Violation, seed)
		}
	}
}

func TestLeaseReadsBreakWhenClocksSkew(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps until it finds a stale lease read")
	}
	for seed := uint64(1); seed <= 600; seed++ {
		if res := leaseRun(seed, FaultPartition|FaultAsymmetric|FaultSkew); res.Violation != nil {
			t.Logf("seed %d: %v (as expected: lease reads assume clocks in step)", seed, res.Violation)
			return
		}
	}
	t.Fatalf("600 seeds of skewed clocks and lease reads found no stale read: the simulation no longer shows why the lease needs bounded drift")
}
