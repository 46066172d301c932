package labtest

// Helpers for lab 4 (snapshots and log compaction).
//
// Once nodes compact their logs, a committed index may no longer be in any
// log: it lives on only inside a snapshot. Cluster.NCommitted and
// Cluster.One read log entries, so the snapshot lab runs on a SnapCluster
// instead. It has the same methods, rewritten for compacted logs, and adds
// checks of its own:
//
//   - before every simulated event it runs (Run, One), no server's commit
//     index, applied index or first log index has moved backwards since the
//     server last started: a server that installs a snapshot older than
//     what it already had goes back in time, and its clients with it;
//   - a restarted server's log starts no earlier than it did when the
//     server crashed: a snapshot, once taken or installed, is on disk;
//   - CheckCommands and CheckStateMachines check, at the end of a test, that
//     what was committed is still there: in the logs, and in every server's
//     state machine.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/minikv-go/minikv/sim"
)

// WithSnapshotBytes makes every node snapshot its state machine and compact
// its log once its persisted Raft state passes n bytes
// (sim.Options.SnapshotBytes).
func WithSnapshotBytes(n int) Option {
	return func(o *sim.Options) { o.SnapshotBytes = n }
}

// AppendCmd returns the command that appends v to the simulator's
// replicated state machine, the register of sim/register.go
// (sim.AppendCommand).
//
// The snapshot lab uses these instead of Cmd. The register ignores Cmd's
// "cmd-N" commands, so with them every snapshot would hold the same empty
// state, and the simulator's check that a restored snapshot equals the
// state the log produced at its index (checkSnapshot in sim/invariants.go)
// could never fail. With AppendCmd, the state at index i depends on every
// command up to i, and CheckStateMachines can read it back.
func AppendCmd(v int) []byte { return sim.AppendCommand(uint64(v)) }

// appendedValue returns the value an AppendCmd command appends.
func appendedValue(cmd []byte) (uint64, bool) {
	if len(cmd) > 1 && cmd[0] == sim.AppendCommand(0)[0] {
		if v, n := binary.Uvarint(cmd[1:]); n == len(cmd)-1 {
			return v, true
		}
	}
	return 0, false
}

// describeCmd prints a command for a failure message.
func describeCmd(cmd []byte) string {
	if v, ok := appendedValue(cmd); ok {
		return fmt.Sprintf("append(%d)", v)
	}
	return fmt.Sprintf("%q", cmd)
}

// SnapCluster is a Cluster for the snapshot lab (see the top of this file).
type SnapCluster struct {
	*Cluster
	// marks[id] is the highest commit, applied and first index seen on
	// node id since it last started.
	marks map[uint64]snapMark
	// firstAtCrash[id] is node id's first log index when it last crashed.
	firstAtCrash map[uint64]uint64
	// cmds[index] is the command One saw committed at index.
	cmds map[uint64][]byte
	// last is the value of the last AppendCmd One saw committed.
	last uint64
}

type snapMark struct{ commit, applied, first uint64 }

// NewSnapCluster starts n nodes. Snapshots are on with the simulator's
// default threshold unless an option (WithSnapshotBytes) says otherwise.
func NewSnapCluster(t *T, n int, opts ...Option) *SnapCluster {
	return &SnapCluster{
		Cluster:      NewCluster(t, n, opts...),
		marks:        map[uint64]snapMark{},
		firstAtCrash: map[uint64]uint64{},
		cmds:         map[uint64][]byte{},
	}
}

// FirstIndex returns the first index still in server i's log: 1 if it never
// compacted, its snapshot's index + 1 if it did, 0 while it is down.
func (c *SnapCluster) FirstIndex(i int) uint64 { return c.StatusOf(i).FirstIndex }

// LastIndex returns the last index in server i's log (0 while it is down).
func (c *SnapCluster) LastIndex(i int) uint64 { return c.StatusOf(i).LastIndex }

// watch checks the marks of every server that is up, and raises them.
func (c *SnapCluster) watch() error {
	for i := range c.n {
		id := c.ID(i)
		st, up := c.Status(id)
		if !up {
			delete(c.marks, id)
			continue
		}
		m, seen := c.marks[id]
		switch {
		case !seen:
		case st.Commit < m.commit:
			return fmt.Errorf("server %d's commit index went back from %d to %d (it installed a snapshot older than what it had?)", i, m.commit, st.Commit)
		case st.Applied < m.applied:
			return fmt.Errorf("server %d's applied index went back from %d to %d (it installed a snapshot older than what it had?)", i, m.applied, st.Applied)
		case st.FirstIndex < m.first:
			return fmt.Errorf("server %d's log went back from starting at %d to starting at %d", i, m.first, st.FirstIndex)
		}
		c.marks[id] = snapMark{max(m.commit, st.Commit), max(m.applied, st.Applied), max(m.first, st.FirstIndex)}
	}
	return nil
}

