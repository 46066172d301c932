package chapters

// The chapters name files, functions, types and tests of the repository. This
// test keeps them honest: rename raft.(*Raft).campaign or move sim/node.go, and
// it fails with a list of every chapter that still uses the old name.
//
// What counts as a reference (the convention, also summed up at the top of
// 00-start-here.md):
//
//   - Only inline code spans (`like this`) outside fenced code blocks are
//     read. A span that contains white space is prose or a command line
//     (`go test ./labs/election`, `-seed N`) and is never a reference.
//   - A repository path is a span with a slash, written from the repository
//     root: `raft/election.go`, `labs/election`, `./Makefile`, `labs/...`,
//     `raft/*_test.go` (a glob must match something). It must exist. Go
//     import paths are not repository paths: `math/rand` (the standard
//     library) and `github.com/anishathalye/porcupine` (a dot in the first
//     element) are left alone. Line numbers (`raft/log.go:64`) are refused:
//     they go stale with every edit; name the function instead.
//   - A bare Go file name (`election.go`) must be the name of some .go file
//     in the repository; prefer the full path.
//   - A test is a span starting with Test, Benchmark, Fuzz or Example
//     (`TestFigure8Scenario`, or with a subtest: `TestReElection/seed=17`).
//     Some *_test.go file must declare that function.
//   - A method is written `(*Raft).campaign`, `(Progress).String`,
//     `(*labtest.Cluster).One` or, as stack traces print it,
//     `raft.(*Raft).campaign`. The type must have that method, or a field of
//     that name, directly or through an embedded field. A trailing () is
//     allowed: `(*Raft).Ready()`.
//   - A dotted name whose first part is a package of this repository is a
//     package member: `raft.Config`, `sim.Run`, `labtest.ForSeeds`, and with a
//     third part a field or method: `sim.Options.SendBeforeSync`.
//   - A dotted name whose first part is a type of this repository (in any
//     package) is a field or method: `Ready.MustSync`, `Config.PreVote`.
//   - Everything else (`r.vote`, `time.Now`, `porcupine.Model`, `MustSync`,
//     `true`) is just code in a sentence and is not checked. Qualify a name
//     to have it checked.
//
// Two more things are checked, because the chapters quote code:
//
//   - Every line of a ```go fenced block must occur, modulo indentation, in
//     some .go file of the repository: quotes are real code, not paraphrase.
//     Lines "..." and "// ..." mark elisions. Use ```text (or no language)
//     for anything that is not a verbatim quote.
//   - In a ```diff block (the chapters' "a bug this lab catches"), context
//     and removed lines are the reference code the mistake starts from, so
//     they must occur in the source too; added lines are the mistake.
//   - In a ```sh block (commands to run), every ./path argument must exist,
//     and every test named by -run (`-run 'TestReElection/seed=17$'`,
//     `-run 'TestRule_'`, alternatives split by |) must exist, or for a
//     pattern ending in _ , some test must start with it.
//
// Relative Markdown links ([text](02-replication.md)) must point at files
// that exist.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestChapterReferences checks every reference in every chapter.
func TestChapterReferences(t *testing.T) {
	idx := loadIndex(t)
	chapters, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(chapters) == 0 {
		t.Fatal("no chapters (*.md) next to the test")
	}
	var broken []string
	refs := 0
	for _, ch := range chapters {
		src, err := os.ReadFile(ch)
		if err != nil {
			t.Fatal(err)
		}
		res := checkChapter(ch, src, idx)
		broken = append(broken, res.broken...)
		refs += res.checked
	}
	if len(broken) > 0 {
		t.Errorf("%d broken references in the chapters (fix the chapter, or rename the code back):\n\t%s\n"+
			"(what counts as a reference: see the comment at the top of chapters/refs_test.go)",
			len(broken), strings.Join(broken, "\n\t"))
	}
	t.Logf("%d chapters, %d references and quoted lines checked", len(chapters), refs)
}

