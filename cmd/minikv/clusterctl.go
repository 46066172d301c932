package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/minikv-go/minikv/api/client"
	"github.com/minikv-go/minikv/server"
)

// clusterCtl runs 'minikv cluster status|add|remove|transfer' against a
// running cluster, through the RPC API.
func clusterCtl(sub string, args []string, stdout, stderr io.Writer) int {
	switch sub {
	case "status":
		return clusterStatus(args, stdout, stderr)
	case "add":
		return clusterAdd(args, stdout, stderr)
	case "remove":
		return clusterRemove(args, stdout, stderr)
	case "transfer":
		return clusterTransfer(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "minikv cluster: unknown subcommand %q\n", sub)
	return exitUsage
}

// nodeTimeout bounds the question to each member in 'cluster status', so
// that one dead member does not hold up the table.
const nodeTimeout = 2 * time.Second

func clusterStatus(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv cluster status", "", stdout, stderr)
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return cmd.usageError(fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		// Each member's own view: its role, term and progress.
		views := make([]*server.ClusterStatus, len(st.Members))
		var wg sync.WaitGroup
		for i, m := range st.Members {
			if m.RPC == "" {
				continue
			}
			wg.Go(func() {
				nctx, cancel := context.WithTimeout(ctx, nodeTimeout)
				defer cancel()
				if ns, err := c.NodeStatus(nctx, m.RPC); err == nil {
					views[i] = &ns
				}
			})
		}
		wg.Wait()
		printStatus(stdout, st, views)
		return nil
	})
}

// printStatus writes the cluster's status as a table, one member a row.
func printStatus(w io.Writer, st server.ClusterStatus, views []*server.ClusterStatus) {
	leader := "none"
	if st.Leader != 0 {
		leader = fmt.Sprint(st.Leader)
	}
	fmt.Fprintf(w, "cluster %d: leader %s, term %d, %d members\n\n", st.ClusterID, leader, st.Term, len(st.Members))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tTERM\tCOMMIT\tAPPLIED\tRAFT\tHTTP\tRPC")
	for i, m := range st.Members {
		role, term, commit, applied := "unreachable "+m.Role, "-", "-", "-"
		if v := views[i]; v != nil {
			role = v.Role
			if m.Role == "learner" {
				role = "learner"
			}
			term, commit, applied = fmt.Sprint(v.Term), fmt.Sprint(v.CommitIndex), fmt.Sprint(v.AppliedIndex)
		}
		id := fmt.Sprint(m.ID)
		if m.ID == st.Leader {
			id += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, role, term, commit, applied, orDash(m.Raft), orDash(m.HTTP), orDash(m.RPC))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clusterAdd(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv cluster add", "--id N --raft ADDR --http URL --rpc ADDR [--s3 URL]", stdout, stderr)
	id := cmd.fs.Uint64("id", 0, "the new node's id (positive, never used before in this cluster)")
	raft := cmd.fs.String("raft", "", "the new node's raft address, host:port")
	httpURL := cmd.fs.String("http", "", "the new node's REST address, http://host:port")
	rpc := cmd.fs.String("rpc", "", "the new node's RPC address, host:port")
	s3URL := cmd.fs.String("s3", "", "the new node's S3 address, http://host:port (needed to forward S3 writes to it while it leads)")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return cmd.usageError(fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	m, err := newMember(*id, *raft, *httpURL, *rpc)
	if err != nil {
		return cmd.usageError(err.Error())
	}
	if *s3URL != "" {
		if m.S3, err = httpURLFlag("--s3", *s3URL); err != nil {
			return cmd.usageError(err.Error())
		}
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		if err := c.AddMember(ctx, m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added node %d as a learner; the leader makes it a voter once it has caught up\n", m.ID)
		return nil
	})
}

// newMember checks the addresses of a node to add.
func newMember(id uint64, raft, httpURL, rpc string) (server.Member, error) {
	if id == 0 {
		return server.Member{}, fmt.Errorf("--id must be a positive node id")
	}
	for _, f := range []struct{ name, addr string }{{"--raft", raft}, {"--rpc", rpc}} {
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			return server.Member{}, fmt.Errorf("%s %q: want host:port", f.name, f.addr)
		}
	}
	httpURL, err := httpURLFlag("--http", httpURL)
	if err != nil {
		return server.Member{}, err
	}
	return server.Member{ID: id, Raft: raft, HTTP: httpURL, RPC: rpc}, nil
}

// httpURLFlag checks an http(s)://host:port flag, adding http:// if the
// scheme is missing.
func httpURLFlag(name, v string) (string, error) {
	if v != "" && !strings.Contains(v, "://") {
		v = "http://" + v
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q: want http://host:port", name, v)
	}
	return v, nil
}

func clusterRemove(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv cluster remove", "ID", stdout, stderr)
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return cmd.usageError("want the ID of the node to remove")
	}
	id, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || id == 0 {
		return cmd.usageError(fmt.Sprintf("%q is not a node id", pos[0]))
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		if err := c.RemoveMember(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed node %d\n", id)
		return nil
	})
}

func clusterTransfer(args []string, stdout, stderr io.Writer) int {
	cmd := newCtlCmd("minikv cluster transfer", "[--to ID]", stdout, stderr)
	to := cmd.fs.Uint64("to", 0, "the voter to hand leadership to (default: the most caught-up one)")
	pos, code := cmd.parse(args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return cmd.usageError(fmt.Sprintf("unexpected argument %q (use --to ID)", pos[0]))
	}
	return cmd.run(func(ctx context.Context, c *client.Client) error {
		lead, err := c.TransferLeader(ctx, *to)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "node %d leads now\n", lead)
		return nil
	})
}
