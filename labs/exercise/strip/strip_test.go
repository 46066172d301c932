package strip

import (
	"go/format"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

// The markers in these sources sit inside raw string literals, where Parse
// (which only looks at comments) never sees them when it runs over this file.

const twoLabs = `package p

import (
	"fmt"
	"slices"
	"strings"
)

// Up reports whether a log ending at (i, t) is up to date.
func Up(i, t, li, lt uint64) bool {
	// LAB 1 BEGIN: the election restriction
	// STUB: return true
	return t > lt || (t == lt && i >= li)
	// LAB 1 END
}

func Commit(m []uint64, q int) uint64 {
	// LAB 2 BEGIN: commit by quorum
	// STUB: _ = q
	// STUB: return 0
	s := slices.Clone(m)
	slices.Sort(s)
	return s[len(s)-q]
	// LAB 2 END
}

func Describe(x int) string {
	if x > 0 {
		for {
			// LAB 2 BEGIN: describe "x" deeply
			return fmt.Sprint(x)
			// LAB 2 END
		}
	}
	return strings.ToUpper("none")
}
`

func mustStrip(t *testing.T, src string, lab int) *Result {
	t.Helper()
	res, err := Strip("p.go", []byte(src), lab)
	if err != nil {
		t.Fatalf("Strip(lab %d): %v", lab, err)
	}
	checkGofmt(t, res.Src)
	return res
}

// checkGofmt fails unless src parses and is already gofmt'd.
func checkGofmt(t *testing.T, src []byte) {
	t.Helper()
	if _, err := parser.ParseFile(token.NewFileSet(), "out.go", src, 0); err != nil {
		t.Fatalf("stripped file does not parse: %v\n%s", err, src)
	}
	f, err := format.Source(src)
	if err != nil {
		t.Fatal(err)
	}
	if string(f) != string(src) {
		t.Fatalf("stripped file is not gofmt'd:\n%s", src)
	}
}

func TestParse(t *testing.T) {
	rs, err := Parse("p.go", []byte(twoLabs))
	if err != nil {
		t.Fatal(err)
	}
	want := []Region{
		{File: "p.go", Lab: 1, Desc: "the election restriction", Begin: 11, End: 14, Indent: "\t", Stub: []string{"return true"}},
		{File: "p.go", Lab: 2, Desc: "commit by quorum", Begin: 18, End: 24, Indent: "\t", Stub: []string{"_ = q", "return 0"}},
		{File: "p.go", Lab: 2, Desc: `describe "x" deeply`, Begin: 30, End: 32, Indent: "\t\t\t"},
	}
	if !reflect.DeepEqual(rs, want) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", rs, want)
	}
	if got := Labs(rs); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("Labs = %v, want [1 2]", got)
	}
	if got := rs[0].Pos(); got != "p.go:11" {
		t.Errorf("Pos = %q", got)
	}
}

func TestStubLines(t *testing.T) {
	res := mustStrip(t, twoLabs, 2)
	out := string(res.Src)
	want := "func Commit(m []uint64, q int) uint64 {\n" +
		"\t// TODO(lab 2): commit by quorum\n" +
		"\t_ = q\n" +
		"\treturn 0\n" +
		"}\n"
	if !strings.Contains(out, want) {
		t.Errorf("multi-line STUB not applied; want\n%s\nin\n%s", want, out)
	}
}

func TestPanicStub(t *testing.T) {
	res := mustStrip(t, twoLabs, 2)
	// Without STUB lines: a panic naming the lab and the description, with
	// the description's quotes escaped, at the BEGIN line's indentation.
	want := "\t\tfor {\n" +
		"\t\t\t// TODO(lab 2): describe \"x\" deeply\n" +
		"\t\t\tpanic(\"lab 2: not implemented: describe \\\"x\\\" deeply\")\n" +
		"\t\t}\n"
	if !strings.Contains(string(res.Src), want) {
		t.Errorf("panic stub: want\n%s\nin\n%s", want, res.Src)
	}
}

