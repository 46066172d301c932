package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/minikv-go/minikv/bench"
)

// benchCommand runs 'minikv bench': a load of closed-loop clients against
// a minikv cluster's REST API (or an etcd cluster's gateway, to compare),
// with the throughput, the latency quantiles and every error on stdout. A
// run with any failed request exits 1.
func benchCommand(args []string, stdout, stderr io.Writer) int {
	cfg, jsonOut, quiet, code := parseBenchFlags(args, stderr)
	if code >= 0 {
		return code
	}
	if !quiet {
		cfg.Progress = &bench.Progress{W: stderr, Terminal: isTerminal(stderr)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "minikv bench: %v\n", err)
		return 1
	}
	if jsonOut {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "minikv bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else if err := res.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "minikv bench: %v\n", err)
		return 1
	}
	switch {
	case res.Errors() > 0:
		fmt.Fprintf(stderr, "minikv bench: %d requests failed\n", res.Errors())
		return 1
	case !res.OK():
		fmt.Fprintln(stderr, "minikv bench: interrupted")
		return 1
	}
	return 0
}

// parseBenchFlags returns the run's settings, or an exit code >= 0 when
// the command line is bad (or asked for help).
func parseBenchFlags(args []string, stderr io.Writer) (cfg bench.Config, jsonOut, quiet bool, code int) {
	fs := flag.NewFlagSet("minikv bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.String("endpoints", "", "comma-separated base URLs of the nodes' HTTP APIs, e.g. http://127.0.0.1:7100,http://127.0.0.1:7110 (required); client i uses endpoint i mod n")
	target := fs.String("target", "minikv", "the servers' API: minikv (REST /v1/kv) or etcd (the v3 HTTP/JSON gateway, /v3/kv)")
	op := fs.String("op", "put", "the load: put, get (of a preloaded keyspace) or mixed")
	fs.Float64Var(&cfg.ReadRatio, "read-ratio", 0.5, "with --op mixed, the fraction of requests that are reads")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients, each with one request in flight and one keep-alive connection")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long the measured load runs")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "how long the load runs before the measurement starts (not measured)")
	fs.IntVar(&cfg.ValueSize, "value-size", 256, "bytes per value")
	fs.IntVar(&cfg.Keys, "keys", 10000, "keyspace size; get and mixed runs write every key first (the preload, reported apart)")
	fs.BoolVar(&cfg.LeaderOnly, "leader-only", false, "find the leader and send every request there (followers forward writes to it otherwise)")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout; a request that takes longer counts as an error")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "quiet", false, "show no progress on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, false, false, 0
		}
		return cfg, false, false, exitUsage
	}
	cfg.Seed = uint64(time.Now().UnixNano())
	var err error
	cfg.Op, err = bench.ParseOp(*op)
	if err == nil {
		cfg.Target, err = bench.ParseTarget(*target)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, e := range strings.Split(*endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Endpoints = append(cfg.Endpoints, e)
		}
	}
	why := ""
	switch {
	case fs.NArg() > 0:
		why = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case err != nil:
		why = err.Error()
	case len(cfg.Endpoints) == 0:
		why = "--endpoints is required, e.g. --endpoints http://127.0.0.1:7100"
	case cfg.Clients < 1:
		why = fmt.Sprintf("--clients must be at least 1, not %d", cfg.Clients)
	case cfg.Duration <= 0:
		why = fmt.Sprintf("--duration must be positive, not %v", cfg.Duration)
	case cfg.Warmup < 0:
		why = fmt.Sprintf("--warmup must not be negative, not %v", cfg.Warmup)
	case cfg.ValueSize < 0:
		why = fmt.Sprintf("--value-size must not be negative, not %d", cfg.ValueSize)
	case cfg.Keys < 1:
		why = fmt.Sprintf("--keys must be at least 1, not %d", cfg.Keys)
	case cfg.ReadRatio < 0 || cfg.ReadRatio > 1:
		why = fmt.Sprintf("--read-ratio must be between 0 and 1, not %v", cfg.ReadRatio)
	case set["read-ratio"] && cfg.Op != bench.OpMixed:
		why = "--read-ratio applies to --op mixed only"
	case cfg.Timeout < 0:
		why = fmt.Sprintf("--timeout must not be negative, not %v", cfg.Timeout)
	default:
		if err := cfg.Validate(); err != nil { // the endpoints' form, and anything missed above
			why = err.Error()
		}
	}
	if why != "" {
		fmt.Fprintf(stderr, "minikv bench: %s\n", why)
		return cfg, false, false, exitUsage
	}
	return cfg, jsonOut, quiet, -1
}

// isTerminal reports whether w is a terminal, where progress can be one
// line rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
