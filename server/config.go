package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minikv-go/minikv/storage"
	"github.com/pelletier/go-toml/v2"
)

// Config is one node's configuration: the TOML file (config.example.toml
// documents every key), then MINIKV_* environment variables, then command
// line flags, each overriding the one before. An unknown key is an error:
// a typo must not silently fall back to a default.
type Config struct {
	ID        uint64 `toml:"id"`
	DataDir   string `toml:"data_dir"`
	Engine    string `toml:"engine"`
	LogLevel  string `toml:"log_level"`
	LogFormat string `toml:"log_format"`

	Listen  Listen        `toml:"listen"`
	Cluster ClusterConfig `toml:"cluster"`
	Raft    RaftConfig    `toml:"raft"`
	Limits  LimitsConfig  `toml:"limits"`
	S3      S3Config      `toml:"s3"`
	Debug   DebugConfig   `toml:"debug"`
	// Advertise are the addresses other members and clients reach this
	// node at, where they differ from Listen (see advertise.go).
	Advertise Advertise `toml:"advertise"`
}

// Advertise are a node's addresses as the others dial them. Empty: the
// listen address.
type Advertise struct {
	HTTP string `toml:"http"` // a URL, http://host:port
	RPC  string `toml:"rpc"`  // host:port
	Raft string `toml:"raft"` // host:port
	S3   string `toml:"s3"`   // a URL, http://host:port
}

// DebugConfig turns on tools for operators chasing a problem.
type DebugConfig struct {
	// Pprof serves Go's profiler (net/http/pprof) under /debug/pprof/ on
	// the REST listener. Off by default: profiles show internals to
	// whoever can reach the port.
	Pprof bool `toml:"pprof"`
}

// S3Config configures the S3 API.
type S3Config struct {
	// AccessKey and SecretKey are the credentials S3 clients sign with.
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
	// Region is the region clients sign for (any name is fine; it must
	// match theirs).
	Region string `toml:"region"`
	// Domain, if set, enables virtual-host style requests:
	// bucket.<domain>.
	Domain string `toml:"domain"`
}

// Listen are the addresses a node listens on.
type Listen struct {
	HTTP string `toml:"http"` // REST API, health, metrics
	RPC  string `toml:"rpc"`  // net/rpc API
	Raft string `toml:"raft"` // Raft transport between nodes
	S3   string `toml:"s3"`   // S3 API ("" = off)
}

// ClusterConfig says which cluster the node belongs to.
type ClusterConfig struct {
	// ID guards against nodes of two clusters talking to each other.
	ID uint64 `toml:"id"`
	// Members is the first configuration: every node of a new cluster is
	// given the same list. Empty: a single-node cluster of this node.
	Members []Member `toml:"members"`
	// Join is the HTTP address of a member of an existing cluster this node
	// asks to be added to (Members is then ignored).
	Join string `toml:"join"`
}

// Member is a node and its addresses.
type Member struct {
	ID   uint64 `toml:"id" json:"id"`
	Raft string `toml:"raft" json:"raft"`
	HTTP string `toml:"http" json:"http"`
	RPC  string `toml:"rpc" json:"rpc"`
	S3   string `toml:"s3" json:"s3,omitempty"`
}

// RaftConfig tunes consensus.
type RaftConfig struct {
	Tick            Duration `toml:"tick"`
	ElectionTicks   int      `toml:"election_ticks"`
	HeartbeatTicks  int      `toml:"heartbeat_ticks"`
	SnapshotEntries uint64   `toml:"snapshot_entries"`
	SnapshotBytes   uint64   `toml:"snapshot_bytes"`
}

// LimitsConfig bounds requests.
type LimitsConfig struct {
	MaxKeyBytes     int      `toml:"max_key_bytes"`
	MaxValueBytes   int      `toml:"max_value_bytes"`
	MaxRequestBytes int64    `toml:"max_request_bytes"`
	RequestTimeout  Duration `toml:"request_timeout"`
}

// Duration is a time.Duration written as "150ms" in TOML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// The S3 credentials of an unconfigured node: fine on a laptop, and logged
// as a warning at start-up, because anyone who can reach the port knows them.
const (
	DefaultS3AccessKey = "minikv"
	DefaultS3SecretKey = "minikv-secret-key"
)

// DefaultConfig is what a node runs with when nothing is configured: a
// single-node cluster on loopback, data under ./data, the pebble engine
// (the fastest durable engine in the storage benchmarks, docs/storage.md).
func DefaultConfig() Config {
	return Config{
		ID:        1,
		DataDir:   "./data",
		Engine:    storage.KindPebble,
		LogLevel:  "info",
		LogFormat: "auto",
		Listen:    Listen{HTTP: "127.0.0.1:7070", RPC: "127.0.0.1:7071", Raft: "127.0.0.1:7072", S3: "127.0.0.1:9000"},
		Cluster:   ClusterConfig{ID: 1},
		Raft: RaftConfig{Tick: Duration(50 * time.Millisecond), ElectionTicks: 10, HeartbeatTicks: 1,
			SnapshotEntries: 10000, SnapshotBytes: 64 << 20},
		Limits: LimitsConfig{MaxKeyBytes: 4096, MaxValueBytes: 1 << 20, MaxRequestBytes: 8 << 20,
			RequestTimeout: Duration(5 * time.Second)},
		S3: S3Config{AccessKey: DefaultS3AccessKey, SecretKey: DefaultS3SecretKey, Region: "us-east-1"},
	}
}

