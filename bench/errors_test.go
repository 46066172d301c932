package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNetworkFailureKinds(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Put", URL: "http://x/v1/kv/k", Err: err} }
	for err, want := range map[error]string{
		wrap(context.DeadlineExceeded):                         "timeout",
		wrap(fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)): "connection refused",
		wrap(fmt.Errorf("read: %w", syscall.ECONNRESET)):       "connection reset",
		wrap(fmt.Errorf("write: %w", syscall.EPIPE)):           "broken pipe",
		wrap(io.EOF):                             "connection closed by server",
		io.ErrUnexpectedEOF:                      "connection closed by server",
		wrap(fmt.Errorf("tls: bad certificate")): "network error",
	} {
		f := networkFailure(err)
		require.Equal(t, want, f.kind, "%v", err)
		require.Equal(t, err.Error(), f.detail)
	}
}

func TestErrorsCountByKind(t *testing.T) {
	var a, b Errors
	require.Zero(t, a.Total())
	require.Empty(t, a.Kinds())
	a.add(statusFailure(503, []byte(`{"error":"no leader"}`)))
	a.add(statusFailure(503, []byte(`{"error":"later"}`)))
	b.add(&failure{kind: "timeout", detail: "slow"})
	b.add(statusFailure(500, []byte("boom")))
	b.add(statusFailure(503, []byte("x")))
	a.merge(&b)
	require.Equal(t, int64(5), a.Total())
	require.Equal(t, []ErrorKind{
		{Kind: "HTTP 503", Count: 3, Example: `{"error":"no leader"}`}, // the first one's detail
		{Kind: "HTTP 500", Count: 1, Example: "boom"},
		{Kind: "timeout", Count: 1, Example: "slow"},
	}, a.Kinds())
}

func TestExcerpt(t *testing.T) {
	require.Equal(t, "a b c", excerpt(" a\n b\t\tc "))
	long := strings.Repeat("é", 200) // two bytes each: the cut must not split one
	got := excerpt(long)
	require.True(t, strings.HasSuffix(got, "…"))
	require.LessOrEqual(t, len(got), 160+len("…"))
	require.Equal(t, strings.Repeat("é", 80)+"…", got)
}
