package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exactQuantile is the reference: the smallest value with at least a
// fraction q of the sorted values at or below it.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

// requireClose checks got against want within the histogram's precision.
func requireClose(t *testing.T, want, got time.Duration, msg string) {
	t.Helper()
	tol := float64(want)*0.01 + 1 // 1%, and a nanosecond for tiny values
	require.InDelta(t, float64(want), float64(got), tol, "%s: want %v, got %v", msg, want, got)
}

func TestHistogramBucketsTile(t *testing.T) {
	// Every bucket starts where the previous one ends, and every value
	// lands in the bucket whose range holds it.
	next := int64(0)
	for i := range numBuckets {
		lo, width := bucketRange(i)
		require.Equal(t, next, lo, "bucket %d", i)
		require.Equal(t, i, bucketOf(lo))
		require.Equal(t, i, bucketOf(lo+width-1))
		next = lo + width
	}
	require.Greater(t, next, int64(HistogramMax))
}

func TestHistogramPrecisionBound(t *testing.T) {
	// A bucket is never wider than 1/128 of its smallest value, so its
	// midpoint is within 0.4% of anything in it.
	for i := subCount; i < numBuckets; i++ {
		lo, width := bucketRange(i)
		require.LessOrEqual(t, float64(width)/float64(lo), 1.0/subHalf, "bucket %d", i)
	}
	for _, v := range []time.Duration{0, 1, 255, 256, 257, 1000, 123456, time.Millisecond, 1234567891, HistogramMax} {
		h := NewHistogram()
		h.Record(v)
		got := h.Quantile(0.5)
		require.InDelta(t, float64(v), float64(got), float64(v)*0.004+1, "value %v", v)
	}
}

func TestHistogramQuantilesMatchSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 0-10ms": func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) },
		"lognormal ~1ms": func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.5) * float64(time.Millisecond))
		},
		"tiny": func() time.Duration { return time.Duration(rng.IntN(600)) },
		"bimodal": func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(rng.Int64N(int64(2*time.Second))) + time.Second
			}
			return time.Duration(rng.Int64N(int64(time.Millisecond))) + 200*time.Microsecond
		},
	}
	qs := []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			h := NewHistogram()
			vals := make([]time.Duration, 50_000)
			var sum time.Duration
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
				sum += vals[i]
			}
			slices.Sort(vals)
			for _, q := range qs {
				requireClose(t, exactQuantile(vals, q), h.Quantile(q), "quantile")
			}
			require.Equal(t, uint64(len(vals)), h.Count())
			require.Equal(t, vals[0], h.Min())
			require.Equal(t, vals[len(vals)-1], h.Max())
			require.Equal(t, sum/time.Duration(len(vals)), h.Mean())
		})
	}
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parts := make([]*Histogram, 8)
	whole := NewHistogram()
	var all []time.Duration
	for i := range parts {
		parts[i] = NewHistogram()
		for range 1000 * (i + 1) {
			v := time.Duration(rng.Int64N(int64(time.Duration(i+1) * time.Millisecond)))
			parts[i].Record(v)
			whole.Record(v)
			all = append(all, v)
		}
	}
	merged := NewHistogram()
	merged.Merge(NewHistogram()) // an empty one changes nothing
	for _, p := range parts {
		merged.Merge(p)
	}
	require.Equal(t, whole, merged)
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		requireClose(t, exactQuantile(all, q), merged.Quantile(q), "merged quantile")
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram()
	require.Zero(t, h.Quantile(0.99))
	require.Zero(t, h.Mean())
	require.Zero(t, h.Min())
	require.Zero(t, h.Max())

	h.Record(-time.Second) // clock steps backwards: counted as zero
	require.Equal(t, time.Duration(0), h.Min())

	h = NewHistogram()
	h.Record(5 * time.Minute) // beyond the range: counted, max kept exactly
	h.Record(time.Millisecond)
	require.Equal(t, 5*time.Minute, h.Max())
	require.Equal(t, 5*time.Minute, h.Quantile(1))
	require.InDelta(t, float64(HistogramMax), float64(h.Quantile(0.99)), float64(HistogramMax)*0.01)
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xfffff) * 1000)
	}
}
