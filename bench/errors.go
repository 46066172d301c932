package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"
)

// A failure is one failed request: its kind, by which errors are counted,
// and a detail that is kept as the kind's example.
type failure struct {
	kind   string
	detail string
}

func (f *failure) Error() string { return f.kind + ": " + f.detail }

// statusFailure is an answer with a status other than 2xx; the body
// usually says why (minikv and etcd both answer with a JSON error).
func statusFailure(code int, body []byte) *failure {
	return &failure{kind: fmt.Sprintf("HTTP %d", code), detail: excerpt(string(body))}
}

// networkFailure classifies an error from sending a request or reading its
// answer.
func networkFailure(err error) *failure {
	kind := "network error"
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		kind = "connection reset"
	case errors.Is(err, syscall.EPIPE):
		kind = "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		kind = "connection closed by server"
	}
	return &failure{kind: kind, detail: excerpt(err.Error())}
}

// excerpt shortens s to one line of at most 160 bytes.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const limit = 160
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ErrorKind is how many requests failed one way, with the first one's
// detail as an example.
type ErrorKind struct {
	Kind    string `json:"kind"`
	Count   int64  `json:"count"`
	Example string `json:"example,omitempty"`
}

// Errors counts failed requests by kind. The zero value is empty and ready.
type Errors struct {
	byKind map[string]*ErrorKind
}

func (e *Errors) add(f *failure) {
	e.addN(f.kind, 1, f.detail)
}

func (e *Errors) addN(kind string, n int64, example string) {
	if e.byKind == nil {
		e.byKind = make(map[string]*ErrorKind)
	}
	k, ok := e.byKind[kind]
	if !ok {
		k = &ErrorKind{Kind: kind, Example: example}
		e.byKind[kind] = k
	}
	k.Count += n
}

func (e *Errors) merge(o *Errors) {
	for _, k := range o.Kinds() {
		e.addN(k.Kind, k.Count, k.Example)
	}
}

// Total returns the number of failed requests.
func (e *Errors) Total() int64 {
	var n int64
	for _, k := range e.byKind {
		n += k.Count
	}
	return n
}

// Kinds returns the counts, the most frequent first.
func (e *Errors) Kinds() []ErrorKind {
	out := make([]ErrorKind, 0, len(e.byKind))
	for _, k := range e.byKind {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b ErrorKind) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Kind, b.Kind))
	})
	return out
}
