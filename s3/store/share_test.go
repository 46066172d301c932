package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/s3/store"
	"github.com/stretchr/testify/require"
)

const refPrefix = "\x00s3/r/"

func (e *env) copy(srcBucket, srcKey, dstBucket, dstKey string) store.ObjectMeta {
	e.t.Helper()
	m, err := e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: srcBucket, SrcKey: srcKey, DstBucket: dstBucket, DstKey: dstKey})
	require.NoError(e.t, err)
	return m
}

func (e *env) del(bucket, key string) {
	e.t.Helper()
	require.NoError(e.t, e.s.DeleteObject(e.ctx, bucket, key))
}

// A copy of a chunked object shares its chunks: none is written, and they
// go only when the last object that names them does.
func TestCopiesShareChunksUntilTheLastOneGoes(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("share")
	data := randomBytes(3*testChunk+7, 1) // 4 chunks
	e.put(b, "a", data)
	require.Equal(t, 4, e.count(chunksPrefix))

	e.copy(b, "a", b, "b")
	e.copy(b, "b", b, "c") // a copy of a copy
	require.Equal(t, 4, e.count(chunksPrefix), "copies write no chunk")
	require.Equal(t, 1, e.count(refPrefix))
	for _, k := range []string{"a", "b", "c"} {
		require.Equal(t, data, e.get(b, k, nil), k)
	}

	e.del(b, "a")
	e.del(b, "c")
	require.Equal(t, 0, e.gcAfterGrace(), "b still names the chunks")
	require.Equal(t, data, e.get(b, "b", nil))
	require.Equal(t, 1, e.count(refPrefix), "one reference left: the count stays, with the data's chunk count")

	// A copy onto itself (new metadata) keeps the data.
	_, err := e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: b, SrcKey: "b", DstBucket: b, DstKey: "b", ReplaceMeta: true,
		Meta: store.ObjectMeta{ContentType: "text/plain"}})
	require.NoError(t, err)
	require.Equal(t, 0, e.gcAfterGrace())
	require.Equal(t, data, e.get(b, "b", nil))

	// Replacing the last one frees the chunks.
	e.put(b, "b", []byte("small now"))
	require.Equal(t, 4, e.gcAfterGrace())
	require.Equal(t, 0, e.count(chunksPrefix))
	require.Equal(t, 0, e.count(refPrefix))
}

// Data too large for one collector command is marked dead while it goes,
// and the marker goes with the last chunk.
func TestSharedDataCollectedAcrossCommands(t *testing.T) {
	e := newEnv(t, func(o *store.Options) { o.ChunkSize, o.InlineMax = 1024, -1 })
	b := e.bucket("big")
	data := randomBytes(700*1024, 2) // 700 chunks: two collector commands
	e.put(b, "a", data)
	e.copy(b, "a", b, "b")
	e.del(b, "a")
	require.Equal(t, 0, e.gcAfterGrace())
	require.Equal(t, data, e.get(b, "b", nil))
	e.del(b, "b")
	require.Equal(t, 700, e.gcAfterGrace())
	require.Equal(t, 0, e.count(chunksPrefix))
	require.Equal(t, 0, e.count(refPrefix))
}

// sourceReplacingKV replaces the copy source right after the copy has read
// it, once: the copy must not name data that is on its way out.
type sourceReplacingKV struct {
	store.KV
	once    sync.Once
	key     string
	replace func()
}

func (k *sourceReplacingKV) Get(ctx context.Context, key []byte, stale bool) (kv.Item, error) {
	it, err := k.KV.Get(ctx, key, stale)
	if string(key) == k.key {
		k.once.Do(k.replace)
	}
	return it, err
}

func TestCopyWhoseSourceIsReplacedMeanwhileCopiesTheNewSource(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("race")
	old, cur := randomBytes(2*testChunk+1, 3), randomBytes(2*testChunk+2, 4)
	e.put(b, "src", old)
	hook := &sourceReplacingKV{KV: e.kv, key: objectPrefix + "race/src", replace: func() { e.put(b, "src", cur) }}
	s := store.New(hook, e.opts)
	_, err := s.CopyObject(e.ctx, store.CopyInput{SrcBucket: b, SrcKey: "src", DstBucket: b, DstKey: "dst"})
	require.NoError(t, err)
	require.Equal(t, cur, e.get(b, "dst", nil), "the copy linearizes after the replacement")
	// The old data goes; the new one stays for both.
	require.Equal(t, 3, e.gcAfterGrace())
	require.Equal(t, cur, e.get(b, "src", nil))
	require.Equal(t, cur, e.get(b, "dst", nil))
	e.del(b, "src")
	e.del(b, "dst")
	require.Equal(t, 3, e.gcAfterGrace())
	require.Equal(t, 0, e.count(chunksPrefix))
}

