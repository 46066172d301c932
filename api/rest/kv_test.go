package rest_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/server"
	"github.com/stretchr/testify/require"
)

type scanPage struct {
	Items []struct {
		Key       string
		KeyBase64 []byte `json:"key_base64"`
		Value     []byte // base64 in the JSON
		Version   uint64
		ExpiresAt string `json:"expires_at"`
	}
	Next       string
	NextBase64 []byte `json:"next_base64"`
}

func TestPutGetDelete(t *testing.T) {
	n := startSingle(t, nil)

	v1 := put(t, n.url, "greeting", "hello")
	a := do(t, http.MethodGet, n.url+"/v1/kv/greeting", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "hello", string(a.body))
	require.Equal(t, "application/octet-stream", a.header.Get("Content-Type"))
	require.Equal(t, strconv.FormatUint(v1, 10), a.header.Get("X-Minikv-Version"))
	require.Empty(t, a.header.Get("X-Minikv-Expires-At"), "no TTL, no expiry")
	require.Equal(t, "1", a.header.Get("X-Minikv-Node"))

	v2 := put(t, n.url, "greeting", "hello again")
	require.Greater(t, v2, v1, "every write gets a new, larger version")

	a = do(t, http.MethodHead, n.url+"/v1/kv/greeting", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Empty(t, a.body)
	require.Equal(t, strconv.FormatUint(v2, 10), a.header.Get("X-Minikv-Version"))
	require.Equal(t, "11", a.header.Get("Content-Length"))

	var del struct {
		Found   bool
		Version uint64
	}
	do(t, http.MethodDelete, n.url+"/v1/kv/greeting", nil).decode(t, http.StatusOK, &del)
	require.True(t, del.Found)
	require.Equal(t, v2, del.Version, "a delete reports the version it removed")

	e := do(t, http.MethodGet, n.url+"/v1/kv/greeting", nil).requireError(t, http.StatusNotFound, "not_found")
	require.Contains(t, e.Error.Message, `"greeting"`)

	do(t, http.MethodDelete, n.url+"/v1/kv/greeting", nil).decode(t, http.StatusOK, &del)
	require.False(t, del.Found, "deleting an absent key is not an error")
	require.Zero(t, del.Version)
}

func TestKeysWithSlashesAndEscapes(t *testing.T) {
	n := startSingle(t, nil)
	keys := []string{
		"a/b/c", "a//b", "/leading", "trailing/", "a/../b", "./dot", "sp ace", "q?x=1&y", "hash#tag",
		"pct%25", "plus+sign", "unicodé ✓", "semi;colon", "nul\x00inside", "\xff\xfebinary",
	}
	for i, k := range keys {
		// PathEscape escapes "/" too; a client may also send it raw.
		path := url.PathEscape(k)
		if i%2 == 0 {
			path = strings.ReplaceAll(path, "%2F", "/")
		}
		v := put(t, n.url, path, "value of "+k)
		a := do(t, http.MethodGet, n.url+"/v1/kv/"+url.PathEscape(k), nil)
		require.Equal(t, http.StatusOK, a.status, "key %q: %s", k, a.body)
		require.Equal(t, "value of "+k, string(a.body), "key %q", k)
		require.Equal(t, strconv.FormatUint(v, 10), a.header.Get("X-Minikv-Version"))
	}

	// A scan returns every key exactly: in key, or in key_base64 when a
	// JSON string cannot hold it.
	var page scanPage
	do(t, http.MethodGet, n.url+"/v1/kv", nil).decode(t, http.StatusOK, &page)
	var got []string
	for _, it := range page.Items {
		k := it.Key
		if it.KeyBase64 != nil {
			k = string(it.KeyBase64)
		}
		got = append(got, k)
		require.Equal(t, "value of "+k, string(it.Value))
	}
	require.ElementsMatch(t, keys, got)

	// The empty key is not a key.
	do(t, http.MethodGet, n.url+"/v1/kv/", nil).requireError(t, http.StatusBadRequest, "invalid_argument")
	do(t, http.MethodPut, n.url+"/v1/kv/", "x").requireError(t, http.StatusBadRequest, "invalid_argument")
}

func TestEmptyAndBinaryValues(t *testing.T) {
	n := startSingle(t, nil)
	put(t, n.url, "empty", "")
	a := do(t, http.MethodGet, n.url+"/v1/kv/empty", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.Empty(t, a.body)
	require.Equal(t, "0", a.header.Get("Content-Length"))

	bin := make([]byte, 64<<10)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	do(t, http.MethodPut, n.url+"/v1/kv/bin", bin).decode(t, http.StatusOK, &struct{}{})
	a = do(t, http.MethodGet, n.url+"/v1/kv/bin", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.True(t, bytes.Equal(bin, a.body), "a binary value comes back byte for byte")

	var page scanPage
	do(t, http.MethodGet, n.url+"/v1/kv?limit=10", nil).decode(t, http.StatusOK, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, bin, page.Items[0].Value)
	require.Empty(t, page.Items[1].Value)
	require.Contains(t, string(do(t, http.MethodGet, n.url+"/v1/kv?prefix=empty", nil).body), `"value":""`,
		"an empty value is an empty base64 string, not null")
}

func TestTTL(t *testing.T) {
	n := startSingle(t, nil)
	before := time.Now()
	put(t, n.url, "short?ttl=50ms", "lived")
	put(t, n.url, "long?ttl=1h", "lived")

	a := do(t, http.MethodGet, n.url+"/v1/kv/long", nil)
	require.Equal(t, http.StatusOK, a.status)
	exp, err := time.Parse(time.RFC3339, a.header.Get("X-Minikv-Expires-At"))
	require.NoError(t, err)
	require.WithinRange(t, exp, before.Add(time.Hour-time.Second), time.Now().Add(time.Hour+time.Second))

	// Nothing writes: the node's own ticks make the key expire.
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, n.url+"/v1/kv/short", nil).status == http.StatusNotFound
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, n.url+"/v1/kv/long", nil).status)

	// A put without ttl removes the TTL.
	put(t, n.url, "long", "forever")
	require.Empty(t, do(t, http.MethodGet, n.url+"/v1/kv/long", nil).header.Get("X-Minikv-Expires-At"))
}

