package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

func TestBuckets(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	for _, name := range []string{"zeta", "alpha", "m.i-d"} {
		require.NoError(t, e.s.CreateBucket(ctx, name))
	}
	require.ErrorIs(t, e.s.CreateBucket(ctx, "alpha"), store.ErrBucketAlreadyOwnedByYou)
	require.ErrorIs(t, e.s.CreateBucket(ctx, "Bad_Name"), store.ErrInvalidBucketName)

	bs, err := e.s.ListBuckets(ctx)
	require.NoError(t, err)
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		require.WithinDuration(t, e.clock.Now(), b.Created, time.Minute)
	}
	require.Equal(t, []string{"alpha", "m.i-d", "zeta"}, names)

	info, err := e.s.HeadBucket(ctx, "alpha")
	require.NoError(t, err)
	require.Equal(t, "alpha", info.Name)
	_, err = e.s.HeadBucket(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	_, err = e.s.HeadBucket(ctx, "NOT VALID")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)

	// Not empty: an object, then an unfinished upload.
	e.put("alpha", "k", []byte("v"))
	require.ErrorIs(t, e.s.DeleteBucket(ctx, "alpha"), store.ErrBucketNotEmpty)
	require.NoError(t, e.s.DeleteObject(ctx, "alpha", "k"))
	up, err := e.s.CreateMultipartUpload(ctx, "alpha", "big", store.ObjectMeta{}, "")
	require.NoError(t, err)
	require.ErrorIs(t, e.s.DeleteBucket(ctx, "alpha"), store.ErrBucketNotEmpty)
	// The failed deletions left the bucket fully usable.
	e.put("alpha", "after", []byte("x"))
	require.NoError(t, e.s.DeleteObject(ctx, "alpha", "after"))
	require.NoError(t, e.s.AbortMultipartUpload(ctx, "alpha", "big", up.UploadID))
	require.NoError(t, e.s.DeleteBucket(ctx, "alpha"))
	require.ErrorIs(t, e.s.DeleteBucket(ctx, "alpha"), store.ErrNoSuchBucket)
	_, err = e.s.HeadBucket(ctx, "alpha")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)

	// Writes into a deleted bucket fail; the name can be used again.
	_, err = e.s.PutObject(ctx, store.PutInput{Bucket: "alpha", Key: "k", Body: strings.NewReader("v"), Size: 1})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	_, err = e.s.CreateMultipartUpload(ctx, "alpha", "k", store.ObjectMeta{}, "")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	_, err = e.s.ListObjects(ctx, "alpha", store.ListOptions{})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	require.NoError(t, e.s.CreateBucket(ctx, "alpha"))
	e.put("alpha", "k", []byte("again"))
	require.Equal(t, "again", string(e.get("alpha", "k", nil)))
}

// A PUT racing a DeleteBucket: either the object lands and the deletion
// fails with BucketNotEmpty, or the deletion wins and the PUT fails with
// NoSuchBucket — never a deleted bucket that holds an object.
func TestDeleteBucketRacesPuts(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		b := e.bucket(fmt.Sprintf("race-%d", i))
		var wg sync.WaitGroup
		var putErr, delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, putErr = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: bytes.NewReader(randomBytes(100, 1)), Size: 100})
		}()
		go func() { defer wg.Done(); delErr = e.s.DeleteBucket(e.ctx, b) }()
		wg.Wait()
		if delErr == nil {
			require.ErrorIs(t, putErr, store.ErrNoSuchBucket)
			require.Zero(t, e.count("\x00s3/o/"+b+"/"))
		} else {
			require.ErrorIs(t, delErr, store.ErrBucketNotEmpty)
			require.NoError(t, putErr)
		}
	}
}

