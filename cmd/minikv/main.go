// Command minikv is minikv's single binary. Subcommands:
//
//	minikv serve    run a node
//	minikv cluster  start a local cluster (up, down), or manage one (status, add, remove, transfer)
//	minikv kv       put, get, delete and scan keys through the RPC API
//	minikv bench    load a cluster and report throughput and latency
//	minikv sim      run the deterministic simulator (one seed or a sweep)
//	minikv version  print the version
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// exitUsage is the exit code for bad command lines (as with flag's own).
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "sim":
		return simCommand(args[1:], stdout, stderr)
	case "serve":
		return serveCommand(args[1:], stdout, stderr)
	case "kv":
		return kvCommand(args[1:], stdout, stderr)
	case "cluster":
		return clusterCommand(args[1:], stdout, stderr)
	case "bench":
		return benchCommand(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "minikv", version())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "minikv: unknown command %q (try 'minikv help')\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `minikv — a distributed key-value and object store on a Raft written from scratch

Usage:
  minikv serve [--config FILE] [flags]        run a node (defaults: a single-node cluster on 127.0.0.1:7070)
  minikv cluster up --dir DIR [--nodes 3]     start a local cluster in the foreground
  minikv cluster down --dir DIR               stop a local cluster started in the background
  minikv cluster status|add|remove|transfer   inspect or change a running cluster
  minikv kv put|get|del|scan ...              use the key-value API
  minikv bench --endpoints ... [flags]        measure throughput and latency
  minikv sim --seed N [flags]       run one deterministic simulation
  minikv sim --seeds A-B [flags]    sweep a range of seeds
  minikv version                    print the version

Run 'minikv <command> -h' for a command's flags.
`)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}
