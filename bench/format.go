package bench

import (
	"fmt"
	"strconv"
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
