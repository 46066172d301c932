package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freeBase finds a base port whose 30 ports (3 nodes × 10) are all free.
func freeBase(t *testing.T) int {
	for base := 20000 + os.Getpid()%20000; base < 60000; base += 37 {
		free := true
		for p := base; p < base+30 && free; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// clusterUp runs `minikv cluster up` in the background until it prints
// that a leader was elected.
func clusterUp(t *testing.T, dir string, base int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "cluster", "up", "--dir", dir, "--base-port", strconv.Itoa(base))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	elected := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), " leads (term ") {
				elected <- true
			}
		}
		elected <- false
	}()
	select {
	case ok := <-elected:
		if !ok {
			t.Fatal("cluster up exited before a leader was elected")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("cluster up: no leader within 30s")
	}
	return cmd
}

func clusterDown(t *testing.T, dir string, up *exec.Cmd) {
	t.Helper()
	if out, err := exec.Command(binary, "cluster", "down", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("cluster down: %v\n%s", err, out)
	}
	if err := up.Wait(); err != nil {
		t.Fatalf("cluster up after cluster down: %v", err)
	}
}

func TestClusterUpDownAndBackWithItsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cl")
	base := freeBase(t)
	up := clusterUp(t, dir, base)
	b, err := os.ReadFile(filepath.Join(dir, "endpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	var eps struct {
		Nodes []struct {
			ID   uint64 `json:"id"`
			PID  int    `json:"pid"`
			REST string `json:"rest"`
			RPC  string `json:"rpc"`
			Raft string `json:"raft"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(b, &eps); err != nil || len(eps.Nodes) != 3 {
		t.Fatalf("endpoints.json: %v %s", err, b)
	}
	for _, n := range eps.Nodes {
		if n.PID <= 0 || !strings.HasPrefix(n.REST, "http://127.0.0.1:") || n.RPC == "" || n.Raft == "" {
			t.Fatalf("endpoints.json node %+v", n)
		}
	}
	nd := &node{http: strings.TrimPrefix(eps.Nodes[1].REST, "http://")}
	ctx := context.Background()
	if _, err := put(ctx, nd, "survives", "down-and-up"); err != nil {
		t.Fatal(err)
	}
	clusterDown(t, dir, up)

	// The same command on the same directory brings the same cluster back.
	up = clusterUp(t, dir, base)
	defer clusterDown(t, dir, up)
	nd = &node{http: strings.TrimPrefix(eps.Nodes[2].REST, "http://")}
	if got, _, err := get(ctx, nd, "survives", false); err != nil || got != "down-and-up" {
		t.Fatalf("after down and up: %q, %v", got, err)
	}
}

func TestClusterUpRefusesAnotherNodeCount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cl")
	base := freeBase(t)
	up := clusterUp(t, dir, base)
	clusterDown(t, dir, up)
	out, err := exec.Command(binary, "cluster", "up", "--dir", dir, "--base-port", strconv.Itoa(base), "--nodes", "5").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "holds a cluster of 3 nodes") {
		t.Fatalf("cluster up --nodes 5 on a 3-node dir: %v\n%s", err, out)
	}
}
