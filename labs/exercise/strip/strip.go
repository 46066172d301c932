// Package strip finds the lab regions marked in minikv's reference code and
// replaces them with stubs, so that a learner gets a tree in which the code of
// a lab is theirs to write.
//
// # The marker format
//
// A region is a run of whole lines between a BEGIN and an END marker, each a
// line comment alone on its line:
//
//	func (l *raftLog) maybeAppend(prevIndex, prevTerm, commit uint64, ents []Entry) (lastNew uint64, ok bool) {
//		// LAB 2 BEGIN: the follower's consistency check and conflict resolution (§5.3)
//		// STUB: return 0, false
//		...reference code...
//		// LAB 2 END
//	}
//
// The BEGIN line names the lab number and, after a colon, a short description
// of what the learner writes there. The END line repeats the lab number.
// Regions never nest, and every BEGIN has its END in the same file.
//
// Right after BEGIN come zero or more "// STUB: <go code>" lines: the code a
// learner starts from, one line of Go per STUB line. Without STUB lines the
// stub is
//
//	panic("lab N: not implemented: <description>")
//
// Stripping replaces everything from BEGIN through END, both included, by a
// TODO comment and the stub, at the BEGIN line's indentation:
//
//	func (l *raftLog) maybeAppend(prevIndex, prevTerm, commit uint64, ents []Entry) (lastNew uint64, ok bool) {
//		// TODO(lab 2): the follower's consistency check and conflict resolution (§5.3)
//		return 0, false
//	}
//
// An import that only the removed code used is dropped too (it would stop the
// package from compiling), and the result is formatted like gofmt does. To
// find what is left to write in a stripped tree, grep for "TODO(lab N)".
//
// Markers are recognised only in real comments (found with go/scanner), so a
// marker inside a string literal, or quoted in a doc comment as above, is
// never taken for one.
package strip

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/scanner"
	"go/token"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// All, passed as the lab to Strip, strips the regions of every lab.
const All = 0

// A Region is one marked region of reference code.
type Region struct {
	File   string   // file name, as given to Parse
	Lab    int      // lab number, >= 1
	Desc   string   // description from the BEGIN line
	Begin  int      // line of the BEGIN marker (1-based)
	End    int      // line of the END marker (1-based)
	Indent string   // leading white space of the BEGIN line
	Stub   []string // code of the STUB lines; none means the panic stub
}

// Pos returns "file:line" of the region's BEGIN marker.
func (r Region) Pos() string { return fmt.Sprintf("%s:%d", r.File, r.Begin) }

// Replacement returns the lines, without line terminators, that replace the
// region: the TODO comment, then the stub, all at the BEGIN line's indentation.
func (r Region) Replacement() []string {
	lines := []string{fmt.Sprintf("%s// TODO(lab %d): %s", r.Indent, r.Lab, r.Desc)}
	if len(r.Stub) == 0 {
		msg := fmt.Sprintf("lab %d: not implemented: %s", r.Lab, r.Desc)
		return append(lines, r.Indent+"panic("+strconv.Quote(msg)+")")
	}
	for _, s := range r.Stub {
		lines = append(lines, r.Indent+s)
	}
	return lines
}

// An Error is a problem at one line of one file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// An ErrorList is every problem found in a file, in line order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0], len(l)-1)
}

// err returns l as an error, or nil when l is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	return l
}

var (
	beginRE = regexp.MustCompile(`^// LAB ([0-9]+) BEGIN(?::[ \t]*(.*))?$`)
	endRE   = regexp.MustCompile(`^// LAB ([0-9]+) END$`)
	stubRE  = regexp.MustCompile(`^// STUB:(?: (.*))?$`)

	// Anything that looks like it was meant to be a marker, so that a typo
	// ("// LAB2 BEGIN", "//LAB 2 END") is an error instead of being ignored.
	looseMarkerRE = regexp.MustCompile(`^//\s*LAB\s*[0-9]*\s*(BEGIN|END)\b`)
	looseStubRE   = regexp.MustCompile(`^//\s*STUB\b`)
)