func TestOnlyChosenLab(t *testing.T) {
	res := mustStrip(t, twoLabs, 2)
	out := string(res.Src)
	if len(res.Regions) != 2 {
		t.Errorf("stripped %d regions of lab 2, want 2", len(res.Regions))
	}
	// Lab 1 keeps its reference code, markers and all.
	for _, keep := range []string{
		"\t// LAB 1 BEGIN: the election restriction\n\t// STUB: return true\n\treturn t > lt || (t == lt && i >= li)\n\t// LAB 1 END\n",
	} {
		if !strings.Contains(out, keep) {
			t.Errorf("lab 1 region changed; want\n%s\nin\n%s", keep, out)
		}
	}
	for _, gone := range []string{"LAB 2", "STUB: _ = q", "slices.Sort", "fmt.Sprint"} {
		if strings.Contains(out, gone) {
			t.Errorf("lab 2 leftover %q in\n%s", gone, out)
		}
	}

	res = mustStrip(t, twoLabs, 1)
	out = string(res.Src)
	if !strings.Contains(out, "\t// TODO(lab 1): the election restriction\n\treturn true\n}") {
		t.Errorf("lab 1 not stripped:\n%s", out)
	}
	if strings.Count(out, "// LAB 2 BEGIN") != 2 || strings.Contains(out, "LAB 1") {
		t.Errorf("wrong regions stripped:\n%s", out)
	}
}