// TestBrokenReferencesAreReported proves the checker can fail: a chapter that
// names things that do not exist gets each of them reported, and nothing else.
func TestBrokenReferencesAreReported(t *testing.T) {
	idx := loadIndex(t)
	const chapter = "Good: `raft/election.go`, `labs/election`, `labs/...`, `raft/*_test.go`,\n" +
		"`(*Raft).campaign`, `raft.(*Raft).poll`, `(*raftLog).maybeAppend`, `(*Raft).Ready()`,\n" +
		"`raft.Config`, `raft.Config.PreVote`, `Ready.MustSync`, `sim.Run`, `labtest.ForSeeds`,\n" +
		"`(*labtest.Cluster).Partition`, `TestFigure8Scenario`, `TestReElection/seed=17`, `election.go`.\n" +
		"Prose: `go test ./labs/election`, `-seed N`, `r.vote`, `time.Now`, `math/rand`, `MustSync`,\n" +
		"`github.com/anishathalye/porcupine`, `porcupine.Model`, `seed7.html`.\n" +
		"```go\n" +
		"func (r *Raft) campaign(preVote bool) {\n" +
		"\t...\n" +
		"}\n" +
		"```\n" +
		"```text\n" +
		"`raft/nothing.go` in a text block is not read\n" +
		"```\n" +
		"Bad: `raft/nothing.go`, `raft/log.go:64`, `(*Raft).campaignHard`, `raft.NoSuchThing`,\n" +
		"`Ready.MustFsync`, `TestNoSuchTest`, `nosuch.go`, `(*labtest.Cluster).Explode`.\n" +
		"See [the missing chapter](99-missing.md). A span may wrap: `go test\n" +
		"./labs/nothing` is a command, and `raft/nothing2.go` after it is still read.\n" +
		"Runs of backticks pair up by length: ```` ```go ```` then ``raft/nothing3.go``, and a\n" +
		"lone `` is literal before `raft/nothing4.go`.\n" +
		"```go\n" +
		"func (r *Raft) campaign(preVote, really bool) {\n" +
		"```\n" +
		"```sh\n" +
		"go test ./labs/election -run 'TestReElection/seed=17$' -v   # fine\n" +
		"go test ./raft -run 'TestRule_|TestNoSuchRule' ./labs/nothing\n" +
		"```\n" +
		"```diff\n" +
		"-\treturn nothing at all\n" +
		"+\treturn true\n" +
		"```\n"
	res := checkChapter("bogus.md", []byte(chapter), idx)
	want := []string{
		"`raft/nothing.go`", "`raft/log.go:64`", "`(*Raft).campaignHard`", "`raft.NoSuchThing`",
		"`Ready.MustFsync`", "`TestNoSuchTest`", "`nosuch.go`", "`(*labtest.Cluster).Explode`",
		"99-missing.md", "`raft/nothing2.go`", "`raft/nothing3.go`", "`raft/nothing4.go`",
		"campaign(preVote, really bool)", "-run TestNoSuchRule", "./labs/nothing", "return nothing at all",
	}
	for _, w := range want {
		if !slices.ContainsFunc(res.broken, func(b string) bool { return strings.Contains(b, w) }) {
			t.Errorf("broken reference %s was not reported", w)
		}
	}
	if len(res.broken) != len(want) {
		t.Errorf("want %d broken references reported, got %d:\n\t%s", len(want), len(res.broken), strings.Join(res.broken, "\n\t"))
	}
	t.Logf("reported, as they should be:\n\t%s", strings.Join(res.broken, "\n\t"))
	for _, b := range res.broken {
		if !strings.HasPrefix(b, "bogus.md:") {
			t.Errorf("report does not start with chapter:line: %s", b)
		}
	}
}

// index is what the repository declares, read with go/parser.
type index struct {
	root  string
	pkgs  map[string]*pkgDecls    // by package name (test packages included)
	types map[string][]*typeDecls // by type name, across packages
	tests map[string]bool         // Test*/Benchmark*/Fuzz*/Example* in *_test.go
	files map[string]bool         // base names of every .go file
	lines map[string]bool         // every trimmed, non-empty line of Go source
}

type pkgDecls struct {
	name  string
	decls map[string]bool // top-level funcs, types, vars, consts
	types map[string]*typeDecls
}

type typeDecls struct {
	pkg      *pkgDecls
	name     string
	members  map[string]bool // methods, fields, interface methods
	embedded []string        // embedded types: "Sim", "sim.Sim"
}

func (p *pkgDecls) typ(name string) *typeDecls {
	td := p.types[name]
	if td == nil {
		td = &typeDecls{pkg: p, name: name, members: map[string]bool{}}
		p.types[name] = td
	}
	return td
}

