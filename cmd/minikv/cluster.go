package main

import (
	"fmt"
	"io"
)

// clusterCommand runs 'minikv cluster SUB': up and down start and stop a
// local cluster of real processes (clusterlocal.go); status, add, remove and
// transfer manage a running cluster through the RPC API (clusterctl.go).
func clusterCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "minikv cluster: want a subcommand: up, down, status, add, remove, transfer")
		return exitUsage
	}
	switch args[0] {
	case "up":
		return clusterUp(args[1:], stdout, stderr)
	case "down":
		return clusterDown(args[1:], stdout, stderr)
	case "status", "add", "remove", "transfer":
		return clusterCtl(args[0], args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "minikv cluster: unknown subcommand %q (want up, down, status, add, remove, transfer)\n", args[0])
	return exitUsage
}