func TestAll(t *testing.T) {
	res := mustStrip(t, twoLabs, All)
	out := string(res.Src)
	if len(res.Regions) != 3 {
		t.Errorf("stripped %d regions, want 3", len(res.Regions))
	}
	if strings.Contains(out, "LAB ") || strings.Contains(out, "STUB") {
		t.Errorf("markers left after stripping all labs:\n%s", out)
	}
	for _, want := range []string{"TODO(lab 1)", "TODO(lab 2): commit by quorum", `TODO(lab 2): describe "x" deeply`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestNoRegionsUnchanged(t *testing.T) {
	src := "package p\n\nfunc  F() {}\n" // not even gofmt'd: left exactly as it is
	res, err := Strip("p.go", []byte(src), 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Src) != src || len(res.Regions) != 0 {
		t.Errorf("file without lab 3 regions changed: %q", res.Src)
	}
	res, err = Strip("p.go", []byte(twoLabs), 3)
	if err != nil || string(res.Src) != twoLabs {
		t.Errorf("file without lab 3 regions changed (err %v)", err)
	}
}

func TestIndentation(t *testing.T) {
	src := `package p

func F(ok bool) int {
	if ok {
		switch {
		default:
			// LAB 4 BEGIN: deep inside
			// STUB: return 1
			return 2
			// LAB 4 END
		}
	}
	return 0
}
`
	rs, err := Parse("p.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rs[0].Replacement(), []string{"\t\t\t// TODO(lab 4): deep inside", "\t\t\treturn 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Replacement = %q, want %q", got, want)
	}
	res := mustStrip(t, src, 4)
	want := "\t\tdefault:\n\t\t\t// TODO(lab 4): deep inside\n\t\t\treturn 1\n\t\t}\n"
	if !strings.Contains(string(res.Src), want) {
		t.Errorf("indentation: want\n%s\nin\n%s", want, res.Src)
	}

	// Spaces instead of tabs still give gofmt'd output.
	spaced := strings.ReplaceAll(src, "\t", "    ")
	mustStrip(t, spaced, 4)
}

func TestDropsImportsOnlyTheRegionUsed(t *testing.T) {
	// Lab 2 is the only user of "slices" and "fmt"; "strings" stays in use.
	res := mustStrip(t, twoLabs, 2)
	if !reflect.DeepEqual(res.Dropped, []string{"fmt", "slices"}) {
		t.Errorf("Dropped = %q, want [fmt slices]", res.Dropped)
	}
	if !strings.Contains(string(res.Src), "import \"strings\"\n") && !strings.Contains(string(res.Src), "\t\"strings\"\n") {
		t.Errorf("strings import dropped:\n%s", res.Src)
	}

	single := `package p

import "sort"

// A comment after the import survives.

func F(s []int) {
	// LAB 1 BEGIN: sort s
	sort.Ints(s)
	// LAB 1 END
}
`
	res = mustStrip(t, single, 1)
	out := string(res.Src)
	if strings.Contains(out, `import "`) || !strings.Contains(out, "// A comment after the import survives.") {
		t.Errorf("single import not dropped cleanly:\n%s", out)
	}

	// An import that was unused before stripping is not ours to touch, and
	// a renamed or versioned import is found by its name.
	renamed := `package p

import (
	_ "embed"
	r "math/rand/v2"
	"math/rand/v2"
)

func F() int {
	// LAB 1 BEGIN: two random numbers
	return r.IntN(3) + rand.IntN(3)
	// LAB 1 END
}
`
	res = mustStrip(t, renamed, 1)
	if !reflect.DeepEqual(res.Dropped, []string{"math/rand/v2", "math/rand/v2"}) || !strings.Contains(string(res.Src), `_ "embed"`) {
		t.Errorf("Dropped = %q:\n%s", res.Dropped, res.Src)
	}
}

func TestMarkersOnlyInComments(t *testing.T) {
	src := "package p\n\nconst s = `\n// LAB 1 BEGIN: in a string\n// LAB 1 END\n`\n\n" +
		"// Doc quoting a marker:\n//\n//\t// LAB 1 BEGIN: quoted\n\n" +
		"var x = 1 // LAB 1 BEGIN: after code\n"
	rs, err := Parse("p.go", []byte(src))
	if err != nil || len(rs) != 0 {
		t.Errorf("Parse = %v, %v; want no regions and no error", rs, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // file:line: message fragments, in order
	}{
		{"unbalanced", "package p\n\nfunc F() {\n\t// LAB 1 BEGIN: x\n}\n",
			[]string{"p.go:4: LAB 1 BEGIN without a LAB 1 END"}},
		{"END without BEGIN", "package p\n\nfunc F() {\n\t// LAB 1 END\n}\n",
			[]string{"p.go:4: LAB 1 END without a LAB 1 BEGIN"}},
		{"nested", "package p\n\n// LAB 1 BEGIN: outer\n// LAB 2 BEGIN: inner\n// LAB 2 END\n// LAB 1 END\n",
			[]string{"p.go:4: nested region: LAB 2 BEGIN inside the LAB 1 region opened at line 3"}},
		{"mismatched", "package p\n\n// LAB 1 BEGIN: x\n// LAB 2 END\n",
			[]string{"p.go:4: LAB 2 END closes the LAB 1 region opened at line 3"}},
		{"no description", "package p\n\n// LAB 1 BEGIN\n// LAB 1 END\n",
			[]string{"p.go:3: LAB 1 BEGIN has no description"}},
		{"lab 0", "package p\n\n// LAB 0 BEGIN: x\n// LAB 0 END\n",
			[]string{`p.go:3: bad lab number "0"`}},
		{"malformed", "package p\n\n// LAB2 BEGIN: x\n\t//LAB 2 END\n",
			[]string{`p.go:3: malformed marker "// LAB2 BEGIN: x"`, `p.go:4: malformed marker "//LAB 2 END"`}},
		{"stray STUB", "package p\n\n// STUB: return\n// LAB 1 BEGIN: x\nvar x = 1\n// STUB: return\n// LAB 1 END\n// STUB return\n",
			[]string{"p.go:3: STUB line outside any LAB region",
				"p.go:6: STUB line must come right after the LAB 1 BEGIN line (line 4)",
				`p.go:8: malformed marker "// STUB return"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.go", []byte(tc.src))
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("Parse error = %v (%T), want an ErrorList", err, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %q", len(list), len(tc.want), list)
			}
			for i, e := range list {
				if !strings.HasPrefix(e.Error(), tc.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, e, tc.want[i])
				}
			}
			// Strip reports the same errors and strips nothing.
			if _, err := Strip("p.go", []byte(tc.src), All); err == nil {
				t.Errorf("Strip: no error")
			}
		})
	}
}

func TestBrokenStubNamesTheRegion(t *testing.T) {
	src := `package p

func F() int {
	// LAB 1 BEGIN: fine
	// STUB: return 1
	return 2
	// LAB 1 END
}

func G() int {
	// LAB 1 BEGIN: the broken one
	// STUB: return (
	return 3
	// LAB 1 END
}
`
	_, err := Strip("p.go", []byte(src), 1)
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("Strip error = %v (%T), want an *Error", err, err)
	}
	if e.Line != 11 || !strings.Contains(e.Msg, `"the broken one"`) || !strings.Contains(e.Msg, "invalid Go") {
		t.Errorf("error = %q, want it to blame the region at line 11", e)
	}

	// A panic stub outside a function body does not parse either.
	top := "package p\n\n// LAB 2 BEGIN: a whole function\nfunc F() {}\n// LAB 2 END\n"
	if _, err := Strip("p.go", []byte(top), 2); err == nil || !strings.HasPrefix(err.Error(), "p.go:3: stripping LAB 2 region") {
		t.Errorf("top-level panic stub: err = %v", err)
	}
	// With a STUB it is fine.
	ok2 := "package p\n\n// LAB 2 BEGIN: a whole function\n// STUB: func F() { panic(0) }\nfunc F() {}\n// LAB 2 END\n"
	mustStrip(t, ok2, 2)
}
