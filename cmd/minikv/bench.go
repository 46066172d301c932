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
// or with --s3 against an S3 API, with the throughput, the latency
// quantiles and every error on stdout. A run with any failed request exits
// 1.
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

// s3KeyspaceBytes is what the keyspace of an S3 run holds by default:
// --keys is 10,000 objects or as many as fit in it, at least 16, so that a
// get run's preload of 16 MiB objects does not write 160 GiB.
const s3KeyspaceBytes = 256 << 20

// parseBenchFlags returns the run's settings, or an exit code >= 0 when
// the command line is bad (or asked for help).
func parseBenchFlags(args []string, stderr io.Writer) (cfg bench.Config, jsonOut, quiet bool, code int) {
	fs := flag.NewFlagSet("minikv bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.String("endpoints", "", "comma-separated base URLs of the nodes' HTTP APIs (with --s3, their S3 APIs), e.g. http://127.0.0.1:7100,http://127.0.0.1:7110 (required); client i uses endpoint i mod n")
	target := fs.String("target", "minikv", "the servers' API: minikv (REST /v1/kv), etcd (the v3 HTTP/JSON gateway, /v3/kv) or s3 (the same as --s3)")
	useS3 := fs.Bool("s3", false, "drive an S3 API: PUT and GET of objects in --bucket, signed with AWS Signature V4")
	op := fs.String("op", "put", "the load: put, get (of a preloaded keyspace) or mixed")
	fs.Float64Var(&cfg.ReadRatio, "read-ratio", 0.5, "with --op mixed, the fraction of requests that are reads")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients, each with one request in flight and one keep-alive connection")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long the measured load runs")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "how long the load runs before the measurement starts (not measured)")
	fs.IntVar(&cfg.ValueSize, "value-size", 256, "bytes per value (not with --s3: see --object-size)")
	objectSize := fs.String("object-size", "64KiB", "with --s3, bytes per object, with an optional unit B, KiB, MiB or GiB: 4KiB, 64KiB, 1MiB, 16MiB")
	fs.IntVar(&cfg.Keys, "keys", 10000, "keyspace size; get and mixed runs write every key first (the preload, reported apart); with --s3 the default is 10000 or as many objects as fit in 256 MiB, at least 16")
	fs.BoolVar(&cfg.LeaderOnly, "leader-only", false, "find the leader and send every request there (followers forward writes to it otherwise); with --s3 it needs --rest")
	rest := fs.String("rest", "", "with --s3 --leader-only, comma-separated base URLs of the nodes' REST APIs, asked who leads (GET /v1/cluster): the S3 address the leader's entry names is used, or else the --endpoints entry at the leader's position in --rest")
	fs.StringVar(&cfg.S3.AccessKey, "access-key", "", "with --s3, the access key to sign with (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&cfg.S3.SecretKey, "secret-key", "", "with --s3, the secret key to sign with (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&cfg.S3.Region, "region", "us-east-1", "with --s3, the region requests are signed for")
	fs.StringVar(&cfg.S3.Bucket, "bucket", "minikv-bench", "with --s3, the bucket the objects go to, created if it does not exist")
	fs.BoolVar(&cfg.S3.SignPayload, "sign-payload", false, "with --s3, sign each put's body with its SHA-256, which the server checks, instead of UNSIGNED-PAYLOAD")
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
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	cfg.Op, err = bench.ParseOp(*op)
	if err == nil {
		cfg.Target, err = bench.ParseTarget(*target)
	}
	if err == nil && *useS3 {
		if set["target"] && cfg.Target != bench.TargetS3 {
			err = fmt.Errorf("--s3 and --target %s disagree", cfg.Target)
		}
		cfg.Target = bench.TargetS3
	}
	s3 := cfg.Target == bench.TargetS3
	cfg.Endpoints = splitList(*endpoints)
	cfg.Rest = splitList(*rest)
	if s3 {
		if cfg.S3.AccessKey == "" {
			cfg.S3.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
		}
		if cfg.S3.SecretKey == "" {
			cfg.S3.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		}
	}
	var size int64
	if err == nil && s3 {
		if size, err = bench.ParseSize(*objectSize); err != nil {
			err = fmt.Errorf("--object-size: %v", err)
		} else if size > bench.MaxValueSize {
			err = fmt.Errorf("--object-size must be at most %s, not %s", bench.FormatSize(bench.MaxValueSize), *objectSize)
		} else {
			cfg.ValueSize = int(size)
			if !set["keys"] {
				cfg.Keys = int(min(10000, max(16, s3KeyspaceBytes/max(size, 1))))
			}
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
	case !s3 && s3Flag(set) != "":
		why = fmt.Sprintf("--%s applies to --s3 only", s3Flag(set))
	case s3 && set["value-size"]:
		why = "--value-size does not apply to --s3: the size is --object-size"
	case s3 && cfg.S3.AccessKey == "":
		why = "--access-key (or $AWS_ACCESS_KEY_ID) is required with --s3"
	case s3 && cfg.S3.SecretKey == "":
		why = "--secret-key (or $AWS_SECRET_ACCESS_KEY) is required with --s3"
	case s3 && cfg.LeaderOnly && len(cfg.Rest) == 0:
		why = "--leader-only with --s3 needs --rest: an S3 API cannot be asked who leads, minikv's REST API can (or leave out --leader-only: followers forward writes to the leader)"
	case s3 && len(cfg.Rest) > 0 && !cfg.LeaderOnly:
		why = "--rest is only used with --leader-only"
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
	case s3 && bench.CheckBucketName(cfg.S3.Bucket) != nil:
		why = "--bucket: " + bench.CheckBucketName(cfg.S3.Bucket).Error()
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

// s3Flag returns the first flag set that only an S3 run uses, or "".
func s3Flag(set map[string]bool) string {
	for _, name := range []string{"object-size", "access-key", "secret-key", "region", "bucket", "sign-payload", "rest"} {
		if set[name] {
			return name
		}
	}
	return ""
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
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
