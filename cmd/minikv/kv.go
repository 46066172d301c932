package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minikv-go/minikv/api/client"
	"github.com/minikv-go/minikv/kv"
)

// kvCommand runs 'minikv kv SUB': put, get, del and scan keys through the
// RPC API (package api/client), with the client's retries and
// exactly-once writes.
func kvCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "minikv kv: want a subcommand: put, get, del, scan (try 'minikv kv help')")
		return exitUsage
	}
	switch args[0] {
	case "put":
		return kvPut(args[1:], stdout, stderr)
	case "get":
		return kvGet(args[1:], stdout, stderr)
	case "del", "delete":
		return kvDel(args[1:], stdout, stderr)
	case "scan":
		return kvScan(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, kvUsage)
		return 0
	}
	fmt.Fprintf(stderr, "minikv kv: unknown subcommand %q (want put, get, del, scan)\n", args[0])
	return exitUsage
}

const kvUsage = `Usage:
  minikv kv put [--if-version N] [--ttl D] KEY VALUE   write VALUE ("-": read it from stdin); prints the new version
  minikv kv get [--stale] [--version] [--raw] KEY      print the value
  minikv kv del [--if-version N] KEY                   delete the key
  minikv kv scan [--prefix P] [--start K] [--end K] [--limit N] [--stale]
                                                       list keys: key, version, value per line
Every subcommand takes --endpoints A,B,... (RPC addresses; default $MINIKV_ENDPOINTS
or 127.0.0.1:7071) and --timeout D (default 10s). Flags may come after the
arguments; put "--" before a KEY or VALUE that starts with "-".
`

// kvStdin is where 'kv put KEY -' reads the value; tests replace it.
var kvStdin io.Reader = os.Stdin

// maxStdinValue bounds what 'kv put KEY -' reads; the cluster's own limit
// (limits.max_value_bytes, 1 MiB by default) is usually lower.
const maxStdinValue = 64 << 20

func kvPut(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv kv put", "[--if-version N] [--ttl D] KEY VALUE", stdout, stderr)
	ifVersion := cmd.versionFlag("if-version", "write only if the key's version is N (0: only if it does not exist)")
	ttl := cmd.fs.Duration("ttl", 0, "expire the key this long after the write (e.g. 30s, 1h)")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) != 2 {
		return cmd.usageError("want KEY VALUE")
	}
	if *ttl < 0 {
		return cmd.usageError("--ttl must not be negative")
	}
	key, value := []byte(pos[0]), []byte(pos[1])
	if pos[1] == "-" {
		b, err := io.ReadAll(io.LimitReader(kvStdin, maxStdinValue+1))
		if err != nil {
			return cmd.fail(fmt.Errorf("reading the value from stdin: %w", err))
		}
		if len(b) > maxStdinValue {
			return cmd.fail(fmt.Errorf("the value on stdin is over %d MiB", maxStdinValue>>20))
		}
		value = b
	}
	var opts []client.WriteOption
	if *ifVersion != nil {
		opts = append(opts, client.IfVersion(**ifVersion))
	}
	if *ttl > 0 {
		opts = append(opts, client.TTL(*ttl))
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		v, err := c.Put(ctx, key, value, opts...)
		if err != nil {
			return describeKVError(err, key)
		}
		fmt.Fprintf(stdout, "version %d\n", v)
		return nil
	})
}

func kvGet(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv kv get", "[--stale] [--version] [--raw] KEY", stdout, stderr)
	stale := cmd.fs.Bool("stale", false, "let any node answer from its own state (faster; may miss recent writes)")
	showVersion := cmd.fs.Bool("version", false, `print "version N" (and "expires TIME" if it has a TTL) on lines before the value`)
	raw := cmd.fs.Bool("raw", false, "print the value exactly, without a newline after it")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return cmd.usageError("want KEY")
	}
	key := []byte(pos[0])
	var opts []client.ReadOption
	if *stale {
		opts = append(opts, client.Stale())
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		it, err := c.Get(ctx, key, opts...)
		if err != nil {
			return describeKVError(err, key)
		}
		if *showVersion {
			fmt.Fprintf(stdout, "version %d\n", it.Version)
			if it.ExpiresAt != 0 {
				fmt.Fprintf(stdout, "expires %s\n", time.Unix(0, it.ExpiresAt).UTC().Format(time.RFC3339Nano))
			}
		}
		stdout.Write(it.Value)
		if !*raw {
			fmt.Fprintln(stdout)
		}
		return nil
	})
}

func kvDel(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv kv del", "[--if-version N] KEY", stdout, stderr)
	ifVersion := cmd.versionFlag("if-version", "delete only if the key's version is N")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return cmd.usageError("want KEY")
	}
	key := []byte(pos[0])
	var opts []client.WriteOption
	if *ifVersion != nil {
		opts = append(opts, client.IfVersion(**ifVersion))
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		found, err := c.Delete(ctx, key, opts...)
		if err != nil {
			return describeKVError(err, key)
		}
		if found {
			fmt.Fprintln(stdout, "deleted")
		} else {
			fmt.Fprintln(stdout, "not found (nothing to delete)")
		}
		return nil
	})
}

