package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/minikv-go/minikv/kv"
)

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string
	Created time.Time
}

// ValidBucketName applies S3's rules for general purpose bucket names:
// 3 to 63 characters of lower-case letters, digits, dots and hyphens,
// beginning and ending with a letter or digit; no two adjacent dots, and
// no dot next to a hyphen (each dot-separated label is a DNS label); not
// an IPv4 address; none of the prefixes and suffixes AWS reserves.
func ValidBucketName(name string) error {
	bad := func(why string) error {
		return errorf(ErrInvalidBucketName, "The specified bucket is not valid: %s.", why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("a bucket name has 3 to 63 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return bad("only lower-case letters, digits, dots and hyphens are allowed")
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("a bucket name begins and ends with a letter or a digit")
	}
	for _, s := range []string{"..", ".-", "-."} {
		if strings.Contains(name, s) {
			return bad(fmt.Sprintf("%q is not allowed", s))
		}
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return bad("a bucket name must not look like an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad(fmt.Sprintf("the prefix %q is reserved", p))
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad(fmt.Sprintf("the suffix %q is reserved", s))
		}
	}
	return nil
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// CreateBucket creates a bucket. The store has one owner, so an existing
// bucket is ErrBucketAlreadyOwnedByYou.
func (s *Store) CreateBucket(ctx context.Context, name string) error {
	if err := ValidBucketName(name); err != nil {
		return err
	}
	var b batch
	b.putIf(bucketKey(name), mustJSON(bucketRecord{Created: s.stamp()}), 0)
	b.del(tombKey(name)) // a tombstone of an earlier bucket of that name
	if _, err := s.apply(ctx, &b); err != nil {
		if _, ok := failedOp(err); ok {
			return ErrBucketAlreadyOwnedByYou
		}
		return fmt.Errorf("s3 store: create bucket %s: %w", name, err)
	}
	return nil
}

// HeadBucket returns a bucket's information, or ErrNoSuchBucket.
func (s *Store) HeadBucket(ctx context.Context, name string) (BucketInfo, error) {
	return s.headBucket(ctx, name, false)
}

func (s *Store) headBucket(ctx context.Context, name string, stale bool) (BucketInfo, error) {
	if ValidBucketName(name) != nil {
		return BucketInfo{}, ErrNoSuchBucket
	}
	it, ok, err := s.get(ctx, bucketKey(name), stale)
	if err != nil {
		return BucketInfo{}, err
	}
	if !ok {
		return BucketInfo{}, ErrNoSuchBucket
	}
	var rec bucketRecord
	if err := decodeJSON("bucket", it.Value, &rec); err != nil {
		return BucketInfo{}, err
	}
	return BucketInfo{Name: name, Created: rec.Created}, nil
}

// ListBuckets returns every bucket, sorted by name.
func (s *Store) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	var out []BucketInfo
	req := kv.ScanRequest{Prefix: []byte(prefixBucket), Limit: 1000}
	for stale := false; ; stale = true {
		res, err := s.kv.Scan(ctx, req, stale)
		if err != nil {
			return nil, fmt.Errorf("s3 store: list buckets: %w", err)
		}
		for _, it := range res.Items {
			var rec bucketRecord
			if err := decodeJSON("bucket", it.Value, &rec); err != nil {
				return nil, err
			}
			out = append(out, BucketInfo{Name: string(it.Key[len(prefixBucket):]), Created: rec.Created})
		}
		if res.Next == nil {
			return out, nil
		}
		req.Start = res.Next
	}
}

// DeleteBucket deletes an empty bucket: ErrBucketNotEmpty if it holds
// objects or unfinished multipart uploads.
//
// A write cannot check that a key exists without writing it, but it can
// check that one does not: so DeleteBucket first puts a tombstone that
// every command creating an object or an upload checks is absent, then
// checks that the bucket is empty, then deletes the bucket record and
// marks the tombstone "deleted" (in one command, conditional on both
// records' versions), or removes the tombstone if the bucket was not
// empty. Writes that meet a "deleting" tombstone wait for the outcome.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err := s.deleteBucket(ctx, name)
		if err != errRetry {
			return err
		}
	}
	return ErrOperationAborted
}

// errRetry: a command lost a race; start again.
var errRetry = errors.New("s3 store: retry")

func (s *Store) deleteBucket(ctx context.Context, name string) error {
	if ValidBucketName(name) != nil {
		return ErrNoSuchBucket
	}
	it, ok, err := s.get(ctx, bucketKey(name), false)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoSuchBucket
	}
	var b batch
	b.put(tombKey(name), mustJSON(tombRecord{State: tombDeleting, Time: s.now()}))
	res, err := s.apply(ctx, &b)
	if err != nil {
		return fmt.Errorf("s3 store: delete bucket %s: %w", name, err)
	}
	tomb := res.Index
	empty, err := s.bucketEmpty(ctx, name)
	if err != nil || !empty {
		b = batch{}
		b.delIf(tombKey(name), tomb)
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		_, _ = s.apply(cctx, &b) // if this fails, writers take the tombstone for stale after a while
		if err != nil {
			return err
		}
		return ErrBucketNotEmpty
	}
	b = batch{}
	b.delIf(bucketKey(name), it.Version)
	b.putIf(tombKey(name), mustJSON(tombRecord{State: tombDeleted, Time: s.now()}), tomb)
	if _, err := s.apply(ctx, &b); err != nil {
		if _, ok := failedOp(err); ok {
			return errRetry
		}
		return fmt.Errorf("s3 store: delete bucket %s: %w", name, err)
	}
	return nil
}

func (s *Store) bucketEmpty(ctx context.Context, name string) (bool, error) {
	for _, p := range [][]byte{objectPrefix(name), uploadPrefix(name)} {
		res, err := s.kv.Scan(ctx, kv.ScanRequest{Prefix: p, Limit: 1}, false)
		if err != nil {
			return false, fmt.Errorf("s3 store: delete bucket %s: %w", name, err)
		}
		if len(res.Items) > 0 {
			return false, nil
		}
	}
	return true, nil
}

// bucketGone decides what a write does whose "no tombstone" check failed:
// nil to try again (the deletion gave up, or its tombstone was stale),
// ErrNoSuchBucket if the bucket is gone.
func (s *Store) bucketGone(ctx context.Context, name string) error {
	it, ok, err := s.get(ctx, tombKey(name), false)
	if err != nil || !ok {
		return err
	}
	var t tombRecord
	if err := decodeJSON("tombstone", it.Value, &t); err != nil {
		return err
	}
	switch {
	case t.State == tombDeleted:
		return ErrNoSuchBucket
	case s.now().Sub(t.Time) > staleDeleting:
		// A DeleteBucket that died between its steps: its last command
		// is conditional on the tombstone, so removing it is safe.
		var b batch
		b.delIf(tombKey(name), it.Version)
		if _, err := s.apply(ctx, &b); err != nil {
			if _, ok := failedOp(err); !ok {
				return fmt.Errorf("s3 store: %w", err)
			}
		}
		return nil
	}
	return sleep(ctx, 5*time.Millisecond)
}
