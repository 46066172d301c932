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
	TargetS3     Target = "s3"     // an S3 API: minikv's listen.s3, or any other
)

// ParseTarget parses minikv, etcd or s3.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetMinikv, TargetEtcd, TargetS3:
		return t, nil
	}
	return "", fmt.Errorf("unknown target %q (want minikv, etcd or s3)", s)
}

// S3Config is how a run against an S3 API signs its requests and where it
// keeps its objects.
type S3Config struct {
	AccessKey string
	SecretKey string
	Region    string // the region requests are signed for
	Bucket    string // created if it does not exist; objects are Bucket/bench-NNNNNNNN
	// SignPayload signs each put's body with its SHA-256 (computed once:
	// every put writes the same value), which the server then checks as
	// the body streams in. Otherwise puts are UNSIGNED-PAYLOAD.
	SignPayload bool
}

// Config is what a run does.
type Config struct {
	Endpoints  []string      // base URLs; client i uses Endpoints[i mod len]
	Target     Target        // the protocol spoken
	S3         S3Config      // with TargetS3
	LeaderOnly bool          // find the leader and send every request there
	Rest       []string      // with TargetS3 and LeaderOnly, where to ask (see FindS3Leader)
	Op         Op            // the load
	ReadRatio  float64       // with OpMixed, the fraction of reads
	Clients    int           // concurrent closed-loop clients
	Duration   time.Duration // the measured period
	Warmup     time.Duration // run before the measured period, not measured
	ValueSize  int           // bytes per value (per object with TargetS3)
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
	case c.ValueSize > MaxValueSize:
		return fmt.Errorf("value size must be at most %s, not %d", FormatSize(MaxValueSize), c.ValueSize)
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
	for _, e := range append(c.Endpoints[:len(c.Endpoints):len(c.Endpoints)], c.Rest...) {
		if _, err := NormalizeEndpoint(e); err != nil {
			return err
		}
	}
	if c.Target != TargetS3 {
		if len(c.Rest) > 0 {
			return errors.New("rest endpoints are for finding the leader of an s3 target")
		}
		return nil
	}
	switch s := c.S3; {
	case s.AccessKey == "":
		return errors.New("s3: no access key")
	case s.SecretKey == "":
		return errors.New("s3: no secret key")
	case s.Region == "":
		return errors.New("s3: no region")
	case strings.Trim(s.Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "":
		return fmt.Errorf("s3: region %q: want lower-case letters, digits and '-'", s.Region)
	case c.LeaderOnly && len(c.Rest) == 0:
		return errors.New("s3: leader-only needs rest endpoints, where the leader can be asked for")
	}
	return CheckBucketName(c.S3.Bucket)
}

// MaxValueSize bounds a value or an object: every client holds the value,
// and a read's answer, in memory.
const MaxValueSize = 1 << 30

// CheckBucketName reports whether name is a bucket name S3 accepts: 3 to
// 63 lower-case letters, digits, '-' and '.', beginning and ending with a
// letter or a digit.
func CheckBucketName(name string) error {
	bad := func(why string) error { return fmt.Errorf("bucket name %q: %s", name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("want 3 to 63 characters")
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '-' || c == '.') && i > 0 && i < len(name)-1:
		default:
			return bad("want lower-case letters, digits, '-' and '.', beginning and ending with a letter or a digit")
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