func TestObjectSizes(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("sizes")
	for _, n := range []int{0, 1, testInline, testInline + 1, testChunk - 1, testChunk, testChunk + 1, 2 * testChunk, 3*testChunk + 5} {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/known=%v", n, known), func(t *testing.T) {
				data := randomBytes(n, uint64(n))
				key := fmt.Sprintf("obj-%d-%v", n, known)
				size := int64(n)
				if !known {
					size = -1
				}
				meta, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: key, Body: bytes.NewReader(data), Size: size,
					Meta: store.ObjectMeta{ContentType: "application/x-test", UserMeta: map[string]string{"n": fmt.Sprint(n)}}})
				require.NoError(t, err)
				require.Equal(t, md5hex(data), meta.ETag)
				require.Equal(t, int64(n), meta.Size)

				head, err := e.s.HeadObject(e.ctx, b, key)
				require.NoError(t, err)
				require.Equal(t, meta.ETag, head.ETag)
				require.Equal(t, "application/x-test", head.ContentType)
				require.Equal(t, map[string]string{"n": fmt.Sprint(n)}, head.UserMeta)
				require.Equal(t, b, head.Bucket)
				require.Equal(t, key, head.Key)
				require.True(t, meta.LastModified.Equal(head.LastModified))
				require.Zero(t, head.PartsCount)

				require.Equal(t, data, e.get(b, key, nil))
			})
		}
	}
	require.Zero(t, e.count(pendingPrefix), "published data has no pending marker")
	require.Zero(t, e.count(queuePrefix), "nothing replaced, nothing queued")
	// 0..4096 bytes inline; the rest in chunks.
	require.Equal(t, 2*(1+1+1+2+2+4), e.count(chunksPrefix))

	m := e.put(b, "empty", nil)
	require.Equal(t, "d41d8cd98f00b204e9800998ecf8427e", m.ETag)
}

func TestRanges(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("ranges")
	data := randomBytes(3*testChunk+100, 7)
	e.put(b, "big", data)
	small := []byte("0123456789")
	e.put(b, "small", small)
	c := int64(testChunk)
	for _, r := range []store.Range{
		{0, 0}, {0, c - 1}, {c - 1, c}, {c, c}, {c - 1, c - 1}, {c, 2*c - 1}, {c - 10, 2*c + 10},
		{1, int64(len(data)) - 2}, {3 * c, 3*c + 99}, {int64(len(data)) - 1, int64(len(data)) - 1}, {0, int64(len(data)) - 1},
	} {
		require.Equal(t, data[r.Start:r.End+1], e.get(b, "big", &r), "%+v", r)
	}
	require.Equal(t, []byte("345"), e.get(b, "small", &store.Range{Start: 3, End: 5}))

	for _, r := range []store.Range{{0, int64(len(data))}, {5, 4}, {-1, 3}} {
		_, _, err := e.s.GetObject(e.ctx, b, "big", &r)
		require.ErrorIs(t, err, store.ErrInvalidRange, "%+v", r)
	}
	// ParseRange resolves headers against the size the handler got from HEAD.
	rng, err := store.ParseRange("bytes=-5", int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, data[len(data)-5:], e.get(b, "big", rng))
}

func TestObjectErrors(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("errs")
	_, err := e.s.HeadObject(e.ctx, b, "missing")
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	_, _, err = e.s.GetObject(e.ctx, b, "missing", nil)
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	_, err = e.s.HeadObject(e.ctx, "no-bucket", "k")
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
	require.ErrorIs(t, e.s.DeleteObject(e.ctx, "no-bucket", "k"), store.ErrNoSuchBucket)
	require.NoError(t, e.s.DeleteObject(e.ctx, b, "missing"), "deleting a missing key is fine")

	put := func(in store.PutInput) error {
		in.Bucket = b
		if in.Body == nil {
			in.Body = strings.NewReader("data")
			in.Size = 4
		}
		_, err := e.s.PutObject(e.ctx, in)
		return err
	}
	require.ErrorIs(t, put(store.PutInput{Key: ""}), store.ErrInvalidArgument)
	require.ErrorIs(t, put(store.PutInput{Key: strings.Repeat("k", 1025)}), store.ErrKeyTooLong)
	require.NoError(t, put(store.PutInput{Key: strings.Repeat("k", 1024)}))
	require.ErrorIs(t, put(store.PutInput{Key: "bad\xffutf8"}), store.ErrInvalidArgument)
	require.ErrorIs(t, put(store.PutInput{Key: "nul\x00byte"}), store.ErrInvalidArgument)
	require.ErrorIs(t, put(store.PutInput{Key: "k", Size: 6 << 30, Body: strings.NewReader("")}), store.ErrEntityTooLarge)
	require.ErrorIs(t, put(store.PutInput{Key: "k", Meta: store.ObjectMeta{UserMeta: map[string]string{"big": strings.Repeat("v", 2048)}}}), store.ErrMetadataTooLarge)
	require.ErrorIs(t, put(store.PutInput{Key: "k", ContentMD5: []byte("short")}), store.ErrInvalidDigest)
	require.ErrorIs(t, put(store.PutInput{Key: "k", IfNoneMatch: `"abc"`}), store.ErrNotImplemented)
	// A body shorter than its declared size.
	require.ErrorIs(t, put(store.PutInput{Key: "k", Body: strings.NewReader("abc"), Size: 10}), store.ErrIncompleteBody)
	_, err = e.s.HeadObject(e.ctx, b, "k")
	require.ErrorIs(t, err, store.ErrNoSuchKey)
}

