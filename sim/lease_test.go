package sim

import (
	"testing"
	"time"
)

// Lease reads (raft.Config.LeaseReads) skip ReadIndex's heartbeat round and
// trust CheckQuorum's lease instead, which assumes every node's clock ticks
// at nearly the same rate. With clocks in step, lease reads stay
// linearizable under partitions and crashes. (Lab 5's
// TestLeaseReadsTrustTheClock shows the other side: a deposed leader whose
// clock runs ten times slow serves a stale read.)
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