func TestConditionalWrites(t *testing.T) {
	n := startSingle(t, nil)
	k := n.url + "/v1/kv/cfg"

	v1 := put(t, n.url, "cfg?if_version=0", "v1")
	e := do(t, http.MethodPut, k+"?if_version=0", "again").requireError(t, http.StatusConflict, "version_mismatch")
	require.Equal(t, v1, *e.Error.Actual, "the error names the key's actual version")
	require.Zero(t, *e.Error.Expected)
	require.Equal(t, "cfg", *e.Error.Key)

	v2 := put(t, n.url, "cfg?if_version="+fmt.Sprint(v1), "v2")
	e = do(t, http.MethodPut, k+"?if_version="+fmt.Sprint(v1), "stale").requireError(t, http.StatusConflict, "version_mismatch")
	require.Equal(t, v2, *e.Error.Actual)
	require.Equal(t, "v2", string(do(t, http.MethodGet, k, nil).body), "a failed condition writes nothing")

	do(t, http.MethodDelete, k+"?if_version="+fmt.Sprint(v1), nil).requireError(t, http.StatusConflict, "version_mismatch")
	var del struct {
		Found   bool
		Version uint64
	}
	do(t, http.MethodDelete, k+"?if_version="+fmt.Sprint(v2), nil).decode(t, http.StatusOK, &del)
	require.Equal(t, v2, del.Version)

	e = do(t, http.MethodPut, k+"?if_version=7", "x").requireError(t, http.StatusConflict, "version_mismatch")
	require.Zero(t, *e.Error.Actual, "actual 0: the key does not exist")
}

func TestBatch(t *testing.T) {
	n := startSingle(t, nil)
	v1 := put(t, n.url, "a", "old a")
	put(t, n.url, "gone", "x")

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	body := fmt.Sprintf(`{"ops":[
		{"op":"get","key":"a"},
		{"op":"put","key":"a","value":%q,"if_version":%d},
		{"op":"get","key":"a"},
		{"op":"put","key":"new","value":%q,"if_version":0,"ttl":"1h"},
		{"op":"delete","key":"gone"},
		{"op":"get","key":"missing"},
		{"op":"put","key_base64":%q,"value":""}
	]}`, b64("new a"), v1, b64("n"), b64("\xff"))
	var out struct {
		Version uint64
		Results []struct {
			Op        string
			Found     *bool
			Version   uint64
			Value     *string
			ExpiresAt string `json:"expires_at"`
		}
	}
	do(t, http.MethodPost, n.url+"/v1/batch", body).decode(t, http.StatusOK, &out)
	require.Greater(t, out.Version, v1)
	r := out.Results
	require.Len(t, r, 7)
	require.Equal(t, "get", r[0].Op)
	require.True(t, *r[0].Found)
	require.Equal(t, b64("old a"), *r[0].Value)
	require.Equal(t, v1, r[0].Version)
	require.Equal(t, "put", r[1].Op)
	require.Nil(t, r[1].Found)
	require.Equal(t, out.Version, r[1].Version)
	require.Equal(t, b64("new a"), *r[2].Value, "a get sees the ops before it in the batch")
	require.NotEmpty(t, r[2].Version)
	require.Equal(t, "delete", r[4].Op)
	require.True(t, *r[4].Found)
	require.False(t, *r[5].Found)
	require.Nil(t, r[5].Value)
	require.Equal(t, "new a", string(do(t, http.MethodGet, n.url+"/v1/kv/a", nil).body))
	require.NotEmpty(t, do(t, http.MethodGet, n.url+"/v1/kv/new", nil).header.Get("X-Minikv-Expires-At"))
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, n.url+"/v1/kv/%FF", nil).status)

	// A failed condition anywhere fails the whole batch, naming the op.
	body = fmt.Sprintf(`{"ops":[
		{"op":"put","key":"x","value":%q},
		{"op":"delete","key":"a","if_version":%d}
	]}`, b64("x"), v1)
	e := do(t, http.MethodPost, n.url+"/v1/batch", body).requireError(t, http.StatusConflict, "version_mismatch")
	require.Equal(t, 1, *e.Error.Op)
	require.Equal(t, "a", *e.Error.Key)
	require.Equal(t, v1, *e.Error.Expected)
	require.Equal(t, out.Version, *e.Error.Actual)
	require.Contains(t, e.Error.Message, "op 1")
	do(t, http.MethodGet, n.url+"/v1/kv/x", nil).requireError(t, http.StatusNotFound, "not_found")
}

