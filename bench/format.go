package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// group writes n with thousands separators: 12,345.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// latency writes d with three significant digits in the unit that suits
// it: 812µs, 1.23ms, 45.6ms, 1.02s.
func latency(d time.Duration) string {
	type unit struct {
		size time.Duration
		name string
	}
	for _, u := range []unit{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}} {
		// Values that round up to 1.00 of a unit are written in it.
		if d >= u.size-u.size/2000 {
			return sig3(float64(d)/float64(u.size)) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// sig3 writes x (>= 1) with three significant digits.
func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// The units of sizes: binary multiples, as object sizes are usually given.
var sizeUnits = []struct {
	name string
	size int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseSize parses a size in bytes: a whole number with an optional unit,
// B, KiB, MiB or GiB ("4KiB", "16 MiB", "100"). The decimal units KB, MB
// and GB are refused rather than guessed at.
func ParseSize(s string) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("size %q: want a whole number of bytes with an optional unit B, KiB, MiB or GiB, e.g. 64KiB", s)
	}
	t := strings.TrimSpace(s)
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	if digits == 0 {
		return bad()
	}
	n, err := strconv.ParseInt(t[:digits], 10, 64)
	if err != nil {
		return bad()
	}
	unit := strings.TrimSpace(t[digits:])
	if unit == "" {
		return n, nil
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > math.MaxInt64/u.size {
				return bad()
			}
			return n * u.size, nil
		}
	}
	return bad()
}

// FormatSize writes n in the largest unit it is a whole number of: 16 B,
// 1000 B, 64 KiB, 16 MiB.
func FormatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

// mibPerSecond writes a data rate with three significant digits (or
// grouped, from 1,000 up): 0.06, 3.91, 62.5, 1,234 MiB/s.
func mibPerSecond(bytesPerSecond float64) string {
	mib := bytesPerSecond / (1 << 20)
	switch {
	case mib >= 1000:
		return group(int64(mib+0.5)) + " MiB/s"
	case mib >= 1:
		return sig3(mib) + " MiB/s"
	}
	return fmt.Sprintf("%.2f MiB/s", mib)
}