// runUntil runs for at most d of virtual time, or until cond holds, checking
// the marks before every event. It reports whether cond held.
func (c *SnapCluster) runUntil(d time.Duration, cond func() bool) bool {
	c.t.Helper()
	var werr error
	held, err := c.RunUntil(d, func() bool {
		if werr = c.watch(); werr != nil {
			return true
		}
		return cond != nil && cond()
	})
	switch {
	case err != nil:
		c.t.Fatalf("invariant violated: %v", violation(err))
	case werr != nil:
		c.t.Fatalf("%v", werr)
	}
	return held
}

// Run advances virtual time by d, checking the marks before every event.
func (c *SnapCluster) Run(d time.Duration) {
	c.t.Helper()
	end := c.Now() + d
	c.runUntil(d, nil)
	// RunUntil stops after the last event due; let the clock reach end.
	c.Cluster.Run(end - c.Now())
}

// CrashServer crashes server i, remembering where its log started.
func (c *SnapCluster) CrashServer(i int) {
	if st, up := c.Status(c.ID(i)); up {
		c.firstAtCrash[c.ID(i)] = st.FirstIndex
	}
	c.Cluster.CrashServer(i)
	delete(c.marks, c.ID(i))
}

// RestartServer restarts server i from its disk and checks that the
// snapshot it had is still there.
func (c *SnapCluster) RestartServer(i int) {
	c.t.Helper()
	c.Cluster.RestartServer(i)
	if had, got := c.firstAtCrash[c.ID(i)], c.FirstIndex(i); got < had {
		c.t.Fatalf("server %d restarted with its log starting at %d, but before the crash it had compacted it up to %d: its snapshot did not survive the crash", i, got, had-1)
	}
}

// snapOutcome is what the servers' logs say about a proposal.
type snapOutcome int

const (
	undecided    snapOutcome = iota // nobody has committed the index, or everyone compacted past it
	decidedOurs                     // the proposal is committed
	decidedOther                    // another entry is committed at the index: the proposal is lost
)

// decided looks at the servers that have committed index: how many there
// are, and whether the entry they committed there is the proposal (index,
// term) of cmd. A server that compacted index into its snapshot still
// counts; the simulator checked that snapshot against the log.
func (c *SnapCluster) decided(index, term uint64, cmd []byte) (int, snapOutcome) {
	c.t.Helper()
	count, out := 0, undecided
	for i := range c.n {
		st, up := c.Status(c.ID(i))
		if !up || st.Commit < index {
			continue
		}
		count++
		// The log still holds the entry, or (when the snapshot ends exactly
		// there) at least its term. An (index, term) pair names exactly one
		// entry (Log Matching: the simulator checks it on every write).
		t, ok := c.Raft(c.ID(i)).Term(index)
		switch {
		case !ok:
			continue
		case t != term:
			out = decidedOther
			continue
		}
		if index >= st.FirstIndex {
			if got := c.Raft(c.ID(i)).Entries(index, index+1)[0].Data; !bytes.Equal(got, cmd) {
				c.t.Fatalf("server %d committed %s at index %d term %d, but the leader of term %d proposed %s there", i, describeCmd(got), index, t, term, describeCmd(cmd))
			}
		}
		if out == undecided {
			out = decidedOurs
		}
	}
	return count, out
}

// One proposes cmd and waits until expectedServers have committed it,
// trying every connected server in turn as the leader; with retry it
// proposes again if a leader fails. It returns the index cmd committed at.
// This is Cluster.One for compacted logs: a server counts when its commit
// index reached the entry, whether its log still holds it or not.
func (c *SnapCluster) One(cmd []byte, expectedServers int, retry bool) uint64 {
	c.t.Helper()
	deadline := c.Now() + 10*time.Second
	starts := 0
	for c.Now() < deadline {
		index, term, ok := uint64(0), uint64(0), false
		for range c.n {
			starts = (starts + 1) % c.n
			if !c.Connected(starts) {
				continue
			}
			if idx, tm, isLeader := c.Start(starts, cmd); isLeader {
				index, term, ok = idx, tm, true
				break
			}
		}
		if !ok {
			c.Run(50 * time.Millisecond)
			continue
		}
		// Check after every event: a server may commit, apply and compact
		// the entry away in one step.
		var n int
		var out snapOutcome
		c.runUntil(2*time.Second, func() bool {
			n, out = c.decided(index, term, cmd)
			return out == decidedOther || out == decidedOurs && n >= expectedServers
		})
		if out == decidedOurs && n >= expectedServers {
			c.cmds[index] = cmd
			if v, ok := appendedValue(cmd); ok {
				c.last = v
			}
			return index
		}
		if !retry {
			c.t.Fatalf("one(%s) failed to reach agreement: %d servers committed index %d, want %d\n%s", describeCmd(cmd), n, index, expectedServers, c.servers())
		}
	}
	c.t.Fatalf("one(%s) failed to reach agreement within 10s of virtual time\n%s", describeCmd(cmd), c.servers())
	return 0
}

