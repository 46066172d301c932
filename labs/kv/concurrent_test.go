package kvlab

import (
	"testing"
	"time"

	"github.com/minikv-go/minikv/labs/labtest"
	"github.com/minikv-go/minikv/sim"
)

// TestConcurrent: five autonomous clients and three clerks on a healthy
// cluster.
func TestConcurrent(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		genericTest(t, config{servers: 5, clients: 5, clerks: 3, rounds: 3, roundTime: 2 * time.Second, minOps: 1000})
	})
}

// TestUnreliable: the same on a network that loses 10% of messages,
// duplicates 5% and delays them by up to 27 ms.
func TestUnreliable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		genericTest(t, config{servers: 5, clients: 5, clerks: 3, rounds: 3, roundTime: 2 * time.Second, unreliable: true, minOps: 500})
	})
}

// TestManyPartitionsManyClients: fifteen autonomous clients and five
// clerks while the servers are split into two random groups every few
// election timeouts.
func TestManyPartitionsManyClients(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		genericTest(t, config{servers: 5, clients: 15, clerks: 5, rounds: 3, roundTime: 3 * time.Second, partitions: true, minOps: 500})
	})
}

// TestPersistConcurrent: after every round all the servers crash at once
// and restart, on each of the simulator's two engines. On the memory
// engine a server rebuilds its state by applying its log again; on the
// durable engine it reopens the state it synced and applies only what came
// after.
func TestPersistConcurrent(t *testing.T) {
	for _, engine := range []string{sim.EngineMemory, sim.EngineDurable} {
		t.Run(engine, func(t *testing.T) {
			labtest.ForSeeds(t, 5, func(t *labtest.T) {
				genericTest(t, config{servers: 5, clients: 5, clerks: 3, rounds: 3, roundTime: 2 * time.Second, crash: true, engine: engine, minOps: 500})
			})
		})
	}
}

// TestPersistPartitionUnreliableLinearizable: partitions during each round,
// an unreliable network, and every server crashing after each round.
func TestPersistPartitionUnreliableLinearizable(t *testing.T) {
	labtest.ForSeeds(t, 10, func(t *labtest.T) {
		genericTest(t, config{servers: 5, clients: 10, clerks: 3, rounds: 3, roundTime: 3 * time.Second, unreliable: true, crash: true, partitions: true, minOps: 300})
	})
}