func kvScan(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv kv scan", "[--prefix P] [--start K] [--end K] [--limit N] [--stale]", stdout, stderr)
	prefix := cmd.fs.String("prefix", "", "only keys starting with P")
	start := cmd.fs.String("start", "", "first key (inclusive), e.g. where the last page stopped")
	end := cmd.fs.String("end", "", "stop before this key")
	limit := cmd.fs.Int("limit", 0, fmt.Sprintf("most keys to list (default %d, at most %d)", kv.DefaultScanLimit, kv.MaxScanLimit))
	stale := cmd.fs.Bool("stale", false, "let any node answer from its own state")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) != 0 {
		return cmd.usageError(fmt.Sprintf("unexpected argument %q (use --prefix or --start)", pos[0]))
	}
	if *limit < 0 {
		return cmd.usageError("--limit must not be negative")
	}
	req := kv.ScanRequest{Prefix: []byte(*prefix), Start: []byte(*start), End: []byte(*end), Limit: *limit}
	var opts []client.ReadOption
	if *stale {
		opts = append(opts, client.Stale())
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		page, err := c.Scan(ctx, req, opts...)
		if err != nil {
			return describeKVError(err, nil)
		}
		for _, it := range page.Items {
			fmt.Fprintf(stdout, "%s\t%d\t%s\n", quoteIfNeeded(it.Key), it.Version, quoteIfNeeded(it.Value))
		}
		if page.Next != nil {
			fmt.Fprintf(stderr, "more keys follow: continue with --start %s\n", strconv.Quote(string(page.Next)))
		}
		return nil
	})
}

// quoteIfNeeded returns b as it is if it is printable text that cannot be
// mistaken for a quoted string, and Go-quoted otherwise.
func quoteIfNeeded(b []byte) string {
	s := string(b)
	if s == "" || s[0] == '"' || !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// ctlCmd is one client subcommand's command line: its flags (with
// --endpoints and --timeout), where it writes, and how it reports.
// Flags may come after the arguments; a bad command line is reported in
// one line, and -h prints the usage on stdout.
type ctlCmd struct {
	fs             *flag.FlagSet
	synopsis       string
	stdout, stderr io.Writer
	endpoints      string
	timeout        time.Duration
}

// defaultEndpoints is $MINIKV_ENDPOINTS, or the RPC address of a node
// started by 'minikv serve' with the defaults.
func defaultEndpoints() string {
	if e := os.Getenv("MINIKV_ENDPOINTS"); e != "" {
		return e
	}
	return "127.0.0.1:7071"
}

func newCtlCmd(name, synopsis string, stdout, stderr io.Writer) *ctlCmd {
	c := &ctlCmd{fs: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, stdout: stdout, stderr: stderr}
	// flag's own reports (the error, then the whole usage) are replaced
	// by one line; see parse.
	c.fs.SetOutput(io.Discard)
	c.fs.Usage = func() {}
	c.fs.StringVar(&c.endpoints, "endpoints", defaultEndpoints(), "comma-separated RPC addresses of cluster nodes (env MINIKV_ENDPOINTS)")
	c.fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up after this long, retries included")
	return c
}

// versionFlag defines a flag taking a version number, nil unless given
// (0 is a meaningful version: "does not exist").
func (c *ctlCmd) versionFlag(name, usage string) **uint64 {
	var v *uint64
	c.fs.Func(name, usage, func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errors.New("want a version number")
		}
		v = &n
		return nil
	})
	return &v
}

// parse parses flags wherever they are among args (so that
// 'kv get KEY --stale' works) and returns the other arguments; everything
// after "--" is an argument. code is -1 to go on, or the exit code.
func (c *ctlCmd) parse(args []string) (pos []string, code int) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(c.stdout, "Usage: %s %s\n", c.fs.Name(), c.synopsis)
				c.fs.SetOutput(c.stdout)
				c.fs.PrintDefaults()
				return nil, 0
			}
			return nil, c.usageError(fmt.Sprintf("%v (see '%s -h')", err, c.fs.Name()))
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return pos, -1
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), -1
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// run connects to the cluster, runs f under the timeout and turns its
// error into an exit code.
func (c *ctlCmd) run(f func(context.Context, *client.Client) error) int {
	var endpoints []string
	for e := range strings.SplitSeq(c.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			endpoints = append(endpoints, e)
		}
	}
	if len(endpoints) == 0 {
		return c.usageError("--endpoints is empty")
	}
	if c.timeout <= 0 {
		return c.usageError("--timeout must be positive")
	}
	cl, err := client.New(endpoints, client.Options{Timeout: c.timeout})
	if err != nil {
		return c.usageError(strings.TrimPrefix(err.Error(), "client: "))
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := f(ctx, cl); err != nil {
		if errors.Is(err, client.ErrUnavailable) {
			err = fmt.Errorf("cannot reach the cluster at %s (is a node running there?): %w", c.endpoints, err)
		}
		return c.fail(err)
	}
	return 0
}

// usageError reports a bad command line in one line.
func (c *ctlCmd) usageError(why string) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.fs.Name(), why)
	return exitUsage
}

// fail reports a failed command in one line.
func (c *ctlCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.fs.Name(), strings.ReplaceAll(err.Error(), "\n", " "))
	return 1
}

// describeKVError says what went wrong in the words of a command line user.
func describeKVError(err error, key []byte) error {
	var vm *kv.VersionMismatchError
	switch {
	case errors.Is(err, kv.ErrNotFound) && key != nil:
		return fmt.Errorf("key %s not found", strconv.Quote(string(key)))
	case errors.As(err, &vm):
		if vm.Actual == 0 {
			return fmt.Errorf("key %s does not exist (expected version %d)", strconv.Quote(string(vm.Key)), vm.Expected)
		}
		if vm.Expected == 0 {
			return fmt.Errorf("key %s already exists (version %d)", strconv.Quote(string(vm.Key)), vm.Actual)
		}
		return fmt.Errorf("key %s is at version %d, not %d", strconv.Quote(string(vm.Key)), vm.Actual, vm.Expected)
	}
	return err
}
