package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/minikv-go/minikv/kv"
)

// KV is the replicated key-value store the objects live in: the kv API of
// a node, reserved keys included. server.Internal satisfies it. Do must
// run on the leader; reads are linearizable unless stale.
type KV interface {
	Do(ctx context.Context, cmd kv.Command) (kv.Result, error)
	Get(ctx context.Context, key []byte, stale bool) (kv.Item, error)
	Scan(ctx context.Context, req kv.ScanRequest, stale bool) (kv.ScanResult, error)
}

// Options tune a Store. Zero fields take their defaults.
type Options struct {
	// ChunkSize is the size of the chunks objects are split into, one
	// Raft proposal each. It must not exceed the kv's MaxValueBytes
	// (node.Limits().MaxValueBytes). Default 1 MiB, the kv's default
	// value limit: a chunk is stored as raw bytes, without a header.
	ChunkSize int
	// InlineMax: objects up to this size are stored inside their metadata
	// record (one proposal, one read, nothing to collect when they are
	// replaced). Default 64 KiB; at most ChunkSize; negative: never.
	InlineMax int
	// GCGrace is how long replaced or deleted data stays readable, so
	// that a GET that began on the old version reads it to the end, and
	// how long data being written may sit untouched before the collector
	// takes it for abandoned. Default 5 minutes.
	GCGrace time.Duration
	// UploadTTL is the age at which the collector aborts a multipart
	// upload that was neither completed nor aborted. Default 7 days.
	UploadTTL time.Duration
	// Now is the clock (default time.Now): LastModified and every age the
	// collector judges come from it.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultChunkSize = 1 << 20
	DefaultInlineMax = 64 << 10
	DefaultGCGrace   = 5 * time.Minute
	DefaultUploadTTL = 7 * 24 * time.Hour
)

// S3's size rules.
const (
	MaxPutSize      = 5 << 30 // a single PUT, a copy source, a part
	MaxPartSize     = 5 << 30 // one part of a multipart upload
	MinPartSize     = 5 << 20 // every part but the last
	MaxObjectSize   = 5 << 40 // a completed multipart object
	MaxParts        = 10000   // part numbers are 1..MaxParts
	MaxKeyLength    = 1024    // bytes of an object key
	MaxUserMetaSize = 2 << 10 // names and values of x-amz-meta-*
	MaxListKeys     = 1000    // the most one listing page returns
)

const (
	maxOpsPerBatch = 500 // kv allows 1,000 ops per command; stay well below
	maxAttempts    = 100 // retries of a command that lost a race
	// staleDeleting is the age at which a "deleting" bucket tombstone is
	// taken for the leftover of a DeleteBucket that died between steps.
	staleDeleting = 30 * time.Second
)

// Store keeps S3 buckets, objects and multipart uploads in a KV. It is
// safe for concurrent use. Writes must run on the leader (elsewhere they
// fail with the kv's *kv.NotLeaderError); reads run on any node and are
// linearizable.
type Store struct {
	kv   KV
	opts Options
}

// New returns a Store over kv.
func New(kv KV, opts Options) *Store {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	switch {
	case opts.InlineMax == 0:
		opts.InlineMax = DefaultInlineMax
	case opts.InlineMax < 0:
		opts.InlineMax = -1
	}
	opts.InlineMax = min(opts.InlineMax, opts.ChunkSize)
	if opts.GCGrace <= 0 {
		opts.GCGrace = DefaultGCGrace
	}
	if opts.UploadTTL <= 0 {
		opts.UploadTTL = DefaultUploadTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{kv: kv, opts: opts}
}

func (s *Store) now() time.Time { return s.opts.Now() }

// stamp is a LastModified time: S3 keeps milliseconds.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// batch builds the ops of one atomic kv command.
type batch struct {
	ops    []kv.Op
	chunks []int // the ops that delete chunks, which the collector counts
}

func (b *batch) add(op kv.Op) int { b.ops = append(b.ops, op); return len(b.ops) - 1 }

func (b *batch) put(k, v []byte) int { return b.add(kv.Op{Type: kv.OpPut, Key: k, Value: v}) }

// putIf puts only if k's version is ver (0: only if k does not exist).
func (b *batch) putIf(k, v []byte, ver uint64) int {
	return b.add(kv.Op{Type: kv.OpPut, Key: k, Value: v, CheckVersion: true, IfVersion: ver})
}

func (b *batch) del(k []byte) int { return b.add(kv.Op{Type: kv.OpDelete, Key: k}) }

func (b *batch) delChunk(dataID string, i int) {
	b.chunks = append(b.chunks, b.del(chunkKey(dataID, i)))
}

// deletedChunks counts the chunks b's command, which succeeded, deleted.
func (b *batch) deletedChunks(res kv.Result) int {
	n := 0
	for _, i := range b.chunks {
		if i < len(res.Ops) && res.Ops[i].Found {
			n++
		}
	}
	return n
}

// delIf deletes only if k's version is ver; delIf(k, 0) deletes nothing
// and makes the whole command fail if k exists: the kv's only way to
// check a key without writing it.
func (b *batch) delIf(k []byte, ver uint64) int {
	return b.add(kv.Op{Type: kv.OpDelete, Key: k, CheckVersion: true, IfVersion: ver})
}

func (s *Store) apply(ctx context.Context, b *batch) (kv.Result, error) {
	return s.kv.Do(ctx, kv.Command{Kind: kv.CmdOps, Ops: b.ops})
}

// failedOp returns the index of the op whose version condition failed.
func failedOp(err error) (int, bool) {
	var vm *kv.VersionMismatchError
	if errors.As(err, &vm) {
		return vm.Op, true
	}
	return -1, false
}

// get reads one key; a missing key is not an error.
func (s *Store) get(ctx context.Context, k []byte, stale bool) (kv.Item, bool, error) {
	it, err := s.kv.Get(ctx, k, stale)
	if errors.Is(err, kv.ErrNotFound) {
		return kv.Item{}, false, nil
	}
	if err != nil {
		return kv.Item{}, false, fmt.Errorf("s3 store: read: %w", err)
	}
	return it, true, nil
}

// cleanupContext is for work that must run even though the request's
// context is done (a client that hung up leaves chunks to queue).
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("s3 store: %w: %w", kv.ErrTimeout, ctx.Err())
	case <-t.C:
		return nil
	}
}

// checkKey applies S3's rules for object keys, plus one of this store: no
// NUL byte (the upload records put one after the key).
func checkKey(k string) error {
	switch {
	case k == "":
		return errorf(ErrInvalidArgument, "An object key must not be empty.")
	case len(k) > MaxKeyLength:
		return ErrKeyTooLong
	case !utf8.ValidString(k):
		return errorf(ErrInvalidArgument, "Object keys must be valid UTF-8.")
	}
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return errorf(ErrInvalidArgument, "Object keys must not contain a NUL character.")
		}
	}
	return nil
}

// checkMeta applies S3's limit on user metadata.
func checkMeta(m ObjectMeta) error {
	n := 0
	for k, v := range m.UserMeta {
		n += len(k) + len(v)
	}
	if n > MaxUserMetaSize {
		return ErrMetadataTooLarge
	}
	return nil
}