// LoadConfig reads a TOML file over the defaults. An unknown key is an
// error naming it.
func LoadConfig(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			return fmt.Errorf("config %s: unknown key(s):\n%s", path, sm.String())
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("config %s:%d:%d: %v", path, row, col, de)
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// envPrefix starts the environment variables that override the file:
// MINIKV_DATA_DIR, MINIKV_LISTEN_HTTP, MINIKV_RAFT_TICK, ...
const envPrefix = "MINIKV_"

// clientVariables are MINIKV_* variables the command line tools and the
// tests read, not the server: the same shell (or CI job) may set both.
var clientVariables = map[string]bool{"MINIKV_ENDPOINTS": true, "MINIKV_REQUIRE_S3_CLIENTS": true,
	"MINIKV_EXERCISE_CHECK": true, "MINIKV_KNOWN_BUGS": true}

// ApplyEnv overrides cfg with MINIKV_* variables from environ (KEY=VALUE
// strings). The name of a key is its TOML path in upper case, dots as
// underscores. An unknown MINIKV_ variable is an error.
func ApplyEnv(cfg *Config, environ []string) error {
	fields := settable(cfg)
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		if clientVariables[name] {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, envPrefix))
		f, ok := fields[key]
		if !ok {
			return fmt.Errorf("environment: unknown variable %s (known: %s)", name, strings.Join(envNames(fields), ", "))
		}
		if err := f.set(val); err != nil {
			return fmt.Errorf("environment: %s: %w", name, err)
		}
	}
	return nil
}

// Set sets one key by its TOML path ("listen.http"), for flags.
func (cfg *Config) Set(key, val string) error {
	f, ok := settable(cfg)[strings.ReplaceAll(key, ".", "_")]
	if !ok {
		return fmt.Errorf("unknown config key %q", key)
	}
	if err := f.set(val); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

type field struct{ v reflect.Value }

func (f field) set(s string) error {
	switch p := f.v.Addr().Interface().(type) {
	case *string:
		*p = s
	case *uint64:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		*p = v
	case *int64:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		*p = v
	case *bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		*p = v
	case *Duration:
		return p.UnmarshalText([]byte(s))
	default:
		return fmt.Errorf("cannot be set from a string")
	}
	return nil
}

// settable maps every scalar key ("listen_http") to its field.
func settable(cfg *Config) map[string]field {
	out := map[string]field{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			name := t.Field(i).Tag.Get("toml")
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct {
				walk(prefix+name+"_", fv)
				continue
			}
			if fv.Kind() == reflect.Slice {
				continue // cluster.members: file only
			}
			out[prefix+name] = field{fv}
		}
	}
	walk("", reflect.ValueOf(cfg).Elem())
	return out
}

func envNames(fields map[string]field) []string {
	var names []string
	for k := range fields {
		names = append(names, envPrefix+strings.ToUpper(k))
	}
	slices.Sort(names)
	return names
}

// Validate checks the configuration and fills in what follows from the
// rest: the single-node cluster when no members are given.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.ID == 0 {
		bad("id must be a positive node id")
	}
	if cfg.DataDir == "" {
		bad("data_dir must be set")
	}
	if !slices.Contains(storage.Kinds(), cfg.Engine) {
		bad("engine %q is not one of %s", cfg.Engine, strings.Join(storage.Kinds(), ", "))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.LogLevel) {
		bad("log_level %q is not one of debug, info, warn, error", cfg.LogLevel)
	}
	if !slices.Contains([]string{"auto", "text", "json"}, cfg.LogFormat) {
		bad("log_format %q is not one of auto, text, json", cfg.LogFormat)
	}
	for name, addr := range map[string]string{"listen.http": cfg.Listen.HTTP, "listen.rpc": cfg.Listen.RPC, "listen.raft": cfg.Listen.Raft, "listen.s3": cfg.Listen.S3} {
		if name == "listen.s3" && addr == "" {
			continue // the S3 API is off
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: %v", name, addr, err)
		}
	}
	r := cfg.Raft
	if r.Tick <= 0 || r.HeartbeatTicks <= 0 || r.ElectionTicks <= 2*r.HeartbeatTicks {
		bad("raft: need tick > 0, heartbeat_ticks > 0 and election_ticks > 2 × heartbeat_ticks (got %v, %d, %d)",
			time.Duration(r.Tick), r.HeartbeatTicks, r.ElectionTicks)
	}
	if r.SnapshotEntries == 0 || r.SnapshotBytes == 0 {
		bad("raft.snapshot_entries and raft.snapshot_bytes must be positive")
	}
	l := cfg.Limits
	if l.MaxKeyBytes <= 0 || l.MaxValueBytes <= 0 || l.MaxRequestBytes <= 0 || l.RequestTimeout <= 0 {
		bad("limits must all be positive")
	}
	if cfg.S3.AccessKey == "" || len(cfg.S3.SecretKey) < 8 || cfg.S3.Region == "" {
		bad("s3: access_key and region must be set, and secret_key be at least 8 characters")
	}
	cfg.checkAdvertised(bad)
	if cfg.Cluster.Join == "" {
		if len(cfg.Cluster.Members) == 0 {
			cfg.Cluster.Members = []Member{cfg.self()}
		}
		seen := map[uint64]bool{}
		found := false
		for _, m := range cfg.Cluster.Members {
			if m.ID == 0 || seen[m.ID] {
				bad("cluster.members: ids must be positive and distinct (got %d twice or 0)", m.ID)
			}
			seen[m.ID] = true
			if m.Raft == "" {
				bad("cluster.members: member %d has no raft address", m.ID)
			}
			found = found || m.ID == cfg.ID
		}
		if !found {
			bad("cluster.members does not list this node (id %d); to add a node to a running cluster use cluster.join", cfg.ID)
		}
	}
	return errors.Join(errs...)
}
