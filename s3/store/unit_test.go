package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/stretchr/testify/require"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h    string
		size int64
		want *Range
		err  error
	}{
		{"", 10, nil, nil},
		{"bytes=0-0", 10, &Range{0, 0}, nil},
		{"bytes=0-9", 10, &Range{0, 9}, nil},
		{"bytes=2-5", 10, &Range{2, 5}, nil},
		{"bytes=5-100", 10, &Range{5, 9}, nil}, // end clamped
		{"bytes=5-", 10, &Range{5, 9}, nil},
		{"bytes=-3", 10, &Range{7, 9}, nil},
		{"bytes=-30", 10, &Range{0, 9}, nil}, // suffix longer than the object
		{"bytes=9-9", 10, &Range{9, 9}, nil},
		{"bytes=10-", 10, nil, ErrInvalidRange}, // start at EOF
		{"bytes=10-20", 10, nil, ErrInvalidRange},
		{"bytes=-0", 10, nil, ErrInvalidRange},
		{"bytes=0-0", 0, nil, ErrInvalidRange}, // any range of an empty object
		{"bytes=-5", 0, nil, ErrInvalidRange},
		{"bytes=0-", 0, nil, ErrInvalidRange},
		{"bytes=0-1,3-4", 10, nil, nil}, // several ranges: the whole object
		{"bytes=5-2", 10, nil, nil},     // malformed: ignored
		{"bytes=a-b", 10, nil, nil},
		{"bytes=-", 10, nil, nil},
		{"bytes 0-1", 10, nil, nil},
		{"items=0-1", 10, nil, nil},
		{"bytes=+1-2", 10, nil, nil},
	} {
		got, err := ParseRange(tc.h, tc.size)
		require.Equal(t, tc.want, got, "%q of %d", tc.h, tc.size)
		require.Equal(t, tc.err, err, "%q of %d", tc.h, tc.size)
	}
	r := Range{5, 9}
	require.Equal(t, int64(5), r.Length())
	require.Equal(t, "bytes 5-9/10", r.ContentRange(10))
}

func TestValidBucketName(t *testing.T) {
	for _, ok := range []string{"abc", "my-bucket", "my.bucket.name", "a1b", "123", "x" + string(make([]byte, 0)) + "yz",
		"a-b-c", "0.0.0.0.0", "1.2.3", "xn-abc", "bucket-s3alia"} {
		require.NoError(t, ValidBucketName(ok), ok)
	}
	long := ""
	for range 64 {
		long += "a"
	}
	for _, bad := range []string{"", "ab", long, "ABC", "my_bucket", "-abc", "abc-", ".abc", "abc.", "a..b", "a.-b", "a-.b",
		"192.168.5.4", "xn--abc", "sthree-abc", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3", "abc.mrap", "abc--x-s3",
		"abc--table-s3", "a b", "a/b", "ünï"} {
		err := ValidBucketName(bad)
		require.ErrorIs(t, err, ErrInvalidBucketName, bad)
		require.Equal(t, "InvalidBucketName", Code(err))
	}
	require.NoError(t, ValidBucketName(long[:63]))
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   string
		status int
	}{
		{nil, "", http.StatusOK},
		{ErrNoSuchKey, "NoSuchKey", 404},
		{fmt.Errorf("context: %w", ErrNoSuchBucket), "NoSuchBucket", 404},
		{errorf(ErrInvalidArgument, "Part number must be an integer"), "InvalidArgument", 400},
		{&ChecksumError{Algorithm: "CRC32"}, "BadDigest", 400},
		{ErrInvalidRange, "InvalidRange", 416},
		{ErrPreconditionFailed, "PreconditionFailed", 412},
		{ErrNotModified, "NotModified", 304},
		{fmt.Errorf("s3 store: put: %w", &kv.NotLeaderError{Leader: 2}), "ServiceUnavailable", 503},
		{fmt.Errorf("x: %w", kv.ErrTimeout), "ServiceUnavailable", 503},
		{errors.New("disk on fire"), "InternalError", 500},
	} {
		require.Equal(t, tc.code, Code(tc.err), "%v", tc.err)
		require.Equal(t, tc.status, Status(tc.err), "%v", tc.err)
	}
	require.Equal(t, "Part number must be an integer", Message(errorf(ErrInvalidArgument, "Part number must be an integer")))
	require.Equal(t, "The CRC32 you specified did not match the calculated checksum.", Message(&ChecksumError{Algorithm: "CRC32"}))
	require.Equal(t, ErrBadDigest.Message, Message(&ChecksumError{Algorithm: "MD5"}))
	require.Equal(t, ErrNoSuchKey.Message, Message(ErrNoSuchKey))
	var ce *ChecksumError
	require.ErrorAs(t, fmt.Errorf("wrapped: %w", &ChecksumError{Algorithm: "SHA256"}), &ce)
	require.Equal(t, "SHA256", ce.Algorithm)
	require.ErrorIs(t, ce, ErrBadDigest)
}

