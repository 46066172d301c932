package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A local cluster is N real `minikv serve` processes on 127.0.0.1, each with
// its own data dir, config file and log under DIR:
//
//	DIR/node-1/           data dir of node 1
//	DIR/node-1.toml       its config (written by `cluster up`, same every time)
//	DIR/node-1.log        its log
//	DIR/endpoints.json    where every node listens, and its pid
//	DIR/cluster.pid       the pid of the `cluster up` that supervises them
//
// Node i listens on base+10(i-1) (HTTP), +1 (RPC), +2 (Raft) and +3 (S3). Running `cluster up` again on the same DIR brings the same cluster
// back with its data.

// Endpoints is DIR/endpoints.json.
type Endpoints struct {
	Nodes []EndpointNode `json:"nodes"`
	// The credentials S3 clients sign with, the same on every node; chosen
	// at random the first time and kept in DIR/s3-credentials.json.
	S3AccessKey string `json:"s3_access_key"`
	S3SecretKey string `json:"s3_secret_key"`
}

// EndpointNode is one node of a local cluster.
type EndpointNode struct {
	ID   uint64 `json:"id"`
	PID  int    `json:"pid"`
	REST string `json:"rest"`
	RPC  string `json:"rpc"`
	Raft string `json:"raft"`
	S3   string `json:"s3"`
}

func localNode(base, i int) EndpointNode {
	p := base + 10*(i-1)
	return EndpointNode{
		ID:   uint64(i),
		REST: fmt.Sprintf("http://127.0.0.1:%d", p),
		RPC:  fmt.Sprintf("127.0.0.1:%d", p+1),
		Raft: fmt.Sprintf("127.0.0.1:%d", p+2),
		S3:   fmt.Sprintf("http://127.0.0.1:%d", p+3),
	}
}

