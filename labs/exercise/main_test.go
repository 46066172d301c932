package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minikv-go/minikv/labs/exercise/strip"
)

// writeTree writes files (slash-separated path → content) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runTool(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

const fixtureGo = `package kv

import "strings"

// Norm normalises a key.
func Norm(k string) string {
	// LAB 1 BEGIN: normalise the key
	// STUB: return k
	return strings.ToLower(k)
	// LAB 1 END
}

// Len is the key's length.
func Len(k string) int {
	// LAB 2 BEGIN: measure the key
	return len(k)
	// LAB 2 END
}
`

func fixture(t *testing.T) string {
	return writeTree(t, map[string]string{
		"go.mod":                   "module example.com/kv\n\ngo 1.22\n",
		"kv/kv.go":                 fixtureGo,
		"kv/testdata/marked.go":    fixtureGo, // copied as is
		"labs/one/doc.go":          "package one\n",
		"README":                   "hello\n",
		".git/HEAD":                "ref: refs/heads/main\n",
		"bin/tool":                 "binary\n",
		"data/db":                  "data\n",
		"sim-failures/seed1":       "trace\n",
		"kv/sim-failures/seed2":    "trace\n",
		"kv/data/keep.txt":         "only the top-level data/ is skipped\n",
		"kv/bin/keep.txt":          "only the top-level bin/ is skipped\n",
		"labs/one/keep.txt":        "kept\n",
		"kv/strip_case_test.go.md": "not a .go file: // LAB 9 BEGIN: x\n",
	})
}

