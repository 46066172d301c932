package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// boto3 as Python programs use it, with its default settings, against a
// three-node cluster of real processes: testdata/boto3_check.py runs every
// step and stops at the first mismatch, with one line that says why.
//
// It runs twice: with Debian's python3-boto3 (.ci/run installs it, and CI
// requires it), and with the python3 first on PATH when that has a newer
// boto3 (botocore >= 1.36, whose defaults differ: CRC32 checksums on every
// upload, per-part checksums in CompleteMultipartUpload, checksum mode on
// GET).

const debianPython = "/usr/bin/python3"

func TestS3WithBoto3(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("testdata", "boto3_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	// Find the interpreters before starting a cluster.
	debian, debianErr := boto3Version(debianPython, nil)
	onPath, pathWhy := newerBoto3OnPath()
	if debianErr != nil && os.Getenv("MINIKV_REQUIRE_S3_CLIENTS") == "1" && onPath == "" {
		t.Fatalf("%s cannot import boto3 (apt-get install -y python3-boto3; .ci/run does): %v", debianPython, debianErr)
	}
	if debianErr != nil && onPath == "" {
		t.Skipf("no boto3: %s cannot import it (apt-get install -y python3-boto3), and %s", debianPython, pathWhy)
	}

	c := newCluster(t, 3)
	c.leader(15 * time.Second)
	var endpoints []string
	for _, nd := range c.nodes {
		endpoints = append(endpoints, "http://"+nd.s3)
	}
	runScript := func(t *testing.T, python, bucket string) {
		env := boto3Env(t)
		cmd := exec.Command(python, script, "--endpoints", strings.Join(endpoints, ","),
			"--access-key", s3AccessKey, "--secret-key", s3SecretKey, "--bucket", bucket, "--workdir", t.TempDir())
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		t.Logf("%s %s:\n%s", python, filepath.Base(script), out)
		if err != nil {
			t.Fatalf("boto3 (%s): %v; the FAIL line above says why", python, err)
		}
	}

	t.Run("debian-python3-boto3", func(t *testing.T) {
		if debianErr != nil {
			msg := fmt.Sprintf("%s cannot import boto3 (apt-get install -y python3-boto3; .ci/run does): %v", debianPython, debianErr)
			if os.Getenv("MINIKV_REQUIRE_S3_CLIENTS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		t.Logf("Debian boto3: botocore %s", debian)
		runScript(t, debianPython, "boto3-debian")
	})
	t.Run("newest-boto3-on-PATH", func(t *testing.T) {
		if onPath == "" {
			t.Skipf("no newer boto3 to test: %s (put a python3 whose botocore is 1.36 or newer first on PATH to run this variant)", pathWhy)
		}
		runScript(t, onPath, "boto3-newest")
	})
}

// boto3Env is the environment of the script: no AWS_* variable of ours
// (AWS_CA_BUNDLE, a profile, a region), empty config and credentials
// files, a HOME of its own.
func boto3Env(t *testing.T) []string {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, p := range []string{cfg, creds} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return toolEnv(t, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1")
}

// boto3Version returns the botocore version python imports, with env as
// its environment (nil: a clean one).
func boto3Version(python string, env []string) (string, error) {
	cmd := exec.Command(python, "-c", "import boto3, botocore; print(botocore.__version__)")
	if env == nil {
		env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONNOUSERSITE=1"}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(lastLine(string(out))))
	}
	return strings.TrimSpace(string(out)), nil
}

// newerBoto3OnPath returns the interpreter of the python3 first on PATH
// (its real path: a pyenv shim needs the caller's environment, the script
// gets a clean one) if it is not Debian's and imports a botocore >= 1.36;
// otherwise "" and why not.
func newerBoto3OnPath() (python, why string) {
	shim, err := exec.LookPath("python3")
	if err != nil {
		return "", "no python3 on PATH"
	}
	out, err := exec.Command(shim, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Sprintf("python3 on PATH (%s) does not run: %v", shim, err)
	}
	exe := strings.TrimSpace(string(out))
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		if deb, err := filepath.EvalSymlinks(debianPython); err == nil && real == deb {
			return "", fmt.Sprintf("the python3 on PATH (%s) is Debian's", shim)
		}
	}
	v, err := boto3Version(exe, nil)
	if err != nil {
		return "", fmt.Sprintf("the python3 on PATH (%s) cannot import boto3: %v", exe, err)
	}
	if !versionAtLeast(v, 1, 36) {
		return "", fmt.Sprintf("the python3 on PATH (%s) has botocore %s; this variant wants >= 1.36", exe, v)
	}
	return exe, ""
}

// versionAtLeast reports whether the version v ("1.43.11") is at least
// major.minor.
func versionAtLeast(v string, major, minor int) bool {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