func TestChecksumsStored(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("sums")
	data := []byte("123456789")
	known := map[string]string{ // the algorithms' published check values
		store.ChecksumCRC32:     "cbf43926",
		store.ChecksumCRC32C:    "e3069283",
		store.ChecksumCRC64NVME: "ae8b14860a799888",
		store.ChecksumSHA1:      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		store.ChecksumSHA256:    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	}
	for alg, h := range known {
		raw, _ := hex.DecodeString(h)
		want := base64.StdEncoding.EncodeToString(raw)
		// Asked to compute it...
		m, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "computed-" + alg, Body: bytes.NewReader(data), Size: 9, ChecksumAlgorithm: alg})
		require.NoError(t, err)
		require.Equal(t, map[string]string{alg: want}, m.Checksums)
		require.Equal(t, store.ChecksumFullObject, m.ChecksumType)
		// ...or to verify it, across several chunks too.
		big := bytes.Repeat(data, testChunk/4)
		_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "verified-" + alg, Body: bytes.NewReader(big), Size: -1,
			Checksums: map[string]string{alg: store.Checksum(alg, big)}})
		require.NoError(t, err)
		head, err := e.s.HeadObject(e.ctx, b, "verified-"+alg)
		require.NoError(t, err)
		require.Equal(t, store.Checksum(alg, big), head.Checksums[alg])
	}
}

func TestBadDigestLeavesNothing(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("digest")
	data := randomBytes(3*testChunk+1, 3) // chunks are written before the digest is known
	wrongMD5 := md5.Sum([]byte("something else"))
	_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: bytes.NewReader(data), Size: int64(len(data)), ContentMD5: wrongMD5[:]})
	require.ErrorIs(t, err, store.ErrBadDigest)
	require.Equal(t, "BadDigest", store.Code(err))
	var ce *store.ChecksumError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "MD5", ce.Algorithm)

	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: bytes.NewReader(data), Size: int64(len(data)),
		Checksums: map[string]string{store.ChecksumCRC32: store.Checksum(store.ChecksumCRC32, []byte("other"))}})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, store.ChecksumCRC32, ce.Algorithm)
	require.Equal(t, "The CRC32 you specified did not match the calculated checksum.", store.Message(err))

	_, err = e.s.HeadObject(e.ctx, b, "k")
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	require.Zero(t, e.count(pendingPrefix))
	require.Equal(t, 6, e.gc(), "the failed bodies' chunks are queued at once")
	require.Zero(t, e.count(chunksPrefix), "no orphan")
	require.Zero(t, e.count(queuePrefix))

	// A correct digest works.
	good := md5.Sum(data)
	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: bytes.NewReader(data), Size: int64(len(data)), ContentMD5: good[:]})
	require.NoError(t, err)
}

// A body that fails midway (a client that hangs up) leaves no object,
// and its chunks are collected.
func TestPutFailsMidStream(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("fail")
	e.put(b, "k", []byte("old"))
	boom := errors.New("connection reset")
	_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: &failingReader{data: randomBytes(5*testChunk, 1), err: boom}, Size: -1})
	require.ErrorIs(t, err, boom)
	require.Equal(t, "old", string(e.get(b, "k", nil)), "the old version is untouched")
	require.Zero(t, e.count(pendingPrefix))
	require.Equal(t, 4, e.gc(), "four chunks were written before the fifth read failed")
	require.Zero(t, e.count(chunksPrefix))
}

// dyingKV is a kv whose writes start failing at some point, like a writer
// whose node went away: nothing can clean up after it but the collector.
type dyingKV struct {
	store.KV
	left atomic.Int64 // commands that still succeed
}

func (d *dyingKV) Do(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	if d.left.Add(-1) < 0 {
		return kv.Result{}, fmt.Errorf("injected: %w", kv.ErrUnavailable)
	}
	return d.KV.Do(ctx, cmd)
}