func clusterUp(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("minikv cluster up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for the nodes' data, configs and logs (required)")
	nodes := fs.Int("nodes", 3, "number of nodes (1 to 9)")
	base := fs.Int("base-port", 7100, "node i listens on base+10(i-1) (HTTP), +1 (RPC), +2 (Raft), +3 (S3)")
	engine := fs.String("engine", "pebble", "storage engine of every node: pebble, bolt or memory")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the nodes to elect a leader")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "minikv cluster up: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *dir == "":
		fmt.Fprintln(stderr, "minikv cluster up: --dir is required")
		return exitUsage
	case *nodes < 1 || *nodes > 9:
		fmt.Fprintln(stderr, "minikv cluster up: --nodes must be between 1 and 9")
		return exitUsage
	case *base < 1024 || *base+10**nodes > 65535:
		fmt.Fprintln(stderr, "minikv cluster up: --base-port out of range")
		return exitUsage
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
		return 1
	}
	if pid, ok := runningSupervisor(*dir); ok {
		fmt.Fprintf(stderr, "minikv cluster up: a cluster is already running in %s (pid %d); stop it with: minikv cluster down --dir %s\n", *dir, pid, *dir)
		return 1
	}
	if old, err := os.ReadFile(filepath.Join(*dir, "endpoints.json")); err == nil {
		var prev Endpoints
		if json.Unmarshal(old, &prev) == nil && len(prev.Nodes) != *nodes {
			// The nodes remember their first configuration: a different
			// count would start new nodes with a membership the others
			// never had. Grow a cluster with minikv cluster add / join.
			fmt.Fprintf(stderr, "minikv cluster up: %s holds a cluster of %d nodes; run it with --nodes %d (or use a new --dir)\n", *dir, len(prev.Nodes), len(prev.Nodes))
			return exitUsage
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
		return 1
	}
	eps := Endpoints{}
	if eps.S3AccessKey, eps.S3SecretKey, err = localCredentials(*dir); err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
		return 1
	}
	for i := 1; i <= *nodes; i++ {
		eps.Nodes = append(eps.Nodes, localNode(*base, i))
	}
	var procs []*exec.Cmd
	exited := make(chan int, *nodes)
	// stopAll asks every running node to stop (SIGTERM: a graceful
	// shutdown) and waits for them; the goroutines that Wait on each
	// process report their exits on exited.
	stopAll := func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		deadline := time.After(15 * time.Second)
		for range procs {
			select {
			case <-exited:
			case <-deadline:
				for _, p := range procs {
					_ = p.Process.Kill()
				}
				return
			}
		}
	}
	for i := range eps.Nodes {
		n := &eps.Nodes[i]
		cfgPath := filepath.Join(*dir, fmt.Sprintf("node-%d.toml", n.ID))
		if err := os.WriteFile(cfgPath, []byte(nodeConfig(*n, eps, *dir, *engine)), 0o600); err != nil { // it holds the S3 secret
			fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
			stopAll()
			return 1
		}
		logf, err := os.OpenFile(filepath.Join(*dir, fmt.Sprintf("node-%d.log", n.ID)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
			stopAll()
			return 1
		}
		cmd := exec.Command(self, "serve", "--config", cfgPath, "--log-format", "json")
		cmd.Stdout, cmd.Stderr = logf, logf
		// Own process group: a Ctrl-C in the terminal reaches `cluster up`,
		// which stops the nodes in order, instead of killing them all at once.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			fmt.Fprintf(stderr, "minikv cluster up: starting node %d: %v\n", n.ID, err)
			stopAll()
			return 1
		}
		logf.Close()
		n.PID = cmd.Process.Pid
		procs = append(procs, cmd)
		fmt.Fprintf(stdout, "started node %d (pid %d): %s\n", n.ID, n.PID, n.REST)
		go func(id uint64, c *exec.Cmd) {
			_ = c.Wait()
			exited <- int(id)
		}(n.ID, cmd)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	fmt.Fprint(stdout, "waiting for a leader")
	start := time.Now()
	leader, term, err := waitForLeader(eps, *timeout, stdout, sig, exited)
	fmt.Fprintln(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v (the nodes' logs are in %s)\n", err, *dir)
		stopAll()
		return 1
	}
	if err := writeJSONFile(filepath.Join(*dir, "endpoints.json"), eps); err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
		stopAll()
		return 1
	}
	if err := os.WriteFile(filepath.Join(*dir, "cluster.pid"), []byte(strconv.Itoa(os.Getpid())), 0o640); err != nil {
		fmt.Fprintf(stderr, "minikv cluster up: %v\n", err)
		stopAll()
		return 1
	}
	defer os.Remove(filepath.Join(*dir, "cluster.pid"))
	fmt.Fprintf(stdout, "node %d leads (term %d), elected in %v\n", leader, term, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "endpoints: %s\n", filepath.Join(*dir, "endpoints.json"))
	for _, n := range eps.Nodes {
		fmt.Fprintf(stdout, "  node %d  rest %s  rpc %s  raft %s  s3 %s\n", n.ID, n.REST, n.RPC, n.Raft, n.S3)
	}
	fmt.Fprintf(stdout, "S3 credentials: access key %s, secret key %s\n", eps.S3AccessKey, eps.S3SecretKey)
	fmt.Fprintf(stdout, "try:  curl -X PUT --data hello %s/v1/kv/greeting && curl %s/v1/kv/greeting\n", eps.Nodes[0].REST, eps.Nodes[len(eps.Nodes)-1].REST)
	fmt.Fprintln(stdout, "Ctrl-C (or minikv cluster down --dir "+*dir+") stops every node.")

	for {
		select {
		case s := <-sig:
			fmt.Fprintf(stdout, "%s: stopping the nodes\n", s)
			stopAll()
			return 0
		case id := <-exited:
			// A node that dies (or is killed by a test or an operator) is
			// reported; the others go on, as a real cluster would.
			fmt.Fprintf(stdout, "node %d exited (see %s)\n", id, filepath.Join(*dir, fmt.Sprintf("node-%d.log", id)))
			procs = removeProc(procs, id, eps)
		}
	}
}

func removeProc(procs []*exec.Cmd, id int, eps Endpoints) []*exec.Cmd {
	out := procs[:0]
	for _, p := range procs {
		if p.Process.Pid != eps.Nodes[id-1].PID {
			out = append(out, p)
		}
	}
	return out
}