// Parse returns the regions marked in one Go source file, in order. It reports
// unbalanced, nested and malformed markers as an ErrorList.
func Parse(filename string, src []byte) ([]Region, error) {
	var (
		regions []Region
		errs    ErrorList
		open    []*Region // regions whose END we have not seen yet; more than one only in error
		last    int       // line of the BEGIN or STUB line a STUB may follow
	)
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &Error{filename, line, fmt.Sprintf(format, args...)})
	}

	fset := token.NewFileSet()
	file := fset.AddFile(filename, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT || !strings.HasPrefix(lit, "//") {
			continue
		}
		off := file.Offset(pos)
		line := file.Line(pos)
		indent := src[file.Offset(file.LineStart(line)):off]
		if len(bytes.TrimLeft(indent, " \t")) != 0 {
			continue // a comment after code on the same line is never a marker
		}
		text := strings.TrimRight(lit, " \t\r")

		switch {
		case beginRE.MatchString(text):
			m := beginRE.FindStringSubmatch(text)
			lab, err := strconv.Atoi(m[1])
			if err != nil || lab < 1 {
				fail(line, "bad lab number %q in BEGIN marker", m[1])
			}
			desc := strings.TrimSpace(m[2])
			if desc == "" {
				fail(line, "LAB %s BEGIN has no description (want // LAB %s BEGIN: <description>)", m[1], m[1])
			}
			if len(open) > 0 {
				outer := open[len(open)-1]
				fail(line, "nested region: LAB %s BEGIN inside the LAB %d region opened at line %d", m[1], outer.Lab, outer.Begin)
			}
			open = append(open, &Region{File: filename, Lab: lab, Desc: desc, Begin: line, Indent: string(indent)})
			last = line

		case endRE.MatchString(text):
			m := endRE.FindStringSubmatch(text)
			lab, _ := strconv.Atoi(m[1])
			if len(open) == 0 {
				fail(line, "LAB %s END without a LAB %s BEGIN", m[1], m[1])
				continue
			}
			r := open[len(open)-1]
			open = open[:len(open)-1]
			if r.Lab != lab {
				fail(line, "LAB %s END closes the LAB %d region opened at line %d", m[1], r.Lab, r.Begin)
				continue
			}
			r.End = line
			regions = append(regions, *r)

		case stubRE.MatchString(text):
			switch {
			case len(open) == 0:
				fail(line, "STUB line outside any LAB region")
			case line != last+1:
				r := open[len(open)-1]
				fail(line, "STUB line must come right after the LAB %d BEGIN line (line %d) or another STUB line", r.Lab, r.Begin)
			default:
				r := open[len(open)-1]
				r.Stub = append(r.Stub, stubRE.FindStringSubmatch(text)[1])
				last = line
			}

		case looseMarkerRE.MatchString(text):
			fail(line, "malformed marker %q (want // LAB <n> BEGIN: <description> or // LAB <n> END)", text)
		case looseStubRE.MatchString(text):
			fail(line, "malformed marker %q (want // STUB: <go code>)", text)
		}
	}
	for _, r := range open {
		fail(r.Begin, "LAB %d BEGIN without a LAB %d END", r.Lab, r.Lab)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return regions, nil
}

// A Result is a stripped file.
type Result struct {
	Src     []byte   // the stripped, formatted source
	Regions []Region // the regions that were stripped
	Dropped []string // import paths dropped because only stripped code used them
}

// Strip replaces the regions of the given lab (every lab when lab is All) in
// one Go source file by their stubs, drops the imports that only the removed
// code used, and formats the result. A file without such regions comes back
// unchanged (Result.Regions is empty). If the stripped file is not valid Go,
// the error names the region that most likely broke it.
func Strip(filename string, src []byte, lab int) (*Result, error) {
	regions, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	var chosen []Region
	for _, r := range regions {
		if lab == All || r.Lab == lab {
			chosen = append(chosen, r)
		}
	}
	if len(chosen) == 0 {
		return &Result{Src: src}, nil
	}
	if _, err := parser.ParseFile(token.NewFileSet(), filename, src, parser.SkipObjectResolution); err != nil {
		line := 1
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			line = list[0].Pos.Line
		}
		return nil, &Error{filename, line, "reference code does not parse: " + firstLine(err)}
	}

	// Replace the regions line by line, remembering where each replacement
	// lands in the output so that a parse error can be blamed on a region.
	lines := strings.SplitAfter(string(src), "\n")
	eol := "\n"
	if strings.HasSuffix(lines[0], "\r\n") {
		eol = "\r\n"
	}
	type span struct {
		r          Region
		first, end int // output lines [first, end], 1-based
	}
	var (
		out   strings.Builder
		spans []span
		n     int // output lines written so far
		next  = 0
	)
	for _, r := range chosen {
		for _, l := range lines[next : r.Begin-1] {
			out.WriteString(l)
			n++
		}
		rep := r.Replacement()
		spans = append(spans, span{r, n + 1, n + len(rep)})
		for _, l := range rep {
			out.WriteString(l + eol)
			n++
		}
		next = r.End
	}
	for _, l := range lines[next:] {
		out.WriteString(l)
	}
	stripped := []byte(out.String())

	blame := func(err error) error {
		line := 0
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			line = list[0].Pos.Line
		}
		// The region whose replacement contains the error, else the last one
		// before it (a missing brace shows up further down), else the first.
		b := spans[0]
		for _, s := range spans {
			if s.first <= line {
				b = s
			}
		}
		return &Error{filename, b.r.Begin, fmt.Sprintf("stripping LAB %d region %q gives invalid Go (line %d of the stripped file): %v",
			b.r.Lab, b.r.Desc, line, firstLine(err))}
	}

	stripped, dropped, err := dropUnusedImports(filename, src, stripped)
	if err != nil {
		return nil, blame(err)
	}
	formatted, err := format.Source(stripped)
	if err != nil {
		return nil, blame(err)
	}
	return &Result{Src: formatted, Regions: chosen, Dropped: dropped}, nil
}

