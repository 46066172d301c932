package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the result as a short table:
//
//	op put  clients 64  value 256 B  duration 10s  endpoints 3
//	throughput 12,345 ops/s  3.01 MiB/s  (123,456 ops in 10.0s)  errors 0
//	latency   p50 1.20ms  p90 2.10ms  p99 5.30ms  p99.9 12.1ms  max 40.2ms  mean 1.41ms
//
// with the preload and warmup before it when there were any, a latency
// line per operation for a mixed load, and every kind of error after it.
// The data rate counts the values written and read (an S3 run's objects),
// not the protocol's own bytes.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	if p := r.Preload; p != nil {
		keys := group(int64(c.Keys))
		if p.Ops != int64(c.Keys) { // errors, or an interrupt
			keys = group(p.Ops) + " of " + keys
		}
		fmt.Fprintf(&b, "preload   %s keys in %s  %s ops/s  %s  errors %s\n",
			keys, seconds(p.Elapsed), group(int64(p.Throughput()+0.5)), quantiles(p.Latency, false), group(p.Errors.Total()))
	}
	if p := r.Warmup; p != nil {
		fmt.Fprintf(&b, "warmup    %s  %s ops  errors %s  (not measured)\n", seconds(p.Elapsed), group(p.Ops), group(p.Errors.Total()))
	}
	b.WriteString(r.header() + "\n")
	switch p := r.Run; {
	case p == nil && r.Interrupted:
		b.WriteString("interrupted before the measured period\n")
	case p == nil:
		b.WriteString("not run: the preload failed\n")
	default:
		if r.Interrupted {
			fmt.Fprintf(&b, "interrupted after %s: the figures cover only that\n", seconds(p.Elapsed))
		}
		fmt.Fprintf(&b, "throughput %s ops/s  %s  (%s ops in %s)  errors %s\n", group(int64(p.Throughput()+0.5)),
			mibPerSecond(p.Throughput()*float64(c.ValueSize)), group(p.Ops), seconds(p.Elapsed), group(p.Errors.Total()))
		fmt.Fprintf(&b, "latency   %s\n", quantiles(p.Latency, true))
		if c.Op == OpMixed {
			fmt.Fprintf(&b, "  get     %s\n", quantiles(p.Gets, true))
			fmt.Fprintf(&b, "  put     %s\n", quantiles(p.Puts, true))
		}
	}
	for _, p := range []struct {
		name  string
		phase *Phase
	}{{"preload", r.Preload}, {"warmup", r.Warmup}, {"run", r.Run}} {
		if p.phase == nil || p.phase.Errors.Total() == 0 {
			continue
		}
		fmt.Fprintf(&b, "errors in the %s: %s\n", p.name, group(p.phase.Errors.Total()))
		for _, k := range p.phase.Errors.Kinds() {
			fmt.Fprintf(&b, "  %-28s %10s  e.g. %s\n", k.Kind, group(k.Count), k.Example)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Result) header() string {
	c := r.Config
	size := "value "
	if c.Target == TargetS3 {
		size = "object "
	}
	parts := []string{
		"op " + string(c.Op),
		fmt.Sprintf("clients %d", c.Clients),
		size + FormatSize(int64(c.ValueSize)),
		"duration " + c.Duration.String(),
		fmt.Sprintf("endpoints %d", len(c.Endpoints)),
	}
	if c.Op == OpMixed {
		parts = append(parts, fmt.Sprintf("reads %.0f%%", c.ReadRatio*100))
	}
	parts = append(parts, "keys "+group(int64(c.Keys)))
	if c.LeaderOnly {
		parts = append(parts, "leader-only "+r.Endpoints[0])
	}
	parts = append(parts, "target "+string(c.Target))
	if c.Target == TargetS3 {
		parts = append(parts, "bucket "+c.S3.Bucket)
		if c.S3.SignPayload {
			parts = append(parts, "payload signed")
		}
	}
	parts = append(parts, "connections "+group(r.Connections))
	return strings.Join(parts, "  ")
}

// quantiles writes p50 and p99, or with full set p50 to max and the mean.
func quantiles(h *Histogram, full bool) string {
	if h == nil || h.Count() == 0 {
		return "no successful requests"
	}
	if !full {
		return fmt.Sprintf("p50 %s  p99 %s", latency(h.Quantile(0.5)), latency(h.Quantile(0.99)))
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s",
		latency(h.Quantile(0.5)), latency(h.Quantile(0.9)), latency(h.Quantile(0.99)),
		latency(h.Quantile(0.999)), latency(h.Max()), latency(h.Mean()))
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// jsonResult is the JSON form of a Result; durations are in seconds and
// latencies in milliseconds.
type jsonResult struct {
	Target      Target     `json:"target"`
	S3          *jsonS3    `json:"s3,omitempty"`
	Op          Op         `json:"op"`
	Clients     int        `json:"clients"`
	ValueSize   int        `json:"value_size"`
	Keys        int        `json:"keys"`
	ReadRatio   *float64   `json:"read_ratio,omitempty"`
	Duration    float64    `json:"duration_s"`
	WarmupTime  float64    `json:"warmup_s"`
	Endpoints   []string   `json:"endpoints"`
	LeaderOnly  bool       `json:"leader_only"`
	Connections int64      `json:"connections"`
	OK          bool       `json:"ok"`
	Interrupted bool       `json:"interrupted"`
	Errors      int64      `json:"errors"`
	Preload     *jsonPhase `json:"preload,omitempty"`
	Warmup      *jsonPhase `json:"warmup,omitempty"`
	Run         *jsonPhase `json:"run,omitempty"`
}

// jsonS3 is how an S3 run signed and where it wrote; never the secret.
type jsonS3 struct {
	Bucket      string `json:"bucket"`
	Region      string `json:"region"`
	AccessKey   string `json:"access_key"`
	SignPayload bool   `json:"sign_payload"`
}

type jsonPhase struct {
	Elapsed    float64      `json:"elapsed_s"`
	Ops        int64        `json:"ops"`
	Throughput float64      `json:"ops_per_s"`
	BytesPerS  float64      `json:"bytes_per_s"` // of values written and read
	Errors     int64        `json:"errors"`
	ErrorKinds []ErrorKind  `json:"errors_by_kind"`
	Latency    *jsonLatency `json:"latency_ms,omitempty"`
	Puts       *jsonLatency `json:"put_latency_ms,omitempty"`
	Gets       *jsonLatency `json:"get_latency_ms,omitempty"`
}

type jsonLatency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// MarshalJSON writes the result for scripts: what ran, and per phase the
// throughput, the latency quantiles in milliseconds and the errors by kind.
func (r *Result) MarshalJSON() ([]byte, error) {
	c := r.Config
	j := jsonResult{
		Target: c.Target, Op: c.Op, Clients: c.Clients, ValueSize: c.ValueSize, Keys: c.Keys,
		Duration: c.Duration.Seconds(), WarmupTime: c.Warmup.Seconds(),
		Endpoints: r.Endpoints, LeaderOnly: c.LeaderOnly, Connections: r.Connections,
		OK: r.OK(), Interrupted: r.Interrupted, Errors: r.Errors(),
	}
	if c.Op == OpMixed {
		j.ReadRatio = &c.ReadRatio
	}
	if c.Target == TargetS3 {
		j.S3 = &jsonS3{Bucket: c.S3.Bucket, Region: c.S3.Region, AccessKey: c.S3.AccessKey, SignPayload: c.S3.SignPayload}
	}
	j.Preload, j.Warmup, j.Run = phaseJSON(r.Preload, c.ValueSize), phaseJSON(r.Warmup, c.ValueSize), phaseJSON(r.Run, c.ValueSize)
	return json.Marshal(j)
}

func phaseJSON(p *Phase, valueSize int) *jsonPhase {
	if p == nil {
		return nil
	}
	return &jsonPhase{
		Elapsed: p.Elapsed.Seconds(), Ops: p.Ops, Throughput: p.Throughput(), BytesPerS: p.Throughput() * float64(valueSize),
		Errors: p.Errors.Total(), ErrorKinds: p.Errors.Kinds(),
		Latency: latencyJSON(p.Latency), Puts: latencyJSON(p.Puts), Gets: latencyJSON(p.Gets),
	}
}

func latencyJSON(h *Histogram) *jsonLatency {
	if h == nil {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &jsonLatency{
		Count: h.Count(),
		P50:   ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)),
		Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}
