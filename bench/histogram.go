package bench

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values below
// 2^subBits nanoseconds each have their own bucket; above that, every
// power-of-two range [2^k, 2^(k+1)) is split into 2^(subBits-1) equal
// buckets. A bucket is then never wider than 2^-(subBits-1) of the values it
// holds, and a quantile reported as the bucket's midpoint is within half of
// that — with subBits = 8, within 0.4% of a recorded value.
const (
	subBits  = 8
	subCount = 1 << subBits  // buckets below 2^subBits: one per nanosecond
	subHalf  = subCount >> 1 // buckets per power of two above it
)

// HistogramMax is the largest latency a Histogram resolves; larger values
// count in its top bucket (the exact maximum is still kept).
const HistogramMax = 60 * time.Second

// numBuckets covers every value up to HistogramMax.
var numBuckets = bucketOf(int64(HistogramMax)) + 1

// Histogram records durations in a fixed amount of memory (about 30 KiB)
// with a relative error below 1%. It is not safe for concurrent use: each
// client records into its own and the histograms are merged at the end.
type Histogram struct {
	counts []uint64
	count  uint64
	sum    uint64 // nanoseconds; overflows after 584 years of latency
	min    int64
	max    int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the index of the bucket that holds v (v >= 0).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	// shift is how far v must move right to fit in [subHalf, subCount).
	shift := bits.Len64(uint64(v)) - subBits
	return subCount + (shift-1)*subHalf + int(v>>shift) - subHalf
}

// bucketRange returns the smallest value in bucket i and the bucket's width.
func bucketRange(i int) (lo, width int64) {
	if i < subCount {
		return int64(i), 1
	}
	shift := (i-subCount)/subHalf + 1
	sub := int64((i-subCount)%subHalf + subHalf)
	return sub << shift, 1 << shift
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(min(v, int64(HistogramMax)))]++
	h.count++
	h.sum += uint64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count }

// Min returns the smallest recorded value, or 0 if there is none.
func (h *Histogram) Min() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the recorded values, or 0 if there is none.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / h.count)
}

// Quantile returns the value at quantile q (0 <= q <= 1): the smallest
// recorded value v such that at least a fraction q of the values are <= v,
// to within the histogram's precision. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, width := bucketRange(i)
			mid := lo + (width-1)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