// dropUnusedImports removes from after the imports that before used and after
// no longer does: the stripped code was their only user, and Go refuses to
// compile a file with an unused import. Imports that were unused already, or
// whose package name cannot be told from the path, are left alone.
func dropUnusedImports(filename string, before, after []byte) ([]byte, []string, error) {
	fset := token.NewFileSet()
	orig, err := parser.ParseFile(fset, filename, before, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err // checked by the caller already
	}
	fset = token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, after, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	usedBefore, usedAfter := qualifiers(orig), qualifiers(f)

	type cut struct{ from, to int }
	var (
		cuts    []cut
		dropped []string
	)
	tf := fset.File(f.Pos())
	lineStart := func(p token.Pos) int { return tf.Offset(tf.LineStart(tf.Line(p))) }
	lineEnd := func(p token.Pos) int { // just past the line's '\n'
		i := bytes.IndexByte(after[tf.Offset(p):], '\n')
		if i < 0 {
			return len(after)
		}
		return tf.Offset(p) + i + 1
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var gone []*ast.ImportSpec
		for _, spec := range gd.Specs {
			is := spec.(*ast.ImportSpec)
			p, _ := strconv.Unquote(is.Path.Value)
			name := importName(is, p)
			if name == "" || !usedBefore[name] || usedAfter[name] {
				continue
			}
			gone = append(gone, is)
			dropped = append(dropped, p)
		}
		switch {
		case len(gone) == 0:
		case len(gone) == len(gd.Specs):
			from := gd.Pos()
			if gd.Doc != nil {
				from = gd.Doc.Pos()
			}
			cuts = append(cuts, cut{lineStart(from), lineEnd(gd.End())})
		default:
			for _, is := range gone {
				from := is.Pos()
				if is.Doc != nil {
					from = is.Doc.Pos()
				}
				end := is.End()
				if is.Comment != nil {
					end = is.Comment.End()
				}
				cuts = append(cuts, cut{lineStart(from), lineEnd(end)})
			}
		}
	}
	if len(cuts) == 0 {
		return after, nil, nil
	}
	var b bytes.Buffer
	prev := 0
	for _, c := range cuts { // in source order, never overlapping
		b.Write(after[prev:c.from])
		prev = c.to
	}
	b.Write(after[prev:])
	return b.Bytes(), dropped, nil
}

// qualifiers returns the identifiers used as X in a selector X.Sel: every
// name that might refer to an imported package.
func qualifiers(f *ast.File) map[string]bool {
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	return used
}

// importName is the name an import is used by in the file, or "" for blank
// and dot imports.
func importName(is *ast.ImportSpec, importPath string) string {
	if is.Name != nil {
		if is.Name.Name == "_" || is.Name.Name == "." {
			return ""
		}
		return is.Name.Name
	}
	name := path.Base(importPath)
	// "math/rand/v2" is package rand; "gopkg.in/yaml.v3" is package yaml.
	if len(name) >= 2 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = path.Base(path.Dir(importPath))
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "_")
}

func firstLine(err error) string {
	s := err.Error()
	var l scanner.ErrorList
	if errors.As(err, &l) && len(l) > 0 {
		s = l[0].Msg
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Labs returns the distinct lab numbers of regions, in increasing order.
func Labs(regions []Region) []int {
	var labs []int
	for _, r := range regions {
		if !slices.Contains(labs, r.Lab) {
			labs = append(labs, r.Lab)
		}
	}
	slices.Sort(labs)
	return labs
}
