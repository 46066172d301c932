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

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "100": 100, "100B": 100, "4KiB": 4 << 10, "64KiB": 64 << 10, "1MiB": 1 << 20,
		"16MiB": 16 << 20, " 16 MiB ": 16 << 20, "2GiB": 2 << 30, "4kib": 4 << 10,
	} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "KiB", "4KB", "4MB", "1.5MiB", "-1", "4 K", "99999999999999999999", "9999999999999GiB"} {
		_, err := ParseSize(in)
		require.ErrorContains(t, err, "want a whole number of bytes with an optional unit B, KiB, MiB or GiB", in)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 16: "16 B", 1000: "1000 B", 1536: "1536 B", 4096: "4 KiB", 64 << 10: "64 KiB",
		1 << 20: "1 MiB", 16 << 20: "16 MiB", 3 << 30: "3 GiB",
	} {
		require.Equal(t, want, FormatSize(n))
	}
	require.Equal(t, "0.06 MiB/s", mibPerSecond(64<<10))
	require.Equal(t, "62.5 MiB/s", mibPerSecond(1000*64<<10))
	require.Equal(t, "1,234 MiB/s", mibPerSecond(1234<<20))
}
