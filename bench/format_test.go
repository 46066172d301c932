package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		require.Equal(t, want, group(n))
	}
}

func TestLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45:                       "45ns",
		812 * time.Microsecond:   "812µs",
		999600:                   "1.00ms", // rounds up into the next unit
		1234567:                  "1.23ms",
		45600 * time.Microsecond: "45.6ms",
		1230 * time.Millisecond:  "1.23s",
		2 * time.Minute:          "120s",
	} {
		require.Equal(t, want, latency(d), "%d", d)
	}
}
