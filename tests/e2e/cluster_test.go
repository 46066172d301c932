// Package e2e tests minikv as its users run it: real `minikv serve`
// processes on loopback, driven over the REST API, killed with SIGKILL and
// frozen with SIGSTOP.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the minikv binary TestMain builds.
var binary string

// The S3 credentials of the test clusters.
const (
	s3AccessKey = "E2EACCESSKEY"
	s3SecretKey = "e2e-secret-key-for-tests"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minikv-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "minikv")
	build := exec.Command("go", "build", "-o", binary, "github.com/minikv-go/minikv/cmd/minikv")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building minikv:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one `minikv serve` process.
type node struct {
	id                 uint64
	dir                string
	http, rpc, raf, s3 string
	// everywhere: the node listens on 0.0.0.0 (at the same ports) and
	// advertises the loopback addresses above, as a node in a container
	// would advertise its reachable ones.
	everywhere bool
	cmd        *exec.Cmd
	log        *os.File
}

func (n *node) url(path string) string { return "http://" + n.http + path }

// cluster is a set of real nodes started by the test.
type cluster struct {
	t     *testing.T
	dir   string
	nodes []*node
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newCluster starts n nodes with small snapshot intervals, so that a node
// that falls behind catches up through a snapshot.
func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, dir: t.TempDir()}
	for i := 1; i <= n; i++ {
		c.nodes = append(c.nodes, &node{id: uint64(i), dir: filepath.Join(c.dir, fmt.Sprintf("node-%d", i)),
			http: freePort(t), rpc: freePort(t), raf: freePort(t), s3: freePort(t)})
	}
	for _, nd := range c.nodes {
		c.writeConfig(nd, c.nodes, "")
		c.start(nd)
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			c.kill(nd)
		}
		if t.Failed() {
			for _, nd := range c.nodes {
				if b, err := os.ReadFile(nd.dir + ".log"); err == nil {
					t.Logf("--- log of node %d (last 3 KB) ---\n%s", nd.id, tail(b, 3000))
				}
			}
		}
	})
	return c
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (c *cluster) writeConfig(nd *node, members []*node, join string) {
	var b strings.Builder
	fmt.Fprintf(&b, "id = %d\ndata_dir = %q\nlog_format = \"json\"\nlog_level = \"debug\"\n", nd.id, nd.dir)
	if nd.everywhere {
		wild := func(addr string) string { _, port, _ := net.SplitHostPort(addr); return "0.0.0.0:" + port }
		fmt.Fprintf(&b, "[listen]\nhttp = %q\nrpc = %q\nraft = %q\ns3 = %q\n", wild(nd.http), wild(nd.rpc), wild(nd.raf), wild(nd.s3))
		fmt.Fprintf(&b, "[advertise]\nhttp = %q\nrpc = %q\nraft = %q\ns3 = %q\n", "http://"+nd.http, nd.rpc, nd.raf, "http://"+nd.s3)
	} else {
		fmt.Fprintf(&b, "[listen]\nhttp = %q\nrpc = %q\nraft = %q\ns3 = %q\n", nd.http, nd.rpc, nd.raf, nd.s3)
	}
	fmt.Fprintf(&b, "[s3]\naccess_key = %q\nsecret_key = %q\n", s3AccessKey, s3SecretKey)
	fmt.Fprintf(&b, "[raft]\ntick = \"20ms\"\nsnapshot_entries = 200\n")
	fmt.Fprintf(&b, "[cluster]\nid = 7\njoin = %q\n", join)
	if join == "" {
		for _, m := range members {
			fmt.Fprintf(&b, "[[cluster.members]]\nid = %d\nraft = %q\nhttp = %q\nrpc = %q\ns3 = %q\n", m.id, m.raf, "http://"+m.http, m.rpc, "http://"+m.s3)
		}
	}
	if err := os.WriteFile(nd.dir+".toml", []byte(b.String()), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) start(nd *node) {
	c.t.Helper()
	logf, err := os.OpenFile(nd.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	nd.log = logf
	nd.cmd = exec.Command(binary, "serve", "--config", nd.dir+".toml")
	nd.cmd.Stdout, nd.cmd.Stderr = logf, logf
	if err := nd.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
}

// kill sends SIGKILL: no shutdown, no final fsync.
func (c *cluster) kill(nd *node) {
	if nd.cmd == nil {
		return
	}
	_ = nd.cmd.Process.Signal(syscall.SIGCONT) // a stopped process must run to die
	_ = nd.cmd.Process.Kill()
	_ = nd.cmd.Wait()
	nd.log.Close()
	nd.cmd = nil
}

// term sends SIGTERM and expects a clean exit.
func (c *cluster) term(nd *node) {
	c.t.Helper()
	if err := nd.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	if err := nd.cmd.Wait(); err != nil {
		c.t.Fatalf("node %d after SIGTERM: %v", nd.id, err)
	}
	nd.log.Close()
	nd.cmd = nil
}

var httpc = &http.Client{Timeout: 5 * time.Second}

type clusterStatus struct {
	Leader  uint64 `json:"leader"`
	Term    uint64 `json:"term"`
	Role    string `json:"role"`
	Members []struct {
		ID   uint64 `json:"id"`
		Role string `json:"role"`
		Raft string `json:"raft"`
		HTTP string `json:"http"`
		RPC  string `json:"rpc"`
		S3   string `json:"s3"`
	} `json:"members"`
}

func status(nd *node) (clusterStatus, error) {
	var st clusterStatus
	resp, err := httpc.Get(nd.url("/v1/cluster"))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return st, fmt.Errorf("status %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// leader waits until the running nodes agree on a leader.
func (c *cluster) leader(within time.Duration) *node {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var lead uint64
		agreed := true
		for _, nd := range c.nodes {
			if nd.cmd == nil {
				continue
			}
			st, err := status(nd)
			if err != nil || st.Leader == 0 || lead != 0 && st.Leader != lead {
				agreed = false
				break
			}
			lead = st.Leader
		}
		if agreed && lead != 0 {
			for _, nd := range c.nodes {
				if nd.id == lead && nd.cmd != nil {
					return nd
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader agreed on within %v", within)
	return nil
}

var errNotFound = errors.New("not found")

// put writes through nd and returns the new version.
func put(ctx context.Context, nd *node, key, value string) (uint64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, nd.url("/v1/kv/"+key), strings.NewReader(value))
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("PUT %s: %s: %s", key, resp.Status, bytes.TrimSpace(body))
	}
	var out struct {
		Version uint64 `json:"version"`
	}
	return out.Version, json.Unmarshal(body, &out)
}

// get reads key through nd (linearizable unless stale).
func get(ctx context.Context, nd *node, key string, stale bool) (string, uint64, error) {
	u := nd.url("/v1/kv/" + key)
	if stale {
		u += "?consistency=stale"
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := httpc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case 200:
		v, err := strconv.ParseUint(resp.Header.Get("X-Minikv-Version"), 10, 64)
		return string(body), v, err
	case 404:
		return "", 0, errNotFound
	}
	return "", 0, fmt.Errorf("GET %s: %s: %s", key, resp.Status, bytes.TrimSpace(body))
}

func TestWritesThroughAnyNodeAndLeaderKill(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader(15 * time.Second)
	ctx := context.Background()

	// Writes through every node (followers forward to the leader).
	acked := map[string]uint64{}
	for i := range 150 {
		nd := c.nodes[i%3]
		k := fmt.Sprintf("k%03d", i)
		v, err := put(ctx, nd, k, "v"+k)
		if err != nil {
			t.Fatalf("put through node %d: %v", nd.id, err)
		}
		acked[k] = v
	}

	// SIGKILL the leader: a new one within a few election timeouts (the
	// election timeout is 10-20 ticks of 20 ms here), and nothing lost.
	c.kill(lead)
	start := time.Now()
	newLead := c.leader(5 * time.Second)
	t.Logf("node %d killed; node %d leads after %v", lead.id, newLead.id, time.Since(start).Round(time.Millisecond))
	for k, v := range acked {
		got, ver, err := get(ctx, newLead, k, false)
		if err != nil || got != "v"+k || ver != v {
			t.Fatalf("after the leader's death, %s = %q v%d, %v; acknowledged v%d", k, got, ver, err, v)
		}
	}
	// More writes while it is down: the others compact past it.
	for i := range 400 {
		if _, err := put(ctx, newLead, fmt.Sprintf("late%03d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	// The killed node restarts and catches up (through a snapshot: the
	// log it needs was compacted).
	c.start(lead)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _, err := get(ctx, lead, "late399", true)
		if err == nil && got == "x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node did not catch up: %q %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	logb, _ := os.ReadFile(lead.dir + ".log")
	if !bytes.Contains(logb, []byte("installed a snapshot from the leader")) {
		t.Errorf("the restarted node caught up without a snapshot; the test means to exercise one")
	}
	for k, v := range acked {
		if _, ver, err := get(ctx, lead, k, true); err != nil || ver != v {
			t.Fatalf("restarted node: %s v%d, %v; want v%d", k, ver, err, v)
		}
	}
}

func TestFrozenFollowerAndGracefulRestart(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader(15 * time.Second)
	ctx := context.Background()
	var frozen *node
	for _, nd := range c.nodes {
		if nd != lead {
			frozen = nd
			break
		}
	}
	// SIGSTOP: the process is alive, its sockets open, but it answers
	// nothing. The other two go on.
	if err := frozen.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := put(ctx, lead, fmt.Sprintf("f%02d", i), "y"); err != nil {
			t.Fatalf("with a frozen follower: %v", err)
		}
	}
	if err := frozen.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, _, err := get(ctx, frozen, "f49", true); err == nil && got == "y" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the thawed follower did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// SIGTERM: a graceful shutdown; the node comes back with its data.
	c.term(frozen)
	c.start(frozen)
	c.leader(10 * time.Second)
	if got, _, err := get(ctx, frozen, "f10", false); err != nil || got != "y" {
		t.Fatalf("after a graceful restart: %q %v", got, err)
	}
}

func TestMembershipOnALiveCluster(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader(15 * time.Second)
	ctx := context.Background()
	if _, err := put(ctx, lead, "before", "4"); err != nil {
		t.Fatal(err)
	}
	// A fourth node joins through a follower's HTTP API. It listens on
	// 0.0.0.0 and gives the addresses to reach it in [advertise].
	var via *node
	for _, nd := range c.nodes {
		if nd != lead {
			via = nd
		}
	}
	n4 := &node{id: 4, dir: filepath.Join(c.dir, "node-4"), http: freePort(t), rpc: freePort(t), raf: freePort(t), s3: freePort(t), everywhere: true}
	c.nodes = append(c.nodes, n4)
	c.writeConfig(n4, nil, via.url(""))
	c.start(n4)
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := status(lead)
		voters := 0
		for _, m := range st.Members {
			if m.Role == "voter" {
				voters++
			}
		}
		if err == nil && voters == 4 {
			for _, m := range st.Members {
				if m.ID == 4 && (m.Raft != n4.raf || m.HTTP != "http://"+n4.http || m.RPC != n4.rpc || m.S3 != "http://"+n4.s3) {
					t.Fatalf("node 4 joined with %+v, not the addresses it advertises", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 4 never became a voter: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, _, err := get(ctx, n4, "before", false); err != nil || got != "4" {
		t.Fatalf("the new node reads %q, %v", got, err)
	}
	// Remove a follower other than the one we joined through.
	var victim *node
	for _, nd := range c.nodes[:3] {
		if nd != lead && nd != via {
			victim = nd
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, lead.url(fmt.Sprintf("/v1/cluster/members/%d", victim.id)), nil)
	resp, err := httpc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("remove node %d: %v %v", victim.id, resp, err)
	}
	resp.Body.Close()
	c.kill(victim)
	if _, err := put(ctx, n4, "after", "3"); err != nil {
		t.Fatalf("writes after the removal: %v", err)
	}
}