// loadIndex parses every Go file of the repository around the chapters.
func loadIndex(t *testing.T) *index {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the chapters must sit one level below the module root: %v", err)
	}
	idx := &index{
		root:  root,
		pkgs:  map[string]*pkgDecls{},
		types: map[string][]*typeDecls{},
		tests: map[string]bool{},
		files: map[string]bool{},
		lines: map[string]bool{},
	}
	fset := token.NewFileSet()
	var parseErrs []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The chapters' own test is not what the chapters are about.
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || p == filepath.Join(root, "chapters")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		idx.files[name] = true
		for line := range bytes.Lines(src) {
			if l := strings.TrimSpace(string(line)); l != "" {
				idx.lines[l] = true
			}
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			parseErrs = append(parseErrs, err.Error())
		}
		if f != nil && f.Name != nil {
			idx.addFile(f, strings.HasSuffix(name, "_test.go"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(parseErrs) > 0 {
		t.Fatalf("the repository does not parse, so references cannot be checked:\n\t%s", strings.Join(parseErrs, "\n\t"))
	}
	for _, p := range idx.pkgs {
		for name, td := range p.types {
			idx.types[name] = append(idx.types[name], td)
		}
	}
	return idx
}

func (idx *index) addFile(f *ast.File, isTest bool) {
	pkg := idx.pkgs[f.Name.Name]
	if pkg == nil {
		pkg = &pkgDecls{name: f.Name.Name, decls: map[string]bool{}, types: map[string]*typeDecls{}}
		idx.pkgs[f.Name.Name] = pkg
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				pkg.decls[d.Name.Name] = true
				if isTest && testName.MatchString(d.Name.Name) {
					idx.tests[d.Name.Name] = true
				}
				continue
			}
			if recv := typeName(d.Recv.List[0].Type); recv != "" {
				pkg.typ(recv).members[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						pkg.decls[n.Name] = true
					}
				case *ast.TypeSpec:
					pkg.decls[s.Name.Name] = true
					td := pkg.typ(s.Name.Name)
					var fields *ast.FieldList
					switch tt := s.Type.(type) {
					case *ast.StructType:
						fields = tt.Fields
					case *ast.InterfaceType:
						fields = tt.Methods
					}
					if fields == nil {
						continue
					}
					for _, fld := range fields.List {
						if len(fld.Names) == 0 {
							if emb := typeName(fld.Type); emb != "" {
								td.embedded = append(td.embedded, emb)
								td.members[emb[strings.LastIndex(emb, ".")+1:]] = true
							}
						}
						for _, n := range fld.Names {
							td.members[n.Name] = true
						}
					}
				}
			}
		}
	}
}

// typeName returns "T" or "pkg.T" for a (receiver or embedded) type
// expression like *T, T[K], *pkg.T.
func typeName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.IndexExpr:
		return typeName(x.X)
	case *ast.IndexListExpr:
		return typeName(x.X)
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		if p, ok := x.X.(*ast.Ident); ok {
			return p.Name + "." + x.Sel.Name
		}
	}
	return ""
}

// hasMember reports whether td has a field or method m, directly or through
// its embedded fields.
func (idx *index) hasMember(td *typeDecls, m string, depth int) bool {
	if td.members[m] {
		return true
	}
	if depth > 4 {
		return false
	}
	for _, emb := range td.embedded {
		pkg, name := td.pkg, emb
		if i := strings.LastIndex(emb, "."); i >= 0 {
			pkg, name = idx.pkgs[emb[:i]], emb[i+1:]
		}
		if pkg == nil {
			continue
		}
		if et := pkg.types[name]; et != nil && idx.hasMember(et, m, depth+1) {
			return true
		}
	}
	return false
}

// checkMember checks that type typ (in package pkg, or in any package when pkg
// is empty) has member m.
func (idx *index) checkMember(pkg, typ, m string) string {
	var candidates []*typeDecls
	if pkg != "" {
		p := idx.pkgs[pkg]
		if p == nil {
			return fmt.Sprintf("no package %s in the repository", pkg)
		}
		if td := p.types[typ]; td != nil {
			candidates = append(candidates, td)
		}
	} else {
		candidates = idx.types[typ]
	}
	if len(candidates) == 0 {
		if pkg != "" {
			return fmt.Sprintf("package %s has no type %s", pkg, typ)
		}
		return fmt.Sprintf("no type %s in the repository", typ)
	}
	for _, td := range candidates {
		if idx.hasMember(td, m, 0) {
			return ""
		}
	}
	return fmt.Sprintf("type %s has no method or field %s", typ, m)
}