func TestStripFixture(t *testing.T) {
	src := fixture(t)
	out := filepath.Join(t.TempDir(), "copy")
	code, stdout, stderr := runTool(t, "-lab", "1", "-out", out, "-src", src)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"lab 1: stripped 1 region in 1 file into " + out + "\n\tkv/kv.go:5: TODO(lab 1): normalise the key\n",
		`kv/kv.go: "strings"`,
		"next: cd " + out + " && go test ./labs/...",
		"(grep -rn 'TODO(lab 1)' kv lists what to write)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}

	got, err := os.ReadFile(filepath.Join(out, "kv/kv.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := `package kv

// Norm normalises a key.
func Norm(k string) string {
	// TODO(lab 1): normalise the key
	return k
}

// Len is the key's length.
func Len(k string) int {
	// LAB 2 BEGIN: measure the key
	return len(k)
	// LAB 2 END
}
`
	if string(got) != want {
		t.Errorf("kv/kv.go:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "kv/testdata/marked.go")); string(got) != fixtureGo {
		t.Errorf("testdata file was changed:\n%s", got)
	}

	for p, copied := range map[string]bool{
		"go.mod": true, "README": true, "labs/one/doc.go": true, "labs/one/keep.txt": true,
		"kv/data/keep.txt": true, "kv/bin/keep.txt": true, "kv/strip_case_test.go.md": true,
		".git": false, "bin": false, "data": false, "sim-failures": false, "kv/sim-failures": false,
	} {
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(p)))
		if (err == nil) != copied {
			t.Errorf("%s: copied = %v, want %v", p, err == nil, copied)
		}
	}

	// -lab all, into an existing empty directory.
	out2 := t.TempDir()
	if code, stdout, stderr := runTool(t, "-lab", "all", "-out", out2, "-src", src); code != 0 {
		t.Fatalf("-lab all: exit %d\n%s%s", code, stdout, stderr)
	} else if !strings.Contains(stdout, "all labs: stripped 2 regions in 1 file") {
		t.Errorf("-lab all summary:\n%s", stdout)
	}
	got, _ = os.ReadFile(filepath.Join(out2, "kv/kv.go"))
	if strings.Contains(string(got), "LAB ") || !strings.Contains(string(got), `panic("lab 2: not implemented: measure the key")`) {
		t.Errorf("-lab all:\n%s", got)
	}
}

func TestList(t *testing.T) {
	src := fixture(t)
	code, stdout, stderr := runTool(t, "-list", "-src", src)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "lab 1: 1 region (tests: ./labs/election/, not written yet)\n" +
		"\tkv/kv.go:7: normalise the key\n" +
		"lab 2: 1 region (tests: ./labs/replication/, not written yet)\n" +
		"\tkv/kv.go:15: measure the key\n"
	if stdout != want {
		t.Errorf("-list:\n%s\nwant:\n%s", stdout, want)
	}
	if code, stdout, _ := runTool(t, "-list", "-lab", "2", "-src", src); code != 0 || strings.Contains(stdout, "lab 1") {
		t.Errorf("-list -lab 2: exit %d\n%s", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	src := fixture(t)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)

	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"non-empty out", []string{"-lab", "1", "-out", full, "-src", src}, "directory is not empty"},
		{"out inside src", []string{"-lab", "1", "-out", filepath.Join(src, "ex"), "-src", src}, "inside the source tree"},
		{"out is src", []string{"-lab", "1", "-out", src, "-src", src}, "not empty"},
		{"unknown lab", []string{"-lab", "7", "-out", filepath.Join(t.TempDir(), "o"), "-src", src}, "lab 7 has no regions (labs with regions: 1, 2)"},
		{"bad lab", []string{"-lab", "one", "-out", filepath.Join(t.TempDir(), "o"), "-src", src}, `-lab "one"`},
		{"no out", []string{"-lab", "1", "-src", src}, "usage:"},
		{"no go.mod", []string{"-list", "-src", t.TempDir()}, "no go.mod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runTool(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.msg)
			}
			if tc.name != "no go.mod" && strings.Count(stderr, "\n") != 1 && tc.name != "no out" {
				t.Errorf("want a one-line error, got %q", stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(src, "ex")); err == nil {
		t.Error("refused -out was created anyway")
	}
}

func TestMarkerErrors(t *testing.T) {
	src := writeTree(t, map[string]string{
		"go.mod":  "module example.com/bad\n",
		"a/a.go":  "package a\n\nfunc F() {\n\t// LAB 1 BEGIN: x\n}\n",
		"b/b.go":  "package b\n\n// LAB 2 END\n",
		"c/ok.go": fixtureGo,
	})
	out := filepath.Join(t.TempDir(), "o")
	code, _, stderr := runTool(t, "-lab", "1", "-out", out, "-src", src)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "a/a.go:4: LAB 1 BEGIN without a LAB 1 END\nb/b.go:3: LAB 2 END without a LAB 2 BEGIN\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("-out was written despite the errors")
	}
	if code, _, _ := runTool(t, "-list", "-src", src); code != 1 {
		t.Errorf("-list: exit %d, want 1", code)
	}

	// A stub that does not parse is blamed on its region, and nothing is written.
	src = writeTree(t, map[string]string{
		"go.mod": "module example.com/bad\n",
		"a/a.go": "package a\n\n// LAB 1 BEGIN: a whole function\nfunc F() {}\n// LAB 1 END\n",
	})
	code, _, stderr = runTool(t, "-lab", "1", "-out", out, "-src", src)
	if code != 1 || !strings.HasPrefix(stderr, `a/a.go:3: stripping LAB 1 region "a whole function" gives invalid Go`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("-out was written despite the errors")
	}
}

// TestTreeMarkers checks the markers of the real tree: they are well formed,
// and every lab strips to files that parse. (That the copy builds and the
// lab's tests fail is TestStrippedLabsFail's job; it is much slower.)
func TestTreeMarkers(t *testing.T) {
	root, err := findModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tr.errs {
		t.Error(e)
	}
	if len(tr.errs) > 0 {
		return
	}
	for _, lab := range append(tr.labs(), strip.All) {
		for _, f := range tr.files(lab) {
			src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := strip.Strip(f, src, lab); err != nil {
				t.Errorf("%s: %v", labName(lab), err)
			}
		}
	}
}

func TestParseFailure(t *testing.T) {
	out := `--- FAIL: TestElectsLeader (0.01s)
    --- FAIL: TestElectsLeader/five (0.00s)
--- FAIL: TestVotes (0.00s)
panic: lab 1: not implemented: count votes [recovered]
FAIL	github.com/minikv-go/minikv/labs/election	0.02s
`
	f := parseFailure(out)
	if got := f.String(); got != "2 failing tests: TestElectsLeader, TestVotes (1 failing subtests); panic: lab 1: not implemented: count votes [recovered]" {
		t.Errorf("parseFailure = %q", got)
	}
	if f := parseFailure("FAIL\tgithub.com/minikv-go/minikv/labs/election [build failed]\n"); !f.buildFailed {
		t.Error("build failure not recognised")
	}
	f = parseFailure("panic: test timed out after 5m0s\n\trunning tests:\n\t\tTestPersist1 (5m0s)\n\t\tTestPersist1/seed=1 (5m0s)\n\ngoroutine 1 [running]:\n")
	if !f.timedOut || !strings.Contains(f.String(), "still running: TestPersist1 (5m0s), TestPersist1/seed=1 (5m0s)") {
		t.Errorf("timeout not recognised: %q", f)
	}
}