func TestCheckConditions(t *testing.T) {
	lm := time.Date(2026, 3, 1, 12, 0, 0, 500e6, time.UTC) // half a second: HTTP dates have none
	meta := ObjectMeta{ETag: "abc", LastModified: lm}
	before, at, after := lm.Add(-time.Hour), lm.Truncate(time.Second), lm.Add(time.Hour)
	for _, tc := range []struct {
		c         Conditions
		get, copy error
	}{
		{Conditions{}, nil, nil},
		{Conditions{IfMatch: `"abc"`}, nil, nil},
		{Conditions{IfMatch: `"x", "abc"`}, nil, nil},
		{Conditions{IfMatch: "*"}, nil, nil},
		{Conditions{IfMatch: `"x"`}, ErrPreconditionFailed, ErrPreconditionFailed},
		{Conditions{IfNoneMatch: `"abc"`}, ErrNotModified, ErrPreconditionFailed},
		{Conditions{IfNoneMatch: `W/"abc"`}, ErrNotModified, ErrPreconditionFailed},
		{Conditions{IfNoneMatch: `"x"`}, nil, nil},
		{Conditions{IfModifiedSince: before}, nil, nil},
		{Conditions{IfModifiedSince: at}, ErrNotModified, ErrPreconditionFailed},
		{Conditions{IfModifiedSince: after}, ErrNotModified, ErrPreconditionFailed},
		{Conditions{IfUnmodifiedSince: at}, nil, nil},
		{Conditions{IfUnmodifiedSince: before}, ErrPreconditionFailed, ErrPreconditionFailed},
		// If-Match true wins over If-Unmodified-Since false...
		{Conditions{IfMatch: "abc", IfUnmodifiedSince: before}, nil, nil},
		// ...and If-None-Match over If-Modified-Since.
		{Conditions{IfNoneMatch: "x", IfModifiedSince: after}, nil, nil},
		{Conditions{IfNoneMatch: "abc", IfModifiedSince: before}, ErrNotModified, ErrPreconditionFailed},
	} {
		require.Equal(t, tc.get, CheckConditions(meta, tc.c), "%+v", tc.c)
		require.Equal(t, tc.copy, checkConditions(meta, tc.c, true), "copy %+v", tc.c)
	}
}

func TestRecordEncodings(t *testing.T) {
	rec := objectRecord{Meta: ObjectMeta{Bucket: "b", Key: "k/ü", Size: 3, ETag: "e", ContentType: "text/plain",
		UserMeta: map[string]string{"a": "1"}}}
	v := encodeObject(&rec, []byte("abc"))
	require.Equal(t, "b", rec.Meta.Bucket, "encoding leaves the record alone")
	got, inline, err := decodeObject(v, "b", "k/ü")
	require.NoError(t, err)
	require.Equal(t, rec, got)
	require.Equal(t, "abc", string(inline))
	_, _, err = decodeObject([]byte{9, 1, '{'}, "b", "k")
	require.Error(t, err)
	_, _, err = decodeObject([]byte{1, 50, '{'}, "b", "k")
	require.Error(t, err)

	id1, id2 := newID(time.Unix(100, 0)), newID(time.Unix(200, 0))
	require.True(t, validID(id1))
	require.Less(t, id1, id2, "IDs sort by age")
	require.Equal(t, time.Unix(100, 0), idTime(id1))
	require.False(t, validID("../../x"))
	require.False(t, validID(id1[:31]+"G"))

	parts := []manifestPart{{1, dataRef{ID: id1, Size: 5 << 20, ChunkSize: 1 << 20}}, {7, dataRef{ID: id2, Size: 3, ChunkSize: 1 << 20, First: 9}}}
	m, err := decodeManifest(encodeManifest(parts))
	require.NoError(t, err)
	require.Equal(t, parts, m)
	// Format 1, before parts could name a range of shared data.
	v1 := []byte{manifestFormatV1, 1, 1, 3, 0x80, 0x80, 0x40}
	raw, _ := hex.DecodeString(id2)
	m, err = decodeManifest(append(v1, raw...))
	require.NoError(t, err)
	require.Equal(t, []manifestPart{{1, dataRef{ID: id2, Size: 3, ChunkSize: 1 << 20}}}, m)
	_, err = decodeManifest(encodeManifest(parts)[:10])
	require.Error(t, err)
	_, err = decodeManifest(append(encodeManifest(parts), 0))
	require.Error(t, err)
}