// Many copies and deletes of one object at once, then everything deleted:
// every chunk is collected exactly when the last reference goes.
func TestConcurrentCopiesAndDeletesLoseNoReference(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("many")
	data := randomBytes(2*testChunk+3, 5)
	e.put(b, "a", data)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				k := string(rune('b'+w)) + string(rune('0'+i))
				_, err := e.s.CopyObject(e.ctx, store.CopyInput{SrcBucket: b, SrcKey: "a", DstBucket: b, DstKey: k})
				require.NoError(t, err)
				if i%2 == 0 {
					require.NoError(t, e.s.DeleteObject(e.ctx, b, k))
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 0, e.gcAfterGrace())
	res, err := e.s.ListObjects(e.ctx, b, store.ListOptions{})
	require.NoError(t, err)
	require.Len(t, res.Objects, 1+4*5)
	for _, o := range res.Objects {
		require.Equal(t, data, e.get(b, o.Key, nil), o.Key)
	}
	for _, o := range res.Objects {
		e.del(b, o.Key)
	}
	require.Equal(t, 3, e.gcAfterGrace())
	require.Equal(t, 0, e.count(chunksPrefix))
	require.Equal(t, 0, e.count(refPrefix))
}

// UploadPartCopy of whole chunks names them: the aws CLI and boto3 copy
// large objects that way, 8 MiB parts of ranges of the source. The parts
// share the source's data, with the object made of them, until the last
// of all goes; then every chunk goes, the ones no part named too.
func TestUploadPartCopySharesWholeChunks(t *testing.T) {
	e := newMultipartEnv(t) // 1 MiB chunks
	b := e.bucket("parts")
	src := randomBytes(12*mib+77, 6) // 13 chunks, the last short
	e.put(b, "src", src)
	require.Equal(t, 13, e.count(chunksPrefix))

	up, err := e.s.CreateMultipartUpload(e.ctx, b, "dst", store.ObjectMeta{}, store.ChecksumCRC32)
	require.NoError(t, err)
	copyPart := func(n int, start, end int64) store.PartInfo {
		p, err := e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, n, b, "src", &store.Range{Start: start, End: end}, store.Conditions{})
		require.NoError(t, err)
		require.Equal(t, md5hex(src[start:end+1]), p.ETag, "part %d", n)
		return p
	}
	p1 := copyPart(1, 0, 6*mib-1)
	p2 := copyPart(2, 6*mib, 12*mib-1)
	p2 = copyPart(2, 6*mib, 12*mib-1) // again: the first copy's reference is dropped
	p3 := copyPart(3, 12*mib, int64(len(src))-1)
	require.Equal(t, 13, e.count(chunksPrefix), "aligned ranges are shared, not copied")
	unaligned := copyPart(4, 1, 6*mib)
	require.Equal(t, 13+6, e.count(chunksPrefix), "a range that is not whole chunks is copied")
	require.NotEmpty(t, p1.Checksums[store.ChecksumCRC32], "the part's checksum is computed from its bytes")

	m, err := e.s.CompleteMultipartUpload(e.ctx, b, "dst", up.UploadID, []store.CompletePart{
		{Number: 1, ETag: p1.ETag}, {Number: 2, ETag: p2.ETag}, {Number: 3, ETag: p3.ETag}})
	require.NoError(t, err)
	_ = unaligned // part 4 is left out: the collector deletes its copied chunks
	require.Equal(t, multipartETag(src[:6*mib], src[6*mib:12*mib], src[12*mib:]), m.ETag)
	require.Equal(t, src, e.get(b, "dst", nil))
	require.Equal(t, 6, e.gcAfterGrace(), "the unused copied part goes; shared chunks stay")

	e.del(b, "src")
	require.Equal(t, 0, e.gcAfterGrace(), "the object made of parts still names the data")
	require.Equal(t, src, e.get(b, "dst", nil))
	rng := &store.Range{Start: 6*mib - 10, End: 6*mib + 10}
	require.Equal(t, src[6*mib-10:6*mib+11], e.get(b, "dst", rng), "a read across two shared parts")

	e.del(b, "dst")
	require.Equal(t, 13, e.gcAfterGrace(), "the last reference takes every chunk")
	require.Equal(t, 0, e.count(chunksPrefix))
	require.Equal(t, 0, e.count(refPrefix))
}

// An aborted upload's shared parts drop their references; the source keeps
// its data until it goes itself.
func TestAbortedUploadReleasesSharedParts(t *testing.T) {
	e := newMultipartEnv(t)
	b := e.bucket("abort")
	src := randomBytes(10*mib, 7)
	e.put(b, "src", src)
	up, err := e.s.CreateMultipartUpload(e.ctx, b, "dst", store.ObjectMeta{}, "")
	require.NoError(t, err)
	for n, start := range []int64{0, 5 * mib} {
		_, err := e.s.UploadPartCopy(e.ctx, b, "dst", up.UploadID, n+1, b, "src", &store.Range{Start: start, End: start + 5*mib - 1}, store.Conditions{})
		require.NoError(t, err)
	}
	require.NoError(t, e.s.AbortMultipartUpload(e.ctx, b, "dst", up.UploadID))
	require.Equal(t, 0, e.gcAfterGrace())
	require.Equal(t, src, e.get(b, "src", nil))
	e.del(b, "src")
	require.Equal(t, 10, e.gcAfterGrace())
	require.Equal(t, 0, e.count(chunksPrefix))
	require.Equal(t, 0, e.count(refPrefix))
}
