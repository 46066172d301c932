package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestS3ListenOnEveryAddress: a node whose listen.s3 is 0.0.0.0:PORT
// advertises an S3 address others can use. Alone, that is the loopback
// address; in a cluster it must be given in the node's members entry, and
// a node without it refuses to start, saying so.
func TestS3ListenOnEveryAddress(t *testing.T) {
	c := &cluster{t: t, dir: t.TempDir()}
	_, port, _ := net.SplitHostPort(freePort(t))
	nd := &node{id: 1, dir: filepath.Join(c.dir, "alone"), http: freePort(t), rpc: freePort(t), raf: freePort(t), s3: "0.0.0.0:" + port}
	c.nodes = []*node{nd}
	c.writeConfig(nd, nil, "")
	c.start(nd)
	t.Cleanup(func() {
		c.kill(nd)
		if t.Failed() {
			if b, err := os.ReadFile(nd.dir + ".log"); err == nil {
				t.Logf("--- log of the node (last 3 KB) ---\n%s", tail(b, 3000))
			}
		}
	})
	c.leader(15 * time.Second)
	resp, err := httpc.Get(nd.url("/v1/cluster"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Members []struct {
			ID uint64 `json:"id"`
			S3 string `json:"s3"`
		} `json:"members"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := "http://127.0.0.1:" + port
	if len(st.Members) != 1 || st.Members[0].S3 != want {
		t.Fatalf("members %+v; want the node's s3 to be %s", st.Members, want)
	}
	// The advertised address serves S3 (an unsigned request is refused
	// with S3's error).
	resp, err = httpc.Get(want + "/")
	if err != nil {
		t.Fatalf("the advertised S3 address: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>") {
		t.Fatalf("GET %s/: %s %s", want, resp.Status, b)
	}

	// Three members, the node's own entry without s3: a clear refusal.
	cfg := filepath.Join(c.dir, "three.toml")
	var conf strings.Builder
	fmt.Fprintf(&conf, "id = 1\ndata_dir = %q\n[listen]\nhttp = %q\nrpc = %q\nraft = %q\ns3 = \"0.0.0.0:%s\"\n",
		filepath.Join(c.dir, "three"), freePort(t), freePort(t), freePort(t), port)
	fmt.Fprintf(&conf, "[s3]\naccess_key = %q\nsecret_key = %q\n[cluster]\nid = 7\n", s3AccessKey, s3SecretKey)
	for id := 1; id <= 3; id++ {
		fmt.Fprintf(&conf, "[[cluster.members]]\nid = %d\nraft = \"127.0.0.1:%d\"\n", id, 17000+id)
		if id != 1 {
			fmt.Fprintf(&conf, "s3 = \"http://127.0.0.1:%d\"\n", 19000+id)
		}
	}
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfg)
	done := make(chan struct{})
	timer := time.AfterFunc(20*time.Second, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	timer.Stop()
	if err == nil || cmd.ProcessState == nil || cmd.ProcessState.ExitCode() <= 0 {
		t.Fatalf("minikv serve started (or was killed): %v\n%s", err, out)
	}
	for _, want := range []string{`listen.s3 "0.0.0.0:` + port + `"`, "set s3 in this node's [[cluster.members]] entry (id = 1)"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("minikv serve says:\n%s\nwant it to say %q", out, want)
		}
	}
	t.Logf("minikv serve refuses to start:\n%s", out)
}
