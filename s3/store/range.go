package store

import (
	"fmt"
	"strconv"
	"strings"
)

// Range is a byte range of an object, both ends inclusive, resolved
// against the object's size (0 <= Start <= End < Size).
type Range struct{ Start, End int64 }

// Length is the number of bytes in r.
func (r Range) Length() int64 { return r.End - r.Start + 1 }

// ContentRange is the Content-Range header of r in an object of size.
func (r Range) ContentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.Start, r.End, size)
}

// ParseRange resolves a Range header against an object's size as S3 does:
//
//   - no header, a header that is not a well-formed "bytes=" range, or
//     several ranges: nil (the whole object, status 200);
//   - "bytes=a-b", "bytes=a-": a must be < size, b is clamped to size-1;
//   - "bytes=-n": the last n bytes (the whole object if n >= size);
//   - any range of an empty object, a start at or past the end, or a
//     suffix of 0 bytes: ErrInvalidRange (416, Content-Range "bytes */size").
func ParseRange(h string, size int64) (*Range, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, nil
	}
	num := func(s string) (int64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" { // suffix range
		n, ok := num(last)
		if !ok {
			return nil, nil
		}
		if n == 0 || size == 0 {
			return nil, ErrInvalidRange
		}
		return &Range{Start: max(0, size-n), End: size - 1}, nil
	}
	start, ok := num(first)
	if !ok {
		return nil, nil
	}
	end := int64(-1)
	if last != "" {
		if end, ok = num(last); !ok || end < start {
			return nil, nil // not a valid range: ignored
		}
	}
	if start >= size {
		return nil, ErrInvalidRange
	}
	if end < 0 || end >= size {
		end = size - 1
	}
	return &Range{Start: start, End: end}, nil
}

func (r *Range) check(size int64) error {
	if r == nil {
		return nil
	}
	if r.Start < 0 || r.End < r.Start || r.End >= size {
		return ErrInvalidRange
	}
	return nil
}