func TestAbandonedWriterCollected(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("dead")
	d := &dyingKV{KV: e.kv}
	d.left.Store(3)
	dying := store.New(d, e.opts)
	_, err := dying.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "k", Body: bytes.NewReader(randomBytes(6*testChunk, 2)), Size: -1})
	require.ErrorIs(t, err, kv.ErrUnavailable)
	require.Equal(t, "ServiceUnavailable", store.Code(err))
	require.Equal(t, 1, e.count(pendingPrefix), "the writer died with its marker")
	require.Equal(t, 3, e.count(chunksPrefix))

	require.Zero(t, e.gc(), "a writer may still be alive within GCGrace")
	require.Equal(t, 3, e.count(chunksPrefix))
	require.Equal(t, 3, e.gcAfterGrace())
	require.Zero(t, e.count(chunksPrefix))
	require.Zero(t, e.count(pendingPrefix))

	// A writer that stalls past GCGrace finds its data gone and fails
	// rather than publishing an object without data.
	slow := &stallingReader{data: randomBytes(4*testChunk, 3), stallAt: 2 * testChunk, stall: func() {
		e.clock.Advance(store.DefaultGCGrace + time.Second)
		e.gc()
	}}
	_, err = e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "slow", Body: slow, Size: -1})
	require.ErrorIs(t, err, store.ErrRequestTimeout)
	_, err = e.s.HeadObject(e.ctx, b, "slow")
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	e.gc()
	require.Zero(t, e.count(chunksPrefix))
}

// stallingReader calls stall once, when stallAt bytes have been read.
type stallingReader struct {
	data    []byte
	off     int
	stallAt int
	stall   func()
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.off == r.stallAt && r.stall != nil {
		r.stall()
		r.stall = nil
	}
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.off < r.stallAt {
		end = r.stallAt
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

// A reader that began on the old version reads all of it while the
// object is replaced, and even deleted; the old data goes after GCGrace.
func TestOverwriteIsAtomic(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("atomic")
	v1, v2 := randomBytes(5*testChunk+3, 1), randomBytes(4*testChunk, 2)
	e.put(b, "k", v1)

	meta, body, err := e.s.GetObject(e.ctx, b, "k", nil)
	require.NoError(t, err)
	require.Equal(t, md5hex(v1), meta.ETag)
	first := make([]byte, testChunk+10)
	_, err = io.ReadFull(body, first)
	require.NoError(t, err)

	m2 := e.put(b, "k", v2)
	require.Equal(t, v2, e.get(b, "k", nil), "new readers see the new version at once")
	require.Zero(t, e.gc(), "the old data stays for GCGrace")

	rest, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, v1, append(first, rest...), "the old reader read the old version, whole")

	require.Equal(t, 6, e.gcAfterGrace(), "v1's six chunks")
	require.Equal(t, 4, e.count(chunksPrefix))
	head, err := e.s.HeadObject(e.ctx, b, "k")
	require.NoError(t, err)
	require.Equal(t, m2.ETag, head.ETag)

	// Deleting queues the data too.
	require.NoError(t, e.s.DeleteObject(e.ctx, b, "k"))
	_, _, err = e.s.GetObject(e.ctx, b, "k", nil)
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	require.Zero(t, e.gc())
	require.Equal(t, 4, e.gcAfterGrace())
	require.Zero(t, e.count(chunksPrefix))
	require.Zero(t, e.count(queuePrefix))

	// Concurrent overwrites of one key: every GET sees one whole version.
	versions := map[string][]byte{}
	for i := range 4 {
		d := randomBytes(2*testChunk+i, uint64(10+i))
		versions[md5hex(d)] = d
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, d := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				_, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: "hot", Body: bytes.NewReader(d), Size: int64(len(d))})
				require.NoError(t, err)
			}
		}()
	}
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			m, body, err := e.s.GetObject(e.ctx, b, "hot", nil)
			if errors.Is(err, store.ErrNoSuchKey) {
				continue
			}
			require.NoError(t, err)
			got, err := io.ReadAll(body)
			body.Close()
			require.NoError(t, err)
			require.Equal(t, m.ETag, md5hex(got), "a GET never mixes versions")
			require.Contains(t, versions, m.ETag)
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	e.gcAfterGrace()
	last, err := e.s.HeadObject(e.ctx, b, "hot")
	require.NoError(t, err)
	require.Equal(t, int((last.Size+testChunk-1)/testChunk), e.count(chunksPrefix), "only the last version's chunks are left")
}

