package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStrippedLabsFail checks that each lab's tests really test the lab: for
// every lab in labPackages it strips the lab into a fresh copy of the module,
// checks that the copy still builds, and checks that the lab's test package
// FAILS against the stubs. (That the same package passes on the reference
// code is checked by make test, not here.)
//
// It builds a copy per lab, so it only runs when asked:
//
//	MINIKV_EXERCISE_CHECK=1 go test -run TestStrippedLabsFail -v ./labs/exercise/
//
// which is what make exercise-check does.
func TestStrippedLabsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (a build and a test run per lab); skipped in -short mode")
	}
	if os.Getenv("MINIKV_EXERCISE_CHECK") != "1" {
		t.Skip("slow (a build and a test run per lab); set MINIKV_EXERCISE_CHECK=1 to run it (make exercise-check)")
	}
	root, err := findModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command in PATH: %v", err)
	}

	labs := make([]int, 0, len(labPackages))
	for lab := range labPackages {
		labs = append(labs, lab)
	}
	slices.Sort(labs)
	for _, lab := range labs {
		pkg := labPackages[lab]
		t.Run(fmt.Sprintf("lab%d", lab), func(t *testing.T) {
			if !hasTests(filepath.Join(root, filepath.FromSlash(pkg))) {
				t.Skipf("lab %d: no tests in ./%s/ yet; nothing to check", lab, pkg)
			}
			t.Parallel()
			checkStrippedLab(t, goCmd, root, lab, pkg)
		})
	}
}

func checkStrippedLab(t *testing.T, goCmd, root string, lab int, pkg string) {
	dir := filepath.Join(t.TempDir(), "minikv")
	s, err := stripTree(root, dir, lab)
	if err != nil {
		t.Fatalf("lab %d: stripping failed:\n%v", lab, err)
	}
	t.Logf("lab %d: stripped %s in %s: %s", lab, plural(s.regions, "region"), plural(len(s.files), "file"), strings.Join(s.files, ", "))

	// (b) The learner's copy must build.
	if out, err := goRun(t, goCmd, dir, 5*time.Minute, "build", "./..."); err != nil {
		msg := fmt.Sprintf("lab %d: the stripped copy does not build (go build ./...): %v\n%s", lab, err, out)
		if _, refErr := goRun(t, goCmd, root, 5*time.Minute, "build", "./..."); refErr != nil {
			msg += "\n(the reference tree does not build either: fix that first)"
		} else {
			msg += "\n(the reference tree builds, so a stub or a marker of lab " + fmt.Sprint(lab) + " is to blame)"
		}
		t.Fatal(msg)
	}

	// (d) The lab's tests must fail against the stubs, and fail as tests:
	// not because they do not compile.
	out, err := goRun(t, goCmd, dir, 6*time.Minute, "test", "-count=1", "-timeout", "300s", "./"+pkg+"/")
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Errorf("lab %d: ./%s/ PASSES with lab %d stripped: its tests do not exercise the lab's code\n%s", lab, pkg, lab, tail(out, 40))
		return
	case !errors.As(err, &exit):
		t.Fatalf("lab %d: go test: %v\n%s", lab, err, tail(out, 40))
	}
	f := parseFailure(out)
	switch {
	case f.buildFailed:
		t.Errorf("lab %d: ./%s/ fails for the wrong reason: its tests do not compile against the stripped copy\n%s", lab, pkg, tail(out, 40))
	case len(f.tests) == 0 && !f.timedOut && f.panic == "":
		t.Errorf("lab %d: ./%s/ fails, but no failing test or panic in the output; check it by hand\n%s", lab, pkg, tail(out, 40))
	default:
		t.Logf("lab %d: ./%s/ fails as it should: %s", lab, pkg, f)
	}
}

// goRun runs the go command in dir and returns its combined output.
func goRun(t *testing.T, goCmd, dir string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("go %s (in %s): %v, %s", strings.Join(args, " "), dir, exitText(err), time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

func exitText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// hasTests reports whether dir holds any _test.go file.
func hasTests(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	return len(m) > 0
}

// A failure is what go test's output says about how a package failed.
type failure struct {
	tests       []string // top-level tests that failed, in order
	subtests    int      // failed subtests
	panic       string   // first "panic:" line, if any
	timedOut    bool
	running     []string // tests still running when the timeout hit
	buildFailed bool
}

var (
	failRE  = regexp.MustCompile(`(?m)^(\s*)--- FAIL: (\S+)`)
	panicRE = regexp.MustCompile(`(?m)^panic: (.*)$`)
	buildRE = regexp.MustCompile(`(?m)^FAIL\s+\S+\s+\[(build|setup) failed\]`)
	// After "panic: test timed out", go test lists the hung tests:
	//	running tests:
	//		TestPersist1 (5m0s)
	runningRE = regexp.MustCompile(`(?m)^\trunning tests:\n((?:\t\t\S+ \(.*\)\n)+)`)
)

func parseFailure(out string) failure {
	var f failure
	for _, m := range failRE.FindAllStringSubmatch(out, -1) {
		if m[1] == "" {
			f.tests = append(f.tests, m[2])
		} else {
			f.subtests++
		}
	}
	if m := panicRE.FindStringSubmatch(out); m != nil {
		f.panic = m[1]
		f.timedOut = strings.HasPrefix(m[1], "test timed out")
	}
	if m := runningRE.FindStringSubmatch(out); m != nil {
		for _, l := range strings.Split(strings.TrimSpace(m[1]), "\n") {
			f.running = append(f.running, strings.TrimSpace(l))
		}
	}
	f.buildFailed = buildRE.MatchString(out)
	return f
}

func (f failure) String() string {
	var parts []string
	if n := len(f.tests); n > 0 {
		first := f.tests[:min(n, 8)]
		s := fmt.Sprintf("%d failing tests: %s", n, strings.Join(first, ", "))
		if n > len(first) {
			s += ", ..."
		}
		if f.subtests > 0 {
			s += fmt.Sprintf(" (%d failing subtests)", f.subtests)
		}
		parts = append(parts, s)
	}
	switch {
	case f.timedOut:
		s := "TIMED OUT: a test hangs on the stubs instead of failing (it fails, but only after -timeout)"
		if len(f.running) > 0 {
			s += "; still running: " + strings.Join(f.running, ", ")
		}
		parts = append(parts, s)
	case f.panic != "":
		parts = append(parts, "panic: "+f.panic)
	}
	return strings.Join(parts, "; ")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
