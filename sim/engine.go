package sim

import (
	"math/rand/v2"

	"github.com/minikv-go/minikv/storage"
)

// simEngine models a durable storage engine (pebble, bolt) on a simulated
// disk. Writes applied without sync are visible at once but not yet
// durable; a crash keeps everything up to the last sync, plus — since a real
// engine writes its own log in order and may have flushed part of it — a
// prefix of the writes that followed. It never loses a synced write, and
// never keeps a later write without the earlier ones.
//
// The memory engine's O(1) snapshots make this cheap: the engine remembers
// its state after the last sync and after each unsynced write.
type simEngine struct {
	*storage.Memory                    // the live state: what reads see
	synced          storage.Snapshot   // the state as of the last sync
	unsynced        []storage.Snapshot // the state after each later write
}

func newSimEngine() *simEngine {
	m := storage.NewMemory()
	snap, _ := m.Snapshot() // cannot fail on an open engine
	return &simEngine{Memory: m, synced: snap}
}

// Apply implements storage.Engine.
func (e *simEngine) Apply(b *storage.Batch, sync bool) error {
	if err := e.Memory.Apply(b, false); err != nil {
		return err
	}
	snap, err := e.Memory.Snapshot()
	if err != nil {
		return err
	}
	e.unsynced = append(e.unsynced, snap)
	if sync {
		e.sync()
	}
	return nil
}

// sync makes every write so far durable.
func (e *simEngine) sync() {
	if n := len(e.unsynced); n > 0 {
		e.synced = e.unsynced[n-1]
		e.unsynced = nil
	}
}

// unsyncedWrites is how many applied writes a crash could lose.
func (e *simEngine) unsyncedWrites() int { return len(e.unsynced) }

// crash rolls the engine back to what survives a power cut: the synced
// state, and with tear, a random prefix of the unsynced writes.
func (e *simEngine) crash(rng *rand.Rand, tear bool) {
	state := e.synced
	if k := len(e.unsynced); tear && k > 0 {
		if keep := rng.IntN(k + 1); keep > 0 {
			state = e.unsynced[keep-1]
		}
	}
	m, err := storage.NewMemoryFrom(state)
	if err != nil {
		panic(err) // the engine never closes its own snapshots
	}
	e.Memory, e.synced, e.unsynced = m, state, nil
}