var (
	ident      = `[A-Za-z_][A-Za-z0-9_]*`
	testName   = regexp.MustCompile(`^(Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*$`)
	testRef    = regexp.MustCompile(`^((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)(/\S*)?$`)
	lineNumRef = regexp.MustCompile(`^(\./)?[A-Za-z_][\w.-]*(/[\w.*-]+)*\.[A-Za-z]+:\d+`)
	pathRef    = regexp.MustCompile(`^[A-Za-z_][\w-]*(/[\w.*-]+)*(/\.\.\.)?/?$`)
	methodRef  = regexp.MustCompile(`^(?:(` + ident + `)\.)?\((\*)?(?:(` + ident + `)\.)?(` + ident + `)\)\.(` + ident + `)$`)
	dottedRef  = regexp.MustCompile(`^` + ident + `(\.` + ident + `)+$`)
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// checkSpan checks one inline code span. It returns whether the span is a
// reference and, if it is broken, why.
func (idx *index) checkSpan(s string) (isRef bool, problem string) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, " \t") {
		return false, ""
	}
	if lineNumRef.MatchString(s) {
		return true, "line numbers go stale with every edit; name the file and the function instead"
	}
	if m := testRef.FindStringSubmatch(s); m != nil {
		if !idx.tests[m[1]] {
			return true, fmt.Sprintf("no test function %s in any *_test.go file", m[1])
		}
		return true, ""
	}
	if p, ok := strings.CutPrefix(s, "./"); ok || strings.Contains(s, "/") {
		if !ok && !pathRef.MatchString(s) {
			return false, "" // not path-like: a URL, a flag value, a fraction...
		}
		if !ok && idx.isImportPath(s) {
			return false, ""
		}
		return true, idx.checkPath(p)
	}
	if strings.HasSuffix(s, ".go") && !strings.Contains(s, "(") {
		if !idx.files[s] {
			return true, "no Go file of that name in the repository"
		}
		return true, ""
	}
	s = strings.TrimSuffix(s, "()")
	if m := methodRef.FindStringSubmatch(s); m != nil {
		pkg, typ, meth := m[1], m[4], m[5]
		if m[3] != "" {
			if pkg != "" {
				return true, "write either pkg.(*T).M or (*pkg.T).M, not both"
			}
			pkg = m[3]
		}
		return true, idx.checkMember(pkg, typ, meth)
	}
	if dottedRef.MatchString(s) {
		parts := strings.Split(s, ".")
		if p := idx.pkgs[parts[0]]; p != nil {
			if !p.decls[parts[1]] {
				return true, fmt.Sprintf("package %s declares no %s", parts[0], parts[1])
			}
			if len(parts) >= 3 {
				return true, idx.checkMember(parts[0], parts[1], parts[2])
			}
			return true, ""
		}
		if len(idx.types[parts[0]]) > 0 {
			return true, idx.checkMember("", parts[0], parts[1])
		}
	}
	return false, ""
}

// isImportPath reports whether s is a Go import path rather than a path in
// the repository: a module path (a dot in its first element) or a package of
// the standard library.
func (idx *index) isImportPath(s string) bool {
	first, _, _ := strings.Cut(s, "/")
	if strings.Contains(first, ".") {
		return true
	}
	if _, err := os.Stat(filepath.Join(idx.root, filepath.FromSlash(first))); err == nil {
		return false // the repository has it: a repository path
	}
	goroot := build.Default.GOROOT
	if goroot == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(goroot, "src", filepath.FromSlash(strings.TrimSuffix(s, "/..."))))
	return err == nil && fi.IsDir()
}

func (idx *index) checkPath(p string) string {
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/..."), "/")
	full := filepath.Join(idx.root, filepath.FromSlash(p))
	if strings.Contains(p, "*") {
		matches, err := filepath.Glob(full)
		if err != nil || len(matches) == 0 {
			return "the pattern matches no file in the repository"
		}
		return ""
	}
	if _, err := os.Stat(full); err != nil {
		return "no such file or directory in the repository"
	}
	return ""
}

type chapterResult struct {
	broken  []string // "chapter:line: what: why"
	checked int
}