// nodeConfig is the TOML config of one node of a local cluster.
func nodeConfig(n EndpointNode, eps Endpoints, dir, engine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by `minikv cluster up`; it rewrites this file at every start\n")
	fmt.Fprintf(&b, "id = %d\ndata_dir = %q\nengine = %q\n\n", n.ID, filepath.Join(dir, fmt.Sprintf("node-%d", n.ID)), engine)
	fmt.Fprintf(&b, "[listen]\nhttp = %q\nrpc = %q\nraft = %q\ns3 = %q\n\n", strings.TrimPrefix(n.REST, "http://"), n.RPC, n.Raft, strings.TrimPrefix(n.S3, "http://"))
	fmt.Fprintf(&b, "[s3]\naccess_key = %q\nsecret_key = %q\n\n", eps.S3AccessKey, eps.S3SecretKey)
	fmt.Fprintf(&b, "[cluster]\nid = 1\n")
	for _, m := range eps.Nodes {
		fmt.Fprintf(&b, "\n[[cluster.members]]\nid = %d\nraft = %q\nhttp = %q\nrpc = %q\ns3 = %q\n", m.ID, m.Raft, m.REST, m.RPC, m.S3)
	}
	return b.String()
}

// waitForLeader polls every node's /v1/cluster until all of them name the
// same leader, printing a dot per round.
func waitForLeader(eps Endpoints, timeout time.Duration, progress io.Writer, sig <-chan os.Signal, exited <-chan int) (uint64, uint64, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case s := <-sig:
			return 0, 0, fmt.Errorf("interrupted (%s)", s)
		case id := <-exited:
			return 0, 0, fmt.Errorf("node %d exited during start-up", id)
		case <-time.After(200 * time.Millisecond):
		}
		fmt.Fprint(progress, ".")
		var leader, term uint64
		agreed := true
		for _, n := range eps.Nodes {
			st, err := fetchStatus(client, n.REST)
			if err != nil || st.Leader == 0 || (leader != 0 && st.Leader != leader) {
				agreed = false
				break
			}
			leader, term = st.Leader, max(term, st.Term)
		}
		if agreed {
			return leader, term, nil
		}
	}
	return 0, 0, fmt.Errorf("no leader agreed on by every node within %v", timeout)
}

type statusReply struct {
	Leader uint64 `json:"leader"`
	Term   uint64 `json:"term"`
}

func fetchStatus(client *http.Client, base string) (statusReply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/cluster", nil)
	resp, err := client.Do(req)
	if err != nil {
		return statusReply{}, err
	}
	defer resp.Body.Close()
	var st statusReply
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	// 0600: endpoints.json holds the S3 secret key.
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// runningSupervisor reports the pid of a `cluster up` still running on dir.
func runningSupervisor(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !alive(pid) {
		return 0, false
	}
	return pid, true
}

// alive reports whether pid runs: signal 0 checks the process exists
// without touching it, and a zombie (exited, not yet reaped by its parent)
// does not count.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return false
		}
	}
	return true
}

func clusterDown(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("minikv cluster down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the directory given to `minikv cluster up` (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "minikv cluster down: want --dir DIR and nothing else")
		return exitUsage
	}
	pid, ok := runningSupervisor(*dir)
	if !ok {
		fmt.Fprintf(stderr, "minikv cluster down: no cluster is running in %s\n", *dir)
		return 1
	}
	// The supervisor stops the nodes in order, as on Ctrl-C.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(stderr, "minikv cluster down: %v\n", err)
		return 1
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			fmt.Fprintf(stdout, "stopped the cluster in %s\n", *dir)
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(stderr, "minikv cluster down: pid %d still running after 30s\n", pid)
	return 1
}

// localCredentials returns the S3 credentials of the local cluster in dir,
// choosing them at random the first time.
func localCredentials(dir string) (access, secret string, err error) {
	path := filepath.Join(dir, "s3-credentials.json")
	var c struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
			return "", "", fmt.Errorf("%s: unreadable credentials (delete it to get new ones)", path)
		}
		return c.AccessKey, c.SecretKey, nil
	}
	c.AccessKey = "MKV" + strings.ToUpper(hex.EncodeToString(randomBytes(8)))
	c.SecretKey = base64.RawURLEncoding.EncodeToString(randomBytes(30))
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", "", err
	}
	return c.AccessKey, c.SecretKey, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return b
}
