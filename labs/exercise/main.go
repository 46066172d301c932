// Command exercise writes a learner's copy of minikv: the whole module, with
// the reference code of one lab replaced by stubs for the learner to write.
//
// Usage:
//
//	go run ./labs/exercise -lab N -out DIR [-src DIR]
//	go run ./labs/exercise -lab all -out DIR
//	go run ./labs/exercise -list [-lab N]
//
// -lab N strips the regions of lab N and keeps every other lab's reference
// code; -lab all strips every lab. -out must not exist yet, or be an empty
// directory outside the source tree. -src defaults to the module that holds
// the current directory. The copy leaves out .git, bin/, data/ and any
// sim-failures/ directory. -list prints each lab's regions and exits.
//
// In the copy, each stripped region has become a TODO comment and a stub:
//
//	// TODO(lab 2): the follower's consistency check and conflict resolution (§5.3)
//	return 0, false
//
// The summary lists where each stub is ("grep -rn 'TODO(lab 2)' raft" finds
// them again), and the lab's tests (go test ./labs/replication/ for lab 2)
// tell you when your code works.
//
// In the reference code a region is marked like this (see package
// labs/exercise/strip for the details):
//
//	// LAB 2 BEGIN: the follower's consistency check and conflict resolution (§5.3)
//	// STUB: return 0, false
//	...reference code...
//	// LAB 2 END
//
// Exit status: 0 on success, 1 for bad markers or a stub that does not
// compile as Go, 2 for bad usage (flags, a non-empty -out, an unknown lab).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/minikv-go/minikv/labs/exercise/strip"
)

// labPackages maps a lab number to the package of tests that grades it,
// relative to the module root. TestStrippedLabsFail checks every entry.
var labPackages = map[int]string{
	1: "labs/election",
	2: "labs/replication",
	3: "labs/persistence",
	4: "labs/snapshots",
	5: "labs/membership",
	6: "labs/kv",
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("exercise", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./labs/exercise -lab N|all -out DIR [-src DIR]")
		fmt.Fprintln(stderr, "       go run ./labs/exercise -list [-lab N] [-src DIR]")
		fl.PrintDefaults()
	}
	labFlag := fl.String("lab", "", "lab `N` to strip, or all")
	out := fl.String("out", "", "`DIR` to write the learner's copy to (must not exist, or be empty)")
	src := fl.String("src", "", "module `DIR` to copy (default: the module holding the current directory)")
	list := fl.Bool("list", false, "list each lab's regions and exit")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "exercise:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	if fl.NArg() > 0 {
		return fail(usageError{fmt.Sprintf("unexpected argument %q", fl.Arg(0))})
	}

	lab := -1 // none given
	if *labFlag != "" {
		n, err := parseLab(*labFlag)
		if err != nil {
			return fail(err)
		}
		lab = n
	}
	root, err := sourceRoot(*src)
	if err != nil {
		return fail(err)
	}

	if *list {
		t, err := scan(root)
		if err != nil {
			return fail(err)
		}
		if len(t.errs) > 0 {
			return reportMarkerErrors(stderr, t.errs)
		}
		if err := printList(stdout, t, lab); err != nil {
			return fail(err)
		}
		return 0
	}

	if lab < 0 || *out == "" {
		fl.Usage()
		return 2
	}
	s, err := stripTree(root, *out, lab)
	if err != nil {
		var list strip.ErrorList
		if errors.As(err, &list) {
			return reportMarkerErrors(stderr, list)
		}
		return fail(err)
	}
	s.print(stdout)
	return 0
}

func reportMarkerErrors(w io.Writer, errs strip.ErrorList) int {
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
	return 1
}

func parseLab(s string) (int, error) {
	if s == "all" {
		return strip.All, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, usageError{fmt.Sprintf("-lab %q: want a lab number (1, 2, ...) or all", s)}
	}
	return n, nil
}

func labName(lab int) string {
	if lab == strip.All {
		return "all labs"
	}
	return fmt.Sprintf("lab %d", lab)
}

// sourceRoot returns the module root to copy: dir if given, otherwise the
// nearest directory at or above the current one that holds a go.mod.
func sourceRoot(dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return "", usageError{fmt.Sprintf("-src %s: not a module root (no go.mod)", dir)}
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return findModuleRoot(wd)
}

func findModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", usageError{fmt.Sprintf("no go.mod in %s or any directory above it; use -src", dir)}
		}
		d = parent
	}
}

// An entry is one file, directory or symlink of the tree to copy.
type entry struct {
	rel  string // slash-separated path relative to the root
	mode fs.FileMode
}

// A tree is the source module: what to copy and the regions in it.
type tree struct {
	root    string
	entries []entry                   // in walk order: a directory before its contents
	regions map[string][]strip.Region // by rel, for .go files with regions
	errs    strip.ErrorList           // marker errors, all files
}

// skip reports whether the copy leaves out rel, a directory or file.
func skip(rel string, isDir bool) bool {
	name := pathBase(rel)
	switch {
	case name == ".git":
		return true
	case isDir && name == "sim-failures":
		return true
	case isDir && (rel == "bin" || rel == "data"):
		return true
	}
	return false
}

func pathBase(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

// inTestdata reports whether rel is inside a testdata directory, which the go
// command ignores and so do we: files there are copied as they are.
func inTestdata(rel string) bool {
	return slices.Contains(strings.Split(rel, "/"), "testdata")
}

// scan walks the tree at root and parses the markers of every .go file.
func scan(root string) (*tree, error) {
	t := &tree{root: root, regions: map[string][]strip.Region{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		t.entries = append(t.entries, entry{rel, info.Mode()})
		if !d.Type().IsRegular() || !strings.HasSuffix(rel, ".go") || inTestdata(rel) {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		regions, err := strip.Parse(rel, src)
		var list strip.ErrorList
		switch {
		case errors.As(err, &list):
			t.errs = append(t.errs, list...)
		case err != nil:
			return err
		case len(regions) > 0:
			t.regions[rel] = regions
		}
		return nil
	})
	return t, err
}

// labs returns the lab numbers that have regions, in increasing order.
func (t *tree) labs() []int {
	var all []strip.Region
	for _, rs := range t.regions {
		all = append(all, rs...)
	}
	return strip.Labs(all)
}

// files returns the files with regions of lab (any lab for strip.All), sorted.
func (t *tree) files(lab int) []string {
	var files []string
	for f, rs := range t.regions {
		if slices.ContainsFunc(rs, func(r strip.Region) bool { return lab == strip.All || r.Lab == lab }) {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return files
}

func printList(w io.Writer, t *tree, only int) error {
	labs := t.labs()
	if len(labs) == 0 {
		fmt.Fprintf(w, "no lab regions in %s\n", t.root)
		return nil
	}
	if only > 0 && !slices.Contains(labs, only) {
		return noSuchLab(only, labs)
	}
	for _, lab := range labs {
		if only > 0 && lab != only {
			continue
		}
		var rs []strip.Region
		for _, f := range t.files(lab) {
			for _, r := range t.regions[f] {
				if r.Lab == lab {
					rs = append(rs, r)
				}
			}
		}
		tests := "no test package yet"
		if pkg, ok := labPackages[lab]; ok {
			tests = "tests: ./" + pkg + "/"
			if !isDir(filepath.Join(t.root, filepath.FromSlash(pkg))) {
				tests += ", not written yet"
			}
		}
		fmt.Fprintf(w, "lab %d: %s (%s)\n", lab, plural(len(rs), "region"), tests)
		for _, r := range rs {
			fmt.Fprintf(w, "\t%s: %s\n", r.Pos(), r.Desc)
		}
	}
	return nil
}

func noSuchLab(lab int, labs []int) error {
	var s []string
	for _, l := range labs {
		s = append(s, strconv.Itoa(l))
	}
	return usageError{fmt.Sprintf("lab %d has no regions (labs with regions: %s)", lab, strings.Join(s, ", "))}
}

// A summary is what stripTree did.
type summary struct {
	out     string
	lab     int
	regions int
	files   []string
	todos   []string // "file:line: TODO(lab N): description", one per stub
	dropped []string // "file: import path"
	next    string   // the command the learner runs next
}

func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "%s: stripped %s in %s into %s\n", labName(s.lab), plural(s.regions, "region"), plural(len(s.files), "file"), s.out)
	for _, todo := range s.todos {
		fmt.Fprintf(w, "\t%s\n", todo)
	}
	if len(s.dropped) > 0 {
		fmt.Fprintf(w, "imports only the reference code used were dropped (add them back as you need them):\n")
		for _, d := range s.dropped {
			fmt.Fprintf(w, "\t%s\n", d)
		}
	}
	todo := "TODO(lab "
	if s.lab != strip.All {
		todo += strconv.Itoa(s.lab) + ")"
	}
	var dirs []string
	for _, f := range s.files {
		d := path.Dir(f)
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	fmt.Fprintf(w, "next: %s\n", s.next)
	fmt.Fprintf(w, "      (grep -rn '%s' %s lists what to write)\n", todo, strings.Join(dirs, " "))
}

// stripTree copies the module at root into out with the regions of lab
// stripped. Marker problems and stubs that are not valid Go come back as a
// strip.ErrorList, before anything is written.
func stripTree(root, out string, lab int) (*summary, error) {
	outAbs, err := checkOut(root, out)
	if err != nil {
		return nil, err
	}
	t, err := scan(root)
	if err != nil {
		return nil, err
	}
	if len(t.errs) > 0 {
		return nil, t.errs
	}
	labs := t.labs()
	if lab != strip.All && !slices.Contains(labs, lab) {
		return nil, noSuchLab(lab, labs)
	}

	// Strip everything in memory first, so that a bad region writes nothing.
	s := &summary{out: out, lab: lab, files: t.files(lab)}
	stripped := map[string][]byte{}
	var errs strip.ErrorList
	for _, f := range s.files {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		res, err := strip.Strip(f, src, lab)
		var list strip.ErrorList
		var one *strip.Error
		switch {
		case errors.As(err, &list):
			errs = append(errs, list...)
			continue
		case errors.As(err, &one):
			errs = append(errs, one)
			continue
		case err != nil:
			return nil, err
		}
		stripped[f] = res.Src
		for i, l := range strings.Split(string(res.Src), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "// TODO(lab ") {
				s.todos = append(s.todos, fmt.Sprintf("%s:%d: %s", f, i+1, strings.TrimPrefix(l, "// ")))
			}
		}
		s.regions += len(res.Regions)
		for _, d := range res.Dropped {
			s.dropped = append(s.dropped, fmt.Sprintf("%s: %q", f, d))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	if err := os.MkdirAll(outAbs, 0o755); err != nil {
		return nil, err
	}
	for _, e := range t.entries {
		from := filepath.Join(root, filepath.FromSlash(e.rel))
		to := filepath.Join(outAbs, filepath.FromSlash(e.rel))
		switch {
		case e.mode.IsDir():
			err = os.MkdirAll(to, e.mode.Perm()|0o700)
		case e.mode&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(from); err == nil {
				err = os.Symlink(target, to)
			}
		case e.mode.IsRegular():
			data, ok := stripped[e.rel]
			if !ok {
				data, err = os.ReadFile(from)
			}
			if err == nil {
				err = os.WriteFile(to, data, e.mode.Perm())
			}
		default: // sockets, devices, pipes: nothing a learner needs
		}
		if err != nil {
			return nil, err
		}
	}
	s.next = "cd " + out + " && go test " + testTarget(root, lab)
	return s, nil
}

// testTarget is the package pattern that grades lab.
func testTarget(root string, lab int) string {
	if pkg, ok := labPackages[lab]; ok && isDir(filepath.Join(root, filepath.FromSlash(pkg))) {
		return "./" + pkg + "/"
	}
	if isDir(filepath.Join(root, "labs")) {
		return "./labs/..."
	}
	return "./..."
}

// checkOut vets the -out directory: it must not exist or be empty, and must
// not be inside the tree being copied. It returns out as an absolute path.
func checkOut(root, out string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(abs); err == nil {
		if !fi.IsDir() {
			return "", usageError{fmt.Sprintf("-out %s: exists and is not a directory", out)}
		}
		ents, err := os.ReadDir(abs)
		if err != nil {
			return "", err
		}
		if len(ents) > 0 {
			return "", usageError{fmt.Sprintf("-out %s: directory is not empty; give a new or empty directory", out)}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if within(realPath(abs), realPath(root)) {
		return "", usageError{fmt.Sprintf("-out %s: is inside the source tree %s; give a directory outside it", out, root)}
	}
	return abs, nil
}

// realPath resolves the symlinks of p, or of its nearest existing ancestor.
func realPath(p string) string {
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