func TestScanPages(t *testing.T) {
	n := startSingle(t, nil)
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("user/%02d", i)
		want = append(want, k)
		put(t, n.url, k, "v"+k)
	}
	put(t, n.url, "other", "not under the prefix")
	put(t, n.url, "user0", "not under the prefix either")

	var got []string
	start := ""
	pages := 0
	for {
		var page scanPage
		do(t, http.MethodGet, n.url+"/v1/kv?prefix=user/&limit=10&start="+url.QueryEscape(start), nil).decode(t, http.StatusOK, &page)
		pages++
		for _, it := range page.Items {
			got = append(got, it.Key)
			require.Equal(t, "v"+it.Key, string(it.Value))
			require.NotZero(t, it.Version)
		}
		if page.Next == "" {
			break
		}
		start = page.Next
	}
	require.Equal(t, want, got)
	require.Equal(t, 3, pages)

	var page scanPage
	do(t, http.MethodGet, n.url+"/v1/kv?start=user/05&end=user/08&consistency=stale", nil).decode(t, http.StatusOK, &page)
	require.Len(t, page.Items, 3)
	require.Equal(t, "user/05", page.Items[0].Key)
	require.Empty(t, page.Next)

	a := do(t, http.MethodGet, n.url+"/v1/kv?prefix=nothing", nil)
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"items":[]}`, string(a.body))
}

func TestLimits(t *testing.T) {
	n := startSingle(t, func(cfg *server.Config) {
		cfg.Limits.MaxRequestBytes = 32 << 10
		cfg.Limits.MaxValueBytes = 1000
		cfg.Limits.MaxKeyBytes = 100
	})
	// Over the request limit, with and without a Content-Length.
	big := strings.Repeat("x", 33<<10)
	e := do(t, http.MethodPut, n.url+"/v1/kv/big", big).requireError(t, http.StatusRequestEntityTooLarge, "too_large")
	require.Contains(t, e.Error.Message, "max_request_bytes")
	req, err := http.NewRequest(http.MethodPut, n.url+"/v1/kv/big", struct{ *strings.Reader }{strings.NewReader(big)})
	require.NoError(t, err)
	require.EqualValues(t, 0, req.ContentLength, "sent chunked")
	send(t, req).requireError(t, http.StatusRequestEntityTooLarge, "too_large")

	// Over the kv limits.
	do(t, http.MethodPut, n.url+"/v1/kv/v", strings.Repeat("x", 1001)).requireError(t, http.StatusRequestEntityTooLarge, "too_large")
	long := strings.Repeat("k", 101)
	do(t, http.MethodPut, n.url+"/v1/kv/"+long, "x").requireError(t, http.StatusRequestEntityTooLarge, "too_large")
	do(t, http.MethodGet, n.url+"/v1/kv/"+long, nil).requireError(t, http.StatusRequestEntityTooLarge, "too_large")
	ops := strings.Repeat(`{"op":"get","key":"k"},`, 1001)
	do(t, http.MethodPost, n.url+"/v1/batch", `{"ops":[`+ops[:len(ops)-1]+`]}`).requireError(t, http.StatusRequestEntityTooLarge, "too_large")

	// At the limits, all is well.
	put(t, n.url, strings.Repeat("k", 100), strings.Repeat("x", 1000))
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, n.url+"/v1/kv/"+strings.Repeat("k", 100), nil).status)
}

// Keys that start with a NUL byte hold minikv's own data (S3 objects): the
// key-value API refuses them, and scans never list them.
func TestReservedKeysAreRefused(t *testing.T) {
	n := startSingle(t, nil)
	for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodDelete} {
		a := do(t, m, n.url+"/v1/kv/%00s3", strings.NewReader("x"))
		require.Equal(t, http.StatusBadRequest, a.status, m)
		require.Contains(t, string(a.body), "reserved", m)
	}
	a := do(t, http.MethodGet, n.url+"/v1/kv?prefix=%00", nil)
	require.Equal(t, http.StatusBadRequest, a.status)
}