func TestConditionalPuts(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("cond")
	put := func(key, data, ifMatch, ifNoneMatch string) (store.ObjectMeta, error) {
		return e.s.PutObject(e.ctx, store.PutInput{Bucket: b, Key: key, Body: strings.NewReader(data), Size: int64(len(data)), IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	m, err := put("k", "one", "", "*")
	require.NoError(t, err)
	_, err = put("k", "two", "", "*")
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = put("k", "two", `"0123"`, "")
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = put("missing", "two", `"0123"`, "")
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	_, err = put("k", "two", `"`+m.ETag+`"`, "")
	require.NoError(t, err)
	require.Equal(t, "two", string(e.get(b, "k", nil)))

	// Creation races: exactly one of several If-None-Match: * writers wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := strings.Repeat(fmt.Sprint(i), testChunk+1) // two chunks: a marker and a publish
			_, err := put("race", data, "", "*")
			if err == nil {
				wins.Add(1)
			} else {
				require.ErrorIs(t, err, store.ErrPreconditionFailed)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), wins.Load())
	e.gcAfterGrace()
	require.Equal(t, 2, e.count(chunksPrefix), "the losers' chunks were collected")
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	src, dst := e.bucket("src"), e.bucket("dst")
	data := randomBytes(2*testChunk+9, 5)
	m, err := e.s.PutObject(e.ctx, store.PutInput{Bucket: src, Key: "a", Body: bytes.NewReader(data), Size: int64(len(data)),
		Meta: store.ObjectMeta{ContentType: "text/x", UserMeta: map[string]string{"x": "1"}}, ChecksumAlgorithm: store.ChecksumCRC32C})
	require.NoError(t, err)

	c, err := e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "b"})
	require.NoError(t, err)
	require.Equal(t, m.ETag, c.ETag)
	require.Equal(t, "text/x", c.ContentType)
	require.Equal(t, map[string]string{"x": "1"}, c.UserMeta)
	require.Equal(t, m.Checksums, c.Checksums)
	require.Equal(t, data, e.get(dst, "b", nil))

	c, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "b", ReplaceMeta: true,
		Meta: store.ObjectMeta{ContentType: "image/png"}})
	require.NoError(t, err)
	require.Equal(t, "image/png", c.ContentType)
	require.Nil(t, c.UserMeta)

	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: src, DstKey: "a"})
	require.ErrorIs(t, err, store.ErrInvalidRequest, "a copy onto itself must change something")
	c, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: src, DstKey: "a", ReplaceMeta: true,
		Meta: store.ObjectMeta{UserMeta: map[string]string{"y": "2"}}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"y": "2"}, c.UserMeta)
	require.Equal(t, data, e.get(src, "a", nil))

	// Source conditions.
	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "c", IfMatch: `"nope"`})
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "c", IfNoneMatch: m.ETag})
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "c", IfModifiedSince: e.clock.Now().Add(time.Hour)})
	require.ErrorIs(t, err, store.ErrPreconditionFailed)
	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: dst, DstKey: "c", IfMatch: m.ETag, IfUnmodifiedSince: time.Unix(0, 0)})
	require.NoError(t, err, "If-Match true wins over If-Unmodified-Since false")

	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "zz", DstBucket: dst, DstKey: "c"})
	require.ErrorIs(t, err, store.ErrNoSuchKey)
	_, err = e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: src, SrcKey: "a", DstBucket: "no-such", DstKey: "c"})
	require.ErrorIs(t, err, store.ErrNoSuchBucket)
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("multi")
	keys := make([]string, 600) // more than one command's worth
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += 8 {
				keys[i] = fmt.Sprintf("k%04d", i)
				size := 10
				if i%100 == 0 {
					size = testChunk + 1
				}
				e.put(b, keys[i], randomBytes(size, uint64(i)))
			}
		}()
	}
	wg.Wait()
	req := append([]string{"absent", "k0001", "", strings.Repeat("x", 2000)}, keys...)
	errs := e.s.DeleteObjects(e.ctx, b, req)
	require.Len(t, errs, len(req))
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.ErrorIs(t, errs[2], store.ErrInvalidArgument)
	require.ErrorIs(t, errs[3], store.ErrKeyTooLong)
	for _, err := range errs[4:] {
		require.NoError(t, err)
	}
	res, err := e.s.ListObjects(e.ctx, b, store.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Objects)
	require.Equal(t, 12, e.gcAfterGrace())

	errs = e.s.DeleteObjects(e.ctx, "no-such-bucket", []string{"a", "b"})
	require.ErrorIs(t, errs[0], store.ErrNoSuchBucket)
	require.ErrorIs(t, errs[1], store.ErrNoSuchBucket)
}