// checkChapter checks one chapter's references, quotes and links.
func checkChapter(name string, src []byte, idx *index) chapterResult {
	var res chapterResult
	report := func(line int, what, why string) {
		res.broken = append(res.broken, fmt.Sprintf("%s:%d: %s: %s", name, line, what, why))
	}
	// Prose is read a paragraph at a time, since a code span may wrap onto
	// the next line.
	var para []string
	paraStart := 0
	flush := func() {
		text := strings.Join(para, "\n")
		lineOf := func(off int) int { return paraStart + strings.Count(text[:off], "\n") }
		spans := codeSpans(text)
		for _, sp := range spans {
			isRef, problem := idx.checkSpan(sp.text)
			if isRef {
				res.checked++
			}
			if problem != "" {
				report(lineOf(sp.start), "`"+sp.text+"`", problem)
			}
		}
		// Links are looked for outside code spans only.
		noSpans := []byte(text)
		for _, sp := range spans {
			for i := sp.start; i < sp.end; i++ {
				if noSpans[i] != '\n' {
					noSpans[i] = ' '
				}
			}
		}
		for _, m := range mdLink.FindAllSubmatchIndex(noSpans, -1) {
			target := string(noSpans[m[2]:m[3]])
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, _, _ := strings.Cut(target, "#")
			res.checked++
			if _, err := os.Stat(filepath.Join(idx.root, "chapters", filepath.FromSlash(file))); err != nil {
				report(lineOf(m[0]), "link "+target, "no such file (links are relative to chapters/)")
			}
		}
		para = para[:0]
	}
	fence, lang := "", ""
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
				continue
			}
			if lang == "sh" {
				for _, c := range idx.checkCommand(line) {
					res.checked++
					if c.problem != "" {
						report(n, "`"+c.what+"` in a command", c.problem)
					}
				}
				continue
			}
			if quoted, ok := quotedLine(lang, line); ok {
				res.checked++
				if !idx.lines[quoted] {
					report(n, fmt.Sprintf("%q", quoted), "quoted in a ```"+lang+" block, but no Go file of the repository has this line")
				}
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			flush()
			fence = trimmed[:3]
			lang = strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1]))
			continue
		}
		if trimmed == "" {
			flush()
			continue
		}
		if len(para) == 0 {
			paraStart = n
		}
		para = append(para, line)
	}
	flush()
	if fence != "" {
		report(len(lines), "fenced block", "never closed")
	}
	return res
}

// A span is an inline code span: its content (stripped of one leading and
// trailing space, as Markdown does) and where it starts and ends in the text.
type span struct {
	text       string
	start, end int
}

// codeSpans finds the inline code spans of a paragraph the way CommonMark
// does: a run of n backticks opens a span that the next run of exactly n
// backticks closes; a run that is never closed is literal text.
func codeSpans(text string) []span {
	var spans []span
	run := func(i int) int { // length of the backtick run at i
		j := i
		for j < len(text) && text[j] == '`' {
			j++
		}
		return j - i
	}
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := run(i)
		closeAt := -1
		for j := i + n; j < len(text); {
			if text[j] != '`' {
				j++
				continue
			}
			if m := run(j); m == n {
				closeAt = j
				break
			} else {
				j += m
			}
		}
		if closeAt < 0 {
			i += n // an unmatched run is literal
			continue
		}
		content := strings.ReplaceAll(text[i+n:closeAt], "\n", " ")
		if len(content) >= 2 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.Trim(content, " ") != "" {
			content = content[1 : len(content)-1]
		}
		spans = append(spans, span{text: content, start: i, end: closeAt + n})
		i = closeAt + n
	}
	return spans
}

type commandRef struct{ what, problem string }

// checkCommand checks the ./paths and the -run test names of one shell
// command line.
func (idx *index) checkCommand(line string) []commandRef {
	line, _, _ = strings.Cut(line, " #") // a trailing comment
	fields := strings.Fields(line)
	var refs []commandRef
	for i, f := range fields {
		if p, ok := strings.CutPrefix(f, "./"); ok {
			refs = append(refs, commandRef{f, idx.checkPath(p)})
		}
		if f != "-run" || i+1 == len(fields) {
			continue
		}
		pattern := strings.Trim(fields[i+1], `'"`)
		for alt := range strings.SplitSeq(pattern, "|") {
			name, _, _ := strings.Cut(alt, "/")
			name = strings.Trim(name, "^$")
			if !strings.HasPrefix(name, "Test") {
				continue
			}
			ref := commandRef{what: "-run " + name}
			if !testName.MatchString(name) {
				ref.problem = "not a plain test name or prefix"
			} else if strings.HasSuffix(name, "_") {
				if !idx.hasTestPrefix(name) {
					ref.problem = "no test function starts with " + name
				}
			} else if !idx.tests[name] {
				ref.problem = fmt.Sprintf("no test function %s in any *_test.go file", name)
			}
			refs = append(refs, ref)
		}
	}
	return refs
}

func (idx *index) hasTestPrefix(prefix string) bool {
	for name := range idx.tests {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// quotedLine returns the part of a line of a fenced block that must occur in
// the Go source: the whole trimmed line of a ```go block (not elisions), the
// context and removed lines of a ```diff block.
func quotedLine(lang, line string) (string, bool) {
	switch lang {
	case "go":
		l := strings.TrimSpace(line)
		if l == "" || l == "..." || strings.HasPrefix(l, "// ...") {
			return "", false
		}
		return l, true
	case "diff":
		if line == "" || strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") {
			return "", false
		}
		switch line[0] {
		case '-', ' ':
			l := strings.TrimSpace(line[1:])
			return l, l != "" && l != "..."
		}
	}
	return "", false
}
