package main

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
	"time"
)

// The latency histogram is log-linear, like HdrHistogram: values below
// 2·subCount nanoseconds have a bucket each, and every later power of two is
// split into subCount equal buckets. A bucket's width is therefore at most
// 1/subCount of its lower bound, and the value reported for a quantile (the
// bucket's midpoint) is within 1/(2·subCount) ≈ 0.4 % of every value in it.
const (
	subBits  = 7
	subCount = 1 << subBits
	// maxBits bounds the values tracked: 2^40 ns ≈ 18 minutes, far above
	// any request timeout the tool allows. Larger values are clamped.
	maxBits    = 40
	maxValue   = 1<<maxBits - 1
	numBuckets = (maxBits - subBits + 1) << subBits
)

// histogram records durations in fixed memory (numBuckets counters) with
// bounded relative error. It is not safe for concurrent use: each worker
// owns one, and they are merged after the run.
type histogram struct {
	counts   [numBuckets]int64
	n        int64
	sum      int64
	min, max int64
}

// bucketOf returns the bucket index of a value in nanoseconds, 0 ≤ v ≤ maxValue.
func bucketOf(v int64) int {
	e := max(0, bits.Len64(uint64(v))-(subBits+1))
	return e<<subBits + int(v>>e)
}

// bucketBounds returns the smallest and largest value that fall in bucket i.
func bucketBounds(i int) (lo, hi int64) {
	e := max(0, i>>subBits-1)
	m := int64(i - e<<subBits)
	return m << e, (m+1)<<e - 1
}

// record adds one duration; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	v := min(max(int64(d), 0), maxValue)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// merge adds every value recorded in o to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the q-quantile (0 < q ≤ 1) by the nearest-rank method:
// the smallest recorded value v such that at least q·n values are ≤ v, up to
// the bucket precision. It returns 0 for an empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	switch {
	case rank <= 1:
		return time.Duration(h.min) // the extremes are known exactly
	case rank >= h.n:
		return time.Duration(h.max)
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, hi := bucketBounds(i)
		mid := lo + (hi-lo)/2
		// Never report beyond the true extremes.
		return time.Duration(min(max(mid, h.min), h.max))
	}
	return time.Duration(h.max) // unreachable: the counts sum to n
}

// mean returns the arithmetic mean of the recorded values.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// tally is what one worker observed during the measured window.
type tally struct {
	lat      histogram        // latencies of successful operations only
	statuses map[int]int64    // completed responses other than 200, by status code
	errors   map[string]int64 // failures without a usable response, by message
	late     int64            // operations that completed after the window closed
	lastDone time.Time        // completion time of the last counted operation
}

func newTally() *tally {
	return &tally{statuses: map[int]int64{}, errors: map[string]int64{}}
}

// maxErrorKinds bounds the distinct error messages kept per worker; the
// rest are counted under "other".
const maxErrorKinds = 16

// add counts one operation that completed inside the window.
func (t *tally) add(out outcome, took time.Duration, done time.Time) {
	t.lastDone = done
	switch {
	case out.ok():
		t.lat.record(took)
	case out.err != nil:
		msg := errorKind(out.err)
		if _, seen := t.errors[msg]; !seen && len(t.errors) >= maxErrorKinds {
			msg = "other"
		}
		t.errors[msg]++
	default:
		t.statuses[out.status]++
	}
}

// errorKind shortens an error message to a bounded, stable key.
func errorKind(err error) string {
	const limit = 160
	msg := err.Error()
	if len(msg) > limit {
		msg = msg[:limit] + "…"
	}
	return msg
}

// result is the merged outcome of a load run.
type result struct {
	Load        string
	Concurrency int
	Elapsed     time.Duration // length of the measured window
	Lat         histogram     // successful operations
	Statuses    map[int]int64
	Errors      map[string]int64
	Late        int64
	Interrupted bool // a signal ended the run early
}

// OK is the number of successful operations (HTTP 200) in the window.
func (r *result) OK() int64 { return r.Lat.n }

// RPS is successful operations per second of the measured window.
func (r *result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Lat.n) / r.Elapsed.Seconds()
}

// merge combines the workers' tallies into a result for a window of the
// given length.
func merge(load string, tallies []*tally, elapsed time.Duration) *result {
	r := &result{Load: load, Concurrency: len(tallies), Elapsed: elapsed,
		Statuses: map[int]int64{}, Errors: map[string]int64{}}
	for _, t := range tallies {
		r.Lat.merge(&t.lat)
		for k, v := range t.statuses {
			r.Statuses[k] += v
		}
		for k, v := range t.errors {
			r.Errors[k] += v
		}
		r.Late += t.late
	}
	return r
}

// formatStatuses renders non-200 counts as "429: 12, 400: 3", or "none".
func formatStatuses(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d: %d", c, m[c])
	}
	return strings.Join(parts, ", ")
}

// formatErrors renders error counts, most frequent first, or "none".
func formatErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	msgs := make([]string, 0, len(m))
	for k := range m {
		msgs = append(msgs, k)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if m[msgs[i]] != m[msgs[j]] {
			return m[msgs[i]] > m[msgs[j]]
		}
		return msgs[i] < msgs[j]
	})
	parts := make([]string, len(msgs))
	for i, k := range msgs {
		parts[i] = fmt.Sprintf("%d × %s", m[k], k)
	}
	return strings.Join(parts, "; ")
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// formatDuration prints a latency with four significant digits.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.4gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.4gms", ms(d))
	case d >= time.Microsecond:
		return fmt.Sprintf("%.4gµs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%dns", int64(d))
}
