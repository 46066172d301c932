package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// Options describe one simulation.
type Options struct {
	Seed  uint64
	Nodes int
	// Spares are extra nodes, not in the first configuration and not
	// started, that membership changes can add (IDs Nodes+1..Nodes+Spares).
	Spares int
	// Raft is the configuration every node starts from; the simulator sets
	// ID, Peers and Rand (a source derived from the seed) per node.
	Raft raft.Config
	Net  NetOptions

	// TickInterval is how much virtual time one raft tick stands for.
	TickInterval time.Duration
	// FsyncLatency is the typical time a simulated fsync takes.
	FsyncLatency time.Duration
	// TearWrites lets a crash keep part of the unsynced tail of a disk.
	TearWrites bool
	// SnapshotBytes makes a node snapshot its state machine and compact its
	// log once its persisted Raft state exceeds this many bytes (0: never).
	SnapshotBytes int
	// SnapshotChunkBytes is the size of the chunks a snapshot is streamed
	// in (0: 1 MiB).
	SnapshotChunkBytes int
	// SendBeforeSync breaks the persistence contract on purpose: nodes send a
	// Ready's messages before its fsync completes. Only for showing, in lab 3,
	// what the contract protects against.
	SendBeforeSync bool

	// Workload is the state machine nodes replicate and clients drive
	// (default: kv).
	Workload Workload
	// Engine is the storage engine the kv state machine runs on: "memory"
	// (volatile: a restarted node rebuilds its state from its Raft snapshot
	// and log) or "durable" (a modelled on-disk engine that keeps, through a
	// crash, what it synced plus a prefix of what it had not).
	Engine string

	// Clients is the number of simulated clients Run starts.
	Clients int
	// ClientTimeout is how long a client waits for an operation before it
	// gives up and records the outcome as unknown.
	ClientTimeout time.Duration
	// ClientDelay is the one-way latency between a client and a node.
	ClientDelay time.Duration

	// Faults the nemesis injects during Run.
	Faults Faults
	// Duration is how long Run lets the nemesis and clients loose; a quiet
	// period to heal and check progress follows.
	Duration time.Duration

	// Trace records every event for the HTML trace view.
	Trace bool
}

// DefaultOptions returns the settings `minikv sim` and the labs start from.
func DefaultOptions(seed uint64) Options {
	return Options{
		Seed:     seed,
		Nodes:    5,
		Workload: WorkloadKV,
		Engine:   EngineMemory,
		Spares:   3,
		Raft: raft.Config{
			ElectionTick: 15, HeartbeatTick: 3,
			PreVote: true, CheckQuorum: true, MaxInflightMsgs: 64,
		},
		Net:           NetOptions{MinDelay: 500 * time.Microsecond, MaxDelay: 3 * time.Millisecond},
		TickInterval:  10 * time.Millisecond,
		FsyncLatency:  time.Millisecond,
		TearWrites:    true,
		SnapshotBytes: 16 << 10,
		// The kv store's snapshots are a few KiB: small chunks make every
		// transfer a real multi-chunk stream. (The labs' register, whose
		// snapshots are a few bytes, uses 4.)
		SnapshotChunkBytes: 256,
		Clients:            3,
		ClientTimeout:      time.Second,
		ClientDelay:        200 * time.Microsecond,
		Duration:           10 * time.Second,
	}
}

// Engines the kv workload can run on.
const (
	EngineMemory  = "memory"
	EngineDurable = "durable"
)

// ParseEngine reads an engine name.
func ParseEngine(s string) (string, error) {
	switch s {
	case EngineMemory, EngineDurable:
		return s, nil
	}
	return "", fmt.Errorf("unknown engine %q (known: memory, durable)", s)
}

// Faults is a set of fault kinds the nemesis may inject.
type Faults uint16

const (
	FaultPartition  Faults = 1 << iota // split the cluster, isolate the leader
	FaultAsymmetric                    // cut links in one direction only
	FaultCrash                         // crash nodes, restart them later
	FaultLoss                          // drop messages
	FaultDup                           // duplicate messages
	FaultReorder                       // hold messages back for long
	FaultSkew                          // nodes' clocks tick at different rates
	FaultMembership                    // add, promote, remove members; transfer leadership

	FaultsNone Faults = 0
	FaultsAll         = FaultPartition | FaultAsymmetric | FaultCrash | FaultLoss | FaultDup | FaultReorder | FaultSkew | FaultMembership
)

var faultNames = []struct {
	f    Faults
	name string
}{
	{FaultPartition, "partition"}, {FaultAsymmetric, "asymmetric"}, {FaultCrash, "crash"},
	{FaultLoss, "loss"}, {FaultDup, "dup"}, {FaultReorder, "reorder"}, {FaultSkew, "skew"},
	{FaultMembership, "membership"},
}

// FaultNames lists the names ParseFaults accepts, besides "all" and "none".
func FaultNames() []string {
	var out []string
	for _, f := range faultNames {
		out = append(out, f.name)
	}
	return out
}

// ParseFaults reads "all", "none" or a comma-separated list of fault names.
func ParseFaults(s string) (Faults, error) {
	switch s {
	case "all":
		return FaultsAll, nil
	case "none", "":
		return FaultsNone, nil
	}
	var fs Faults
	for part := range strings.SplitSeq(s, ",") {
		i := slices.IndexFunc(faultNames, func(f struct {
			f    Faults
			name string
		}) bool {
			return f.name == strings.TrimSpace(part)
		})
		if i < 0 {
			return 0, fmt.Errorf("unknown fault %q (known: all, none, %s)", part, strings.Join(FaultNames(), ", "))
		}
		fs |= faultNames[i].f
	}
	return fs, nil
}

// String is the inverse of ParseFaults.
func (fs Faults) String() string {
	switch fs {
	case FaultsAll:
		return "all"
	case FaultsNone:
		return "none"
	}
	var names []string
	for _, f := range faultNames {
		if fs&f.f != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ",")
}

// ReplayCommand is the exact `minikv sim` command line that reruns o's seed
// (for the options the command line can set).
func (o Options) ReplayCommand() string {
	cmd := fmt.Sprintf("minikv sim --seed %d --nodes %d --clients %d --duration %v --faults %s",
		o.Seed, o.Nodes, o.Clients, o.Duration, o.Faults)
	if o.SendBeforeSync {
		cmd += " --bug send-before-sync"
	}
	if o.Raft.LeaseReads {
		cmd += " --lease-reads"
	}
	if o.Workload != WorkloadKV {
		cmd += " --workload " + string(o.Workload)
	}
	if o.Engine != EngineMemory {
		cmd += " --engine " + o.Engine
	}
	return cmd
}
