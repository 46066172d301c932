package runner

import (
	"time"

	"github.com/minikv-go/minikv/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runner's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	Term          prometheus.Gauge
	IsLeader      prometheus.Gauge
	CommitIndex   prometheus.Gauge
	AppliedIndex  prometheus.Gauge
	LeaderChanges prometheus.Counter
	Proposals     prometheus.Counter
	MessagesSent  *prometheus.CounterVec
	FsyncSeconds  prometheus.Histogram
	SnapsTaken    prometheus.Counter
	SnapBytes     prometheus.Histogram
	SnapsInstall  prometheus.Counter

	lastLead uint64
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Term:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "minikv_raft_term", Help: "Current Raft term."}),
		IsLeader:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "minikv_raft_is_leader", Help: "1 if this node is the Raft leader."}),
		CommitIndex:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "minikv_raft_commit_index", Help: "Highest log index known committed."}),
		AppliedIndex:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "minikv_raft_applied_index", Help: "Highest log index applied to the state machine."}),
		LeaderChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "minikv_raft_leader_changes_total", Help: "Times this node saw the leader change."}),
		Proposals:     prometheus.NewCounter(prometheus.CounterOpts{Name: "minikv_raft_proposals_total", Help: "Entries proposed through this node while it led."}),
		MessagesSent:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minikv_raft_messages_sent_total", Help: "Raft messages handed to the transport, by type."}, []string{"type"}),
		FsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "minikv_wal_fsync_seconds", Help: "Latency of WAL writes that fsync.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14)}),
		SnapsTaken: prometheus.NewCounter(prometheus.CounterOpts{Name: "minikv_snapshots_taken_total", Help: "Snapshots of the state machine taken (on a durable engine, a kept view; see minikv_snapshot_bytes for files written)."}),
		SnapBytes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "minikv_snapshot_bytes", Help: "Size of the snapshot files written (on a durable engine, only for followers that need one).",
			Buckets: prometheus.ExponentialBuckets(1<<10, 4, 12)}),
		SnapsInstall: prometheus.NewCounter(prometheus.CounterOpts{Name: "minikv_snapshots_installed_total", Help: "Snapshots received from a leader and installed."}),
	}
	reg.MustRegister(m.Term, m.IsLeader, m.CommitIndex, m.AppliedIndex, m.LeaderChanges, m.Proposals,
		m.MessagesSent, m.FsyncSeconds, m.SnapsTaken, m.SnapBytes, m.SnapsInstall)
	return m
}

func (m *Metrics) status(st raft.Status) {
	if m == nil {
		return
	}
	m.Term.Set(float64(st.Term))
	if st.Role == raft.Leader {
		m.IsLeader.Set(1)
	} else {
		m.IsLeader.Set(0)
	}
	m.CommitIndex.Set(float64(st.Commit))
	m.AppliedIndex.Set(float64(st.Applied))
	if st.Lead != m.lastLead {
		m.lastLead = st.Lead
		m.LeaderChanges.Inc()
	}
}

func (m *Metrics) proposal() {
	if m != nil {
		m.Proposals.Inc()
	}
}

func (m *Metrics) sent(msgs []raft.Message) {
	if m == nil {
		return
	}
	for _, msg := range msgs {
		m.MessagesSent.WithLabelValues(msg.Type.String()).Inc()
	}
}

func (m *Metrics) fsync(d time.Duration) {
	if m != nil {
		m.FsyncSeconds.Observe(d.Seconds())
	}
}

func (m *Metrics) snapshotTaken() {
	if m != nil {
		m.SnapsTaken.Inc()
	}
}

func (m *Metrics) snapshotFileWritten(size int64) {
	if m != nil {
		m.SnapBytes.Observe(float64(size))
	}
}

func (m *Metrics) snapshotInstalled() {
	if m != nil {
		m.SnapsInstall.Inc()
	}
}
