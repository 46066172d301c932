package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/minikv-go/minikv/kv"
	"github.com/minikv-go/minikv/storage"
)

// ListOptions select a page of a bucket's objects.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// StartAfter is exclusive: the listing begins after it. ListObjects
	// v1's Marker and v2's StartAfter and ContinuationToken map to it. A
	// StartAfter inside a common prefix (or equal to one, as NextMarker
	// is) skips the rest of that prefix, so that pages never repeat one.
	StartAfter string
	// MaxKeys bounds the objects plus common prefixes returned: 0 means
	// 1000, and more than 1000 is 1000. (max-keys=0 is for the handler to
	// answer: an empty page.)
	MaxKeys int
}

// ListResult is one page of a listing.
type ListResult struct {
	Objects        []ObjectMeta
	CommonPrefixes []string
	IsTruncated    bool
	NextMarker     string // the last key or common prefix returned
}

// ListObjects lists a bucket's objects in UTF-8 binary key order. With a
// delimiter, keys that contain it after the prefix roll up into one
// common prefix each, counted once in MaxKeys, and the listing jumps past
// all the keys under a common prefix instead of reading them.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	if _, err := s.headBucket(ctx, bucket, false); err != nil {
		return ListResult{}, err
	}
	// Records may hold an inline body of up to 64 KiB: small pages.
	l := lister{s: s, base: objectPrefix(bucket), prefix: opts.Prefix, delim: opts.Delimiter, page: 100,
		name: func(rest []byte) string { return string(rest) }}
	var res ListResult
	var err error
	res.IsTruncated, err = l.run(ctx, l.after(opts.StartAfter), maxKeys(opts.MaxKeys),
		func(it kv.Item, name string) error {
			rec, _, err := decodeObject(it.Value, bucket, name)
			if err != nil {
				return err
			}
			res.Objects = append(res.Objects, rec.Meta)
			res.NextMarker = name
			return nil
		},
		func(prefix string) {
			res.CommonPrefixes = append(res.CommonPrefixes, prefix)
			res.NextMarker = prefix
		})
	if err != nil {
		return ListResult{}, err
	}
	return res, nil
}

func maxKeys(n int) int {
	if n <= 0 || n > MaxListKeys {
		return MaxListKeys
	}
	return n
}

// lister walks the records under base (one bucket's objects or uploads)
// whose names have prefix, rolling names up at delim. The caller has made
// a linearizable read already, so the scans are local.
type lister struct {
	s             *Store
	base          []byte
	prefix, delim string
	page          int                      // records per scan
	name          func(rest []byte) string // the object key of a record, from its kv key after base
}

// after returns the kv key a listing starting after marker begins at.
func (l *lister) after(marker string) []byte {
	if marker == "" {
		return nil
	}
	if cp, ok := l.commonPrefix(marker); ok {
		return l.past(cp)
	}
	return key(string(l.base), marker, "\x00")
}

// commonPrefix returns the common prefix name rolls up into, if any.
func (l *lister) commonPrefix(name string) (string, bool) {
	if l.delim == "" || !strings.HasPrefix(name, l.prefix) {
		return "", false
	}
	i := strings.Index(name[len(l.prefix):], l.delim)
	if i < 0 {
		return "", false
	}
	return name[:len(l.prefix)+i+len(l.delim)], true
}

// past returns the first kv key after every record under name prefix cp.
func (l *lister) past(cp string) []byte {
	if end := storage.PrefixEnd(key(string(l.base), cp)); end != nil {
		return end
	}
	return storage.PrefixEnd(l.base)
}

// run lists from the kv key start: emit for each record, emitPrefix for
// each common prefix, max of them in all. It reports whether more follow.
func (l *lister) run(ctx context.Context, start []byte, max int, emit func(kv.Item, string) error, emitPrefix func(string)) (bool, error) {
	scan := kv.ScanRequest{Prefix: key(string(l.base), l.prefix), Start: start}
	page := l.page
	if l.delim != "" {
		page = min(page, 100) // a page may end at the first common prefix
	}
	count := 0
	for {
		scan.Limit = min(page, max-count+1)
		res, err := l.s.kv.Scan(ctx, scan, true)
		if err != nil {
			return false, fmt.Errorf("s3 store: list: %w", err)
		}
		jumped := false
		for _, it := range res.Items {
			if !bytes.HasPrefix(it.Key, l.base) {
				return false, nil
			}
			name := l.name(it.Key[len(l.base):])
			if count == max {
				return true, nil
			}
			if cp, ok := l.commonPrefix(name); ok {
				emitPrefix(cp)
				count++
				scan.Start, jumped = l.past(cp), true
				break
			}
			if err := emit(it, name); err != nil {
				return false, err
			}
			count++
		}
		if !jumped {
			if res.Next == nil {
				return false, nil
			}
			scan.Start = res.Next
		}
	}
}
