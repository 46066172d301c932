package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

// listKeys are keys a path-minded client would mangle: S3 keeps them as
// they are, and lists them in UTF-8 binary order.
var listKeys = []string{
	"a", "a/", "a//b", "a/b", "a/b/c", "a/b/d", "a/c", "a/../x", "a/./y", "a+b", "a%2Fb",
	"b", "b/", "b/x/", "b/x/y", "c.txt", "dir/", "dir/sub/", "dir/sub/f", "dir/z",
	"ü", "über/x", "日本/語", "z", "z//", "zz", "~tilde", " space", "x\u00a0y", "emoji/😀", "emoji/😀/deep",
	"-", "//lead", "/", "trailing/", "..", "../up",
}

// refList is S3's listing of keys, all at once: the model the paged
// listing is checked against.
func refList(keys []string, prefix, delim string) (entries []string) {
	keys = slices.Clone(keys)
	slices.Sort(keys) // Go compares strings bytewise: UTF-8 binary order
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := "CP:" + k[:len(prefix)+i+len(delim)]
				if len(entries) == 0 || entries[len(entries)-1] != cp {
					entries = append(entries, cp)
				}
				continue
			}
		}
		entries = append(entries, k)
	}
	return entries
}

func TestListObjects(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("list")
	e.bucket("list2") // a bucket whose name extends the first's: never listed with it
	e.put("list2", "a", []byte("other bucket"))
	for _, k := range listKeys {
		e.put(b, k, []byte(k))
	}
	for _, prefix := range []string{"", "a", "a/", "a//", "b/", "dir/", "ü", "z", "emoji/", ".", "none"} {
		for _, delim := range []string{"", "/", "//", "b", ".", "😀"} {
			want := refList(listKeys, prefix, delim)
			for _, page := range []int{1, 2, 3, 7, 0} {
				var got []string
				marker := ""
				for pages := 0; ; pages++ {
					require.Less(t, pages, 100)
					res, err := e.s.ListObjects(e.ctx, b, store.ListOptions{Prefix: prefix, Delimiter: delim, StartAfter: marker, MaxKeys: page})
					require.NoError(t, err)
					n := len(res.Objects) + len(res.CommonPrefixes)
					if page > 0 {
						require.LessOrEqual(t, n, page)
					}
					// Objects and prefixes of a page interleave in key order.
					var entries []string
					for _, o := range res.Objects {
						entries = append(entries, o.Key)
						require.Equal(t, o.Key, string(e.get(b, o.Key, nil)))
						require.Equal(t, int64(len(o.Key)), o.Size)
						require.Equal(t, md5hex([]byte(o.Key)), o.ETag)
					}
					for _, cp := range res.CommonPrefixes {
						entries = append(entries, "CP:"+cp)
					}
					slices.SortFunc(entries, func(x, y string) int {
						return strings.Compare(strings.TrimPrefix(x, "CP:"), strings.TrimPrefix(y, "CP:"))
					})
					got = append(got, entries...)
					if !res.IsTruncated {
						break
					}
					require.Equal(t, n, page, "a truncated page is full")
					require.Equal(t, strings.TrimPrefix(entries[len(entries)-1], "CP:"), res.NextMarker)
					marker = res.NextMarker
				}
				require.Equal(t, want, got, "prefix %q delimiter %q page %d", prefix, delim, page)
			}
		}
	}

	// StartAfter is exclusive and need not be a key.
	res, err := e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "dir/sub/", MaxKeys: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"dir/sub/f", "dir/z", "emoji/😀"}, keysOf(res))
	res, err = e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "dir/s", Prefix: "dir/"})
	require.NoError(t, err)
	require.Equal(t, []string{"dir/sub/", "dir/sub/f", "dir/z"}, keysOf(res))
	res, err = e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "~~~"})
	require.NoError(t, err)
	require.Equal(t, []string{"ü", "über/x", "日本/語"}, keysOf(res), "binary order: ASCII before the rest")
	res, err = e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "\uffff"})
	require.NoError(t, err)
	require.Empty(t, res.Objects)
	require.False(t, res.IsTruncated)
	// A marker inside a common prefix skips the rest of it.
	res, err = e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "a/b/c", Delimiter: "/", Prefix: "a/"})
	require.NoError(t, err)
	require.Equal(t, []string{"a/c"}, keysOf(res))
	require.Empty(t, res.CommonPrefixes)
	res, err = e.s.ListObjects(e.ctx, b, store.ListOptions{StartAfter: "a/b", Delimiter: "/", Prefix: "a/"})
	require.NoError(t, err)
	require.Equal(t, []string{"a/c"}, keysOf(res))
	require.Equal(t, []string{"a/b/"}, res.CommonPrefixes, "a/b/ sorts after a/b")

	// The other bucket's objects stay apart.
	res, err = e.s.ListObjects(e.ctx, "list2", store.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, keysOf(res))
}

func keysOf(res store.ListResult) []string {
	var ks []string
	for _, o := range res.Objects {
		ks = append(ks, o.Key)
	}
	return ks
}

// countingKV counts the items scans return.
type countingKV struct {
	store.KV
	scans, items atomic.Int64
}

func (c *countingKV) Scan(ctx context.Context, req kv.ScanRequest, stale bool) (kv.ScanResult, error) {
	res, err := c.KV.Scan(ctx, req, stale)
	c.scans.Add(1)
	c.items.Add(int64(len(res.Items)))
	return res, err
}

// A delimiter listing jumps over the keys under a common prefix rather
// than reading them.
func TestListSkipsCommonPrefixes(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("skip")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 800; i += 8 {
				e.put(b, fmt.Sprintf("dir%d/file%05d", i%2, i), nil)
			}
		}()
	}
	wg.Wait()
	e.put(b, "top", nil)
	c := &countingKV{KV: e.kv}
	s := store.New(c, e.opts)
	res, err := s.ListObjects(e.ctx, b, store.ListOptions{Delimiter: "/"})
	require.NoError(t, err)
	require.Equal(t, []string{"dir0/", "dir1/"}, res.CommonPrefixes)
	require.Equal(t, []string{"top"}, keysOf(res))
	require.LessOrEqual(t, c.items.Load(), int64(3*100+1), "at most a page per prefix, not 800 keys")

	// Paging through 800 keys reads each about once.
	c.items.Store(0)
	n, marker := 0, ""
	for {
		res, err := s.ListObjects(e.ctx, b, store.ListOptions{Prefix: "dir", StartAfter: marker, MaxKeys: 300})
		require.NoError(t, err)
		n += len(res.Objects)
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
	}
	require.Equal(t, 800, n)
	require.LessOrEqual(t, c.items.Load(), int64(810))
}
