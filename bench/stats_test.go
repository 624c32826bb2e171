package main

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogram_ExactBelow256ns(t *testing.T) {
	var h histogram
	for v := 100; v >= 1; v-- { // order must not matter
		h.record(time.Duration(v))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.01, 1}, {0.5, 50}, {0.505, 51}, {0.9, 90}, {0.99, 99}, {0.999, 100}, {1, 100},
	}
	for _, tt := range tests {
		if got := h.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if h.n != 100 || h.min != 1 || h.max != 100 || h.mean() != 50 { // sum 5050/100 = 50 (integer)
		t.Errorf("n=%d min=%d max=%d mean=%v", h.n, h.min, h.max, h.mean())
	}
}

func TestHistogram_NearestRankOnSkewedData(t *testing.T) {
	// 98 fast requests and 2 slow ones: p99 is the 99th value, a slow one;
	// p50 a fast one. An interpolating or off-by-one rank would miss this.
	var h histogram
	for range 98 {
		h.record(10 * time.Millisecond)
	}
	h.record(500 * time.Millisecond)
	h.record(900 * time.Millisecond)
	assertClose(t, "p50", h.quantile(0.5), 10*time.Millisecond)
	assertClose(t, "p98", h.quantile(0.98), 10*time.Millisecond)
	assertClose(t, "p99", h.quantile(0.99), 500*time.Millisecond)
	if got := h.quantile(1); got != 900*time.Millisecond {
		t.Errorf("p100 = %v, want exactly the max", got)
	}
}

func TestHistogram_MatchesSortedSamplesWithinPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	samples := make([]time.Duration, 20000)
	for i := range samples {
		// Log-normal-ish latencies from ~100µs to seconds.
		samples[i] = time.Duration(math.Exp(rng.NormFloat64()*1.5+math.Log(float64(20*time.Millisecond)))) + time.Microsecond
		h.record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.001, 0.25, 0.5, 0.9, 0.99, 0.999} {
		want := samples[int(math.Ceil(q*float64(len(samples))))-1]
		assertClose(t, "quantile", h.quantile(q), want)
	}
}

func TestHistogram_MergeEqualsRecordingEverything(t *testing.T) {
	var a, b, all histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		all.record(d)
		if i%3 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	var m histogram
	m.merge(&a)
	m.merge(&histogram{}) // an idle worker changes nothing
	m.merge(&b)
	if m != all {
		t.Fatalf("merged histogram differs: n %d/%d min %d/%d max %d/%d sum %d/%d",
			m.n, all.n, m.min, all.min, m.max, all.max, m.sum, all.sum)
	}
}

func TestHistogram_EmptyAndOutOfRange(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 || h.mean() != 0 {
		t.Fatal("empty histogram must report 0")
	}
	h.record(-time.Second)
	h.record(time.Duration(math.MaxInt64))
	if h.quantile(0.5) != 0 {
		t.Errorf("negative duration recorded as %v, want 0", h.quantile(0.5))
	}
	if got := h.quantile(1); got != maxValue {
		t.Errorf("huge duration recorded as %v, want the clamp %v", got, time.Duration(maxValue))
	}
}

func TestBuckets_CoverEveryValueInOrder(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], previous ended at %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d, %d] but bucketOf gives %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo >= 2*subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/%d of its value", i, lo, hi, subCount)
		}
		prevHi = hi
	}
	if prevHi != maxValue {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, int64(maxValue))
	}
}

func TestTally_CountsOnly200sAsThroughput(t *testing.T) {
	tl := newTally()
	now := time.Now()
	tl.add(outcome{status: 200}, time.Millisecond, now)
	tl.add(outcome{status: 429}, time.Millisecond, now)
	tl.add(outcome{status: 400}, time.Millisecond, now)
	tl.add(outcome{status: 429}, time.Millisecond, now)
	tl.add(outcome{status: 200, err: errors.New("bad body")}, time.Millisecond, now)
	tl.add(outcome{err: errors.New("connection refused")}, time.Millisecond, now)
	r := merge("x", []*tally{tl, newTally()}, 2*time.Second)
	if r.OK() != 1 || r.RPS() != 0.5 {
		t.Errorf("ok = %d, rps = %v; want 1, 0.5", r.OK(), r.RPS())
	}
	if r.Statuses[429] != 2 || r.Statuses[400] != 1 || len(r.Statuses) != 2 {
		t.Errorf("statuses = %v", r.Statuses)
	}
	if r.Errors["bad body"] != 1 || r.Errors["connection refused"] != 1 {
		t.Errorf("errors = %v", r.Errors)
	}
	if got := formatStatuses(r.Statuses); got != "400: 1, 429: 2" {
		t.Errorf("formatStatuses = %q", got)
	}
}

// assertClose fails unless got is within the histogram's precision of want.
func assertClose(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if diff := math.Abs(float64(got - want)); diff > float64(want)/subCount {
		t.Errorf("%s = %v, want %v ± %.2f%%", what, got, want, 100.0/subCount)
	}
}
