package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/minikv-go/minikv/api"
	"github.com/minikv-go/minikv/api/rest"
	rpcapi "github.com/minikv-go/minikv/api/rpc"
	"github.com/minikv-go/minikv/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serveCommand runs one node until SIGINT or SIGTERM.
func serveCommand(args []string, stdout, stderr io.Writer) int {
	cfg, code := serveConfig(args, stderr)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stderr)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	node, err := server.Open(cfg, reg, log)
	if err != nil {
		fmt.Fprintf(stderr, "minikv serve: %v\n", err)
		return 1
	}
	metrics := api.NewMetrics(reg)
	httpLn, err := net.Listen("tcp", cfg.Listen.HTTP)
	if err != nil {
		node.Close()
		fmt.Fprintf(stderr, "minikv serve: listen.http: %v\n", err)
		return 1
	}
	rpcLn, err := net.Listen("tcp", cfg.Listen.RPC)
	if err != nil {
		httpLn.Close()
		node.Close()
		fmt.Fprintf(stderr, "minikv serve: listen.rpc: %v\n", err)
		return 1
	}
	var restHandler http.Handler = rest.New(node, rest.Options{Gatherer: reg, Metrics: metrics, Logger: log})
	if cfg.Debug.Pprof {
		restHandler = withPprof(restHandler)
		log.Warn("debug.pprof is on: /debug/pprof/ on the REST listener shows the node's internals")
	}
	httpSrv := &http.Server{
		Handler: restHandler,
		// Slow clients must not hold connections forever.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	rpcSrv := rpcapi.NewServer(node, rpcapi.Options{Metrics: metrics, Logger: log})
	go func() {
		if err := httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	go rpcSrv.Serve(rpcLn)
	s3d, s3Addr, err := startS3(node, metrics, log)
	if err != nil {
		httpSrv.Close()
		rpcSrv.Close()
		node.Close()
		fmt.Fprintf(stderr, "minikv serve: listen.s3: %v\n", err)
		return 1
	}

	fmt.Fprintf(stdout, "minikv node %d serving (data in %s, engine %s)\n", cfg.ID, cfg.DataDir, cfg.Engine)
	fmt.Fprintf(stdout, "  REST    http://%s   (health /healthz /readyz, metrics /metrics)\n", httpLn.Addr())
	fmt.Fprintf(stdout, "  RPC     %s\n", rpcLn.Addr())
	fmt.Fprintf(stdout, "  raft    %s\n", cfg.Listen.Raft)
	if s3Addr != nil {
		fmt.Fprintf(stdout, "  S3      http://%s   (access key %s)\n", s3Addr, cfg.S3.AccessKey)
	}
	fmt.Fprintf(stdout, "try:  curl -X PUT --data hello http://%s/v1/kv/greeting && curl http://%s/v1/kv/greeting\n", httpLn.Addr(), httpLn.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-node.Done():
		log.Error("the node stopped", "err", node.Err())
	}
	// Stop accepting, let in-flight requests finish, then close the node
	// (the raft loop, the WAL, the engine).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := s3d.shutdown(ctx); err != nil {
		log.Warn("s3 shutdown", "err", err)
	}
	rpcSrv.Close()
	if err := node.Close(); err != nil {
		fmt.Fprintf(stderr, "minikv serve: closing: %v\n", err)
		return 1
	}
	if node.Err() != nil {
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

// serveConfig builds the configuration: defaults, then the file, then
// MINIKV_* variables, then flags. It returns -1 to go on, or an exit code.
func serveConfig(args []string, stderr io.Writer) (server.Config, int) {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("minikv serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "TOML configuration file (see config.example.toml); flags and MINIKV_* variables override it")
	// Flags for the keys people change most; --set reaches every other one.
	keys := []struct{ flag, key, help string }{
		{"id", "id", "node id (positive, unique in the cluster, never reused)"},
		{"data-dir", "data_dir", "where the node keeps its WAL, snapshots and engine"},
		{"engine", "engine", "storage engine: pebble, bolt or memory (memory keeps nothing across restarts)"},
		{"listen-http", "listen.http", "REST API address (also health and metrics)"},
		{"listen-rpc", "listen.rpc", "net/rpc API address"},
		{"listen-raft", "listen.raft", "Raft transport address"},
		{"join", "cluster.join", "HTTP address of a member of a running cluster to join"},
		{"log-level", "log_level", "debug, info, warn or error"},
		{"log-format", "log_format", "auto (text on a terminal, JSON otherwise), text or json"},
	}
	vals := map[string]*string{}
	for _, k := range keys {
		vals[k.flag] = fs.String(k.flag, "", k.help+" (config key "+k.key+")")
	}
	var sets multiFlag
	fs.Var(&sets, "set", "set any config key, as key=value (e.g. --set raft.snapshot_entries=5000); may repeat")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, 0
		}
		return cfg, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "minikv serve: unexpected argument %q\n", fs.Arg(0))
		return cfg, exitUsage
	}
	if *path != "" {
		if err := server.LoadConfig(*path, &cfg); err != nil {
			fmt.Fprintf(stderr, "minikv serve: %v\n", err)
			return cfg, exitUsage
		}
	}
	if err := server.ApplyEnv(&cfg, os.Environ()); err != nil {
		fmt.Fprintf(stderr, "minikv serve: %v\n", err)
		return cfg, exitUsage
	}
	for _, k := range keys {
		if v := *vals[k.flag]; v != "" {
			if err := cfg.Set(k.key, v); err != nil {
				fmt.Fprintf(stderr, "minikv serve: --%s: %v\n", k.flag, err)
				return cfg, exitUsage
			}
		}
	}
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok {
			fmt.Fprintf(stderr, "minikv serve: --set %q: want key=value\n", s)
			return cfg, exitUsage
		}
		if err := cfg.Set(key, val); err != nil {
			fmt.Fprintf(stderr, "minikv serve: --set: %v\n", err)
			return cfg, exitUsage
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "minikv serve: invalid configuration:\n%v\n", err)
		return cfg, exitUsage
	}
	return cfg, -1
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// newLogger logs text on a terminal and JSON elsewhere (or as configured).
func newLogger(cfg server.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// withPprof serves Go's profiler under /debug/pprof/ and everything else
// with h.
func withPprof(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", h)
	return mux
}
