package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The S3 API as people use it: Debian's aws CLI, s3cmd and rclone, with
// their default settings, against a three-node cluster of real processes.
// .ci/run installs the three tools; elsewhere the test says how to get them.

func requireTool(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("%s is not installed (apt-get install -y awscli s3cmd rclone; .ci/run does)", path)
		if os.Getenv("MINIKV_REQUIRE_S3_CLIENTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// s3Files writes a small and a 20 MiB file of random bytes (20 MiB makes
// the aws CLI and s3cmd use multipart uploads).
func s3Files(t *testing.T) (dir string, small, big string) {
	dir = t.TempDir()
	small, big = filepath.Join(dir, "small.txt"), filepath.Join(dir, "big.bin")
	if err := os.WriteFile(small, []byte("hello from the command line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 20<<20)
	_, _ = rand.Read(b)
	if err := os.WriteFile(big, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, small, big
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	sum := func(p string) [32]byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(data)
	}
	if sum(a) != sum(b) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

// run runs a tool and returns its combined output; wantOK says whether it
// must succeed (or fail).
func run(t *testing.T, env []string, wantOK bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if wantOK && err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("%s %s succeeded; it should have failed:\n%s", name, strings.Join(args, " "), out)
	}
	return string(out)
}

// toolEnv is a clean environment for the tools: no AWS_CA_BUNDLE (it stops
// some of them from talking plain HTTP), a HOME of its own.
func toolEnv(t *testing.T, extra ...string) []string {
	env := []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return append(env, extra...)
}

func TestS3WithTheAWSCLI(t *testing.T) {
	aws := requireTool(t, "/usr/bin/aws")
	c := newCluster(t, 3)
	c.leader(15 * time.Second)
	dir, small, big := s3Files(t)
	env := toolEnv(t, "AWS_ACCESS_KEY_ID="+s3AccessKey, "AWS_SECRET_ACCESS_KEY="+s3SecretKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	at := func(nd *node) []string { return []string{"--endpoint-url", "http://" + nd.s3} }
	aws1 := func(nd *node, ok bool, args ...string) string {
		return run(t, env, ok, aws, append(at(nd), args...)...)
	}

	aws1(c.nodes[0], true, "s3", "mb", "s3://cli-bucket")
	aws1(c.nodes[1], true, "s3", "cp", small, "s3://cli-bucket/small.txt")
	aws1(c.nodes[2], true, "s3", "cp", big, "s3://cli-bucket/dir/big.bin") // multipart, 8 MiB parts
	ls := aws1(c.nodes[0], true, "s3", "ls", "--recursive", "s3://cli-bucket/")
	if !strings.Contains(ls, "small.txt") || !strings.Contains(ls, "dir/big.bin") || !strings.Contains(ls, "20971520") {
		t.Fatalf("aws s3 ls:\n%s", ls)
	}
	// Download through another node than the one that took the upload.
	got := filepath.Join(dir, "got.bin")
	aws1(c.nodes[0], true, "s3", "cp", "s3://cli-bucket/dir/big.bin", got)
	sameFile(t, big, got)
	// A server-side copy of more than 8 MiB: the CLI reads the source's
	// tags (GetObjectTagging), then copies 8 MiB ranges (UploadPartCopy).
	aws1(c.nodes[1], true, "s3", "cp", "s3://cli-bucket/dir/big.bin", "s3://cli-bucket/copy.bin")
	copied := filepath.Join(dir, "copied.bin")
	aws1(c.nodes[2], true, "s3", "cp", "s3://cli-bucket/copy.bin", copied)
	sameFile(t, big, copied)

	// A presigned URL works with any HTTP client.
	url := strings.TrimSpace(aws1(c.nodes[1], true, "s3", "presign", "s3://cli-bucket/small.txt", "--expires-in", "300"))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from the command line\n" {
		t.Fatalf("presigned GET: %s %q", resp.Status, body)
	}

	// Errors are S3's.
	if out := aws1(c.nodes[0], false, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "nope"); !strings.Contains(out, "404") {
		t.Fatalf("head of a missing key:\n%s", out)
	}
	if out := aws1(c.nodes[0], false, "s3", "ls", "s3://no-such-bucket"); !strings.Contains(out, "NoSuchBucket") {
		t.Fatalf("ls of a missing bucket:\n%s", out)
	}
	if out := aws1(c.nodes[0], false, "s3", "rb", "s3://cli-bucket"); !strings.Contains(out, "BucketNotEmpty") {
		t.Fatalf("rb of a full bucket:\n%s", out)
	}
	badEnv := toolEnv(t, "AWS_ACCESS_KEY_ID="+s3AccessKey, "AWS_SECRET_ACCESS_KEY=wrong-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
	if out := run(t, badEnv, false, aws, append(at(c.nodes[0]), "s3", "ls", "s3://cli-bucket")...); !strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("a wrong secret:\n%s", out)
	}

	aws1(c.nodes[2], true, "s3", "rm", "--recursive", "s3://cli-bucket/")
	aws1(c.nodes[1], true, "s3", "rb", "s3://cli-bucket")
	if out := aws1(c.nodes[0], true, "s3", "ls"); strings.Contains(out, "cli-bucket") {
		t.Fatalf("the bucket is still listed:\n%s", out)
	}
}

func TestS3WithS3cmd(t *testing.T) {
	s3cmd := requireTool(t, "/usr/bin/s3cmd")
	c := newCluster(t, 3)
	c.leader(15 * time.Second)
	dir, small, big := s3Files(t)
	cfgFor := func(nd *node) string {
		p := filepath.Join(dir, "s3cfg-"+nd.s3)
		cfg := fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n",
			s3AccessKey, s3SecretKey, nd.s3, nd.s3)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := toolEnv(t)
	s := func(nd *node, ok bool, args ...string) string {
		return run(t, env, ok, s3cmd, append([]string{"-c", cfgFor(nd)}, args...)...)
	}
	s(c.nodes[0], true, "mb", "s3://s3cmd-bucket")
	s(c.nodes[1], true, "put", small, "s3://s3cmd-bucket/small.txt")
	s(c.nodes[2], true, "put", big, "s3://s3cmd-bucket/big.bin") // multipart, 15 MiB parts
	if out := s(c.nodes[0], true, "ls", "s3://s3cmd-bucket"); !strings.Contains(out, "small.txt") || !strings.Contains(out, "big.bin") {
		t.Fatalf("s3cmd ls:\n%s", out)
	}
	got := filepath.Join(dir, "got.bin")
	s(c.nodes[0], true, "get", "s3://s3cmd-bucket/big.bin", got)
	sameFile(t, big, got)
	s(c.nodes[1], true, "info", "s3://s3cmd-bucket") // asks ?policy, ?cors, ?acl
	if out := s(c.nodes[0], false, "get", "s3://s3cmd-bucket/nope", filepath.Join(dir, "nope")); !strings.Contains(out, "does not exist") {
		t.Fatalf("s3cmd get of a missing key:\n%s", out)
	}
	s(c.nodes[2], true, "del", "s3://s3cmd-bucket/small.txt", "s3://s3cmd-bucket/big.bin")
	s(c.nodes[0], true, "rb", "s3://s3cmd-bucket")
}

func TestS3WithRclone(t *testing.T) {
	rclone := requireTool(t, "/usr/bin/rclone")
	c := newCluster(t, 3)
	c.leader(15 * time.Second)
	dir, _, big := s3Files(t)
	env := func(nd *node) []string {
		return toolEnv(t,
			"RCLONE_CONFIG_MKV_TYPE=s3", "RCLONE_CONFIG_MKV_PROVIDER=Other",
			"RCLONE_CONFIG_MKV_ACCESS_KEY_ID="+s3AccessKey, "RCLONE_CONFIG_MKV_SECRET_ACCESS_KEY="+s3SecretKey,
			"RCLONE_CONFIG_MKV_ENDPOINT=http://"+nd.s3, "RCLONE_CONFIG_MKV_REGION=us-east-1",
			"RCLONE_CONFIG=/dev/null")
	}
	r := func(nd *node, ok bool, args ...string) string {
		return run(t, env(nd), ok, rclone, args...)
	}
	r(c.nodes[0], true, "mkdir", "mkv:rclone-bucket")
	r(c.nodes[1], true, "copy", dir, "mkv:rclone-bucket/files")
	if out := r(c.nodes[2], true, "ls", "mkv:rclone-bucket"); !strings.Contains(out, "files/big.bin") {
		t.Fatalf("rclone ls:\n%s", out)
	}
	r(c.nodes[2], true, "check", dir, "mkv:rclone-bucket/files") // sizes and MD5s
	out := filepath.Join(t.TempDir(), "back")
	r(c.nodes[0], true, "copy", "mkv:rclone-bucket/files", out)
	sameFile(t, big, filepath.Join(out, "big.bin"))
	if msg := r(c.nodes[0], false, "ls", "mkv:no-such-bucket"); !bytes.Contains([]byte(msg), []byte("directory not found")) && !strings.Contains(msg, "NoSuchBucket") {
		t.Fatalf("rclone ls of a missing bucket:\n%s", msg)
	}
	r(c.nodes[1], true, "purge", "mkv:rclone-bucket")
}