// servers describes every server's log, for a failure message: who is
// behind, and whether the entries it needs are still in anyone's log.
func (c *SnapCluster) servers() string {
	var b strings.Builder
	for i := range c.n {
		st, up := c.Status(c.ID(i))
		fmt.Fprintf(&b, "\tserver %d: ", i)
		switch {
		case !up:
			b.WriteString("down\n")
			continue
		case !c.IsConnected(c.ID(i)):
			b.WriteString("disconnected, ")
		}
		fmt.Fprintf(&b, "%v of term %d, log [%d, %d], committed %d, applied %d\n", st.Role, st.Term, st.FirstIndex, st.LastIndex, st.Commit, st.Applied)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// NCommitted returns how many servers have committed index, and the command
// there (nil when every server that committed it compacted it away and One
// did not see it). Servers whose logs still hold the entry must agree.
func (c *SnapCluster) NCommitted(index uint64) (int, []byte) {
	c.t.Helper()
	count := 0
	cmd, from := c.cmds[index], -1
	for i := range c.n {
		st, up := c.Status(c.ID(i))
		if !up || st.Commit < index {
			continue
		}
		count++
		if index < st.FirstIndex {
			continue
		}
		got := c.Raft(c.ID(i)).Entries(index, index+1)[0].Data
		switch {
		case from < 0 && cmd == nil:
			cmd, from = got, i
		case !bytes.Equal(got, cmd):
			who := "One saw it committed"
			if from >= 0 {
				who = fmt.Sprintf("server %d has it", from)
			}
			c.t.Fatalf("committed values differ at index %d: server %d has %s, but %s as %s", index, i, describeCmd(got), who, describeCmd(cmd))
		}
	}
	return count, cmd
}

// CheckCommands checks that every command One saw committed is still
// committed at its index on every server that is up: in its log, or in the
// snapshot its log starts after. Servers that have not caught up yet (commit
// index below it) are reported.
func (c *SnapCluster) CheckCommands() {
	c.t.Helper()
	for _, index := range slices.Sorted(maps.Keys(c.cmds)) {
		if n, _ := c.NCommitted(index); n < c.upServers() {
			c.t.Fatalf("index %d (%s) is committed on only %d of the %d servers that are up", index, describeCmd(c.cmds[index]), n, c.upServers())
		}
	}
}

// CheckStateMachines reads the register on every server that is up: a
// linearizable read (ReadIndex) that the server answers from its own state
// machine, once that has applied everything committed before the read. Its
// last value must be the last one One committed, and it must hold at least
// as many values as One committed (more if a retried command committed
// twice). A server that restored a snapshot, its own at a restart or its
// leader's, and applied the log after it must end up where a server that
// applied every entry did. Call it right after One, with no commands in
// flight.
func (c *SnapCluster) CheckStateMachines() {
	c.t.Helper()
	want := 0
	for _, cmd := range c.cmds {
		if _, ok := appendedValue(cmd); ok {
			want++
		}
	}
	for i := range c.n {
		if !c.IsUp(c.ID(i)) {
			continue
		}
		// A read whose messages were lost is never answered: try again.
		// (On the unreliable network each of its three hops loses one
		// message in ten, so a few tries in a row can fail.)
		var got sim.RegisterValue
		var err error
		for range 20 {
			if got, err = c.Read(c.ID(i), time.Second); err == nil {
				break
			}
		}
		if err != nil {
			c.t.Fatalf("reading the register on server %d, 20 tries: %v\n%s", i, err, c.servers())
		}
		if got.Last != c.last || got.Len < want {
			c.t.Fatalf("server %d's state machine holds %d values, the last %d; but %d values were committed, the last %d", i, got.Len, got.Last, want, c.last)
		}
	}
}

func (c *SnapCluster) upServers() int {
	n := 0
	for i := range c.n {
		if c.IsUp(c.ID(i)) {
			n++
		}
	}
	return n
}

// Installs returns how many leader snapshots followers installed so far
// (sim.Stats.Installs).
func (c *SnapCluster) Installs() int { return c.Stats().Installs }
