package bench

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Op is the kind of load a run generates.
type Op string

// The operations a run can generate.
const (
	OpPut   Op = "put"   // write random keys
	OpGet   Op = "get"   // read random keys of a preloaded keyspace
	OpMixed Op = "mixed" // reads and writes, ReadRatio of them reads
)

// ParseOp parses put, get or mixed.
func ParseOp(s string) (Op, error) {
	switch op := Op(s); op {
	case OpPut, OpGet, OpMixed:
		return op, nil
	}
	return "", fmt.Errorf("unknown operation %q (want put, get or mixed)", s)
}

// Target is the kind of server a run drives.
type Target string

// The servers a run can drive.
const (
	TargetMinikv Target = "minikv" // minikv's REST API
	TargetEtcd   Target = "etcd"   // etcd v3's HTTP/JSON gateway
)

// ParseTarget parses minikv or etcd.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetMinikv, TargetEtcd:
		return t, nil
	}
	return "", fmt.Errorf("unknown target %q (want minikv or etcd)", s)
}

// Config is what a run does.
type Config struct {
	Endpoints  []string      // base URLs; client i uses Endpoints[i mod len]
	Target     Target        // the protocol spoken
	LeaderOnly bool          // find the leader and send every request there
	Op         Op            // the load
	ReadRatio  float64       // with OpMixed, the fraction of reads
	Clients    int           // concurrent closed-loop clients
	Duration   time.Duration // the measured period
	Warmup     time.Duration // run before the measured period, not measured
	ValueSize  int           // bytes per value
	Keys       int           // keyspace size; reads first write every key
	Timeout    time.Duration // per request; 0 means none
	Seed       uint64        // seeds every client's choice of keys
	Progress   *Progress     // where to show progress; nil shows none
}

// Validate reports the first setting that makes no sense.
func (c *Config) Validate() error {
	switch {
	case len(c.Endpoints) == 0:
		return errors.New("no endpoints")
	case c.Clients < 1:
		return fmt.Errorf("clients must be at least 1, not %d", c.Clients)
	case c.Duration <= 0:
		return fmt.Errorf("duration must be positive, not %v", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("warmup must not be negative, not %v", c.Warmup)
	case c.ValueSize < 0:
		return fmt.Errorf("value size must not be negative, not %d", c.ValueSize)
	case c.Keys < 1:
		return fmt.Errorf("keys must be at least 1, not %d", c.Keys)
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return fmt.Errorf("read ratio must be between 0 and 1, not %v", c.ReadRatio)
	case c.Timeout < 0:
		return fmt.Errorf("timeout must not be negative, not %v", c.Timeout)
	}
	if _, err := ParseOp(string(c.Op)); err != nil {
		return err
	}
	if _, err := ParseTarget(string(c.Target)); err != nil {
		return err
	}
	for _, e := range c.Endpoints {
		if _, err := NormalizeEndpoint(e); err != nil {
			return err
		}
	}
	return nil
}

// preloads reports whether the run writes the keyspace before it starts:
// reads need something to read.
func (c *Config) preloads() bool { return c.Op != OpPut }

// NormalizeEndpoint turns "host:port" or "http://host:port/" into
// "http://host:port", the form requests are built on.
func NormalizeEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("endpoint %q: want http://host:port", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
