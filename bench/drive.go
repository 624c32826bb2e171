package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what one operation of a load produced.
type outcome struct {
	status int           // HTTP status of a complete response; 200 for an in-process success
	err    error         // no usable response: transport failure, timeout, bad body
	wait   time.Duration // the worker pauses this long before its next operation
	skip   bool          // not an operation of the load (a re-login): neither counted nor timed
}

// ok reports whether the operation counts as throughput.
func (o outcome) ok() bool { return o.status == 200 && o.err == nil }

// op performs one operation. Each worker owns its op, so an op may keep
// state (a refresh-token chain) without locking.
type op func(ctx context.Context) outcome

// plan bounds a run in time and count.
type plan struct {
	warmup   time.Duration // operations started before this are not counted
	duration time.Duration // length of the measured window after the warmup
	limit    int64         // at most this many measured operations; 0 = no limit
	timeout  time.Duration // per operation
}

// drive runs every op in its own goroutine: first the warmup, then the
// measured window. An operation is counted only if it started after the
// warmup and completed before the window closed; operations still running
// when the window closes finish (within plan.timeout) but are reported as
// late, not counted. The window ends early when plan.limit operations have
// been started or when ctx is cancelled, and the rate is taken over the
// window's actual length.
func drive(ctx context.Context, name string, p plan, ops []op) *result {
	start := time.Now()
	from := start.Add(p.warmup)
	until := from.Add(p.duration)

	var started atomic.Int64 // measured operations started
	tallies := make([]*tally, len(ops))
	stopped := make([]time.Time, len(ops)) // when each worker saw ctx end, if it did
	var wg sync.WaitGroup
	for i, o := range ops {
		t := newTally()
		tallies[i] = t
		wg.Go(func() { stopped[i] = work(ctx, p, o, t, &started, from, until) })
	}
	wg.Wait()

	end := until
	if p.limit > 0 && started.Load() > p.limit {
		// The count was reached: every worker stopped at its next
		// operation, so the window closed with the last completion.
		var last time.Time
		for _, t := range tallies {
			if t.lastDone.After(last) {
				last = t.lastDone
			}
		}
		if last.Before(end) {
			end = last
		}
	}
	interrupted := false
	for _, at := range stopped {
		if !at.IsZero() && at.Before(end) {
			end, interrupted = at, true
		}
	}
	r := merge(name, tallies, max(end.Sub(from), 0))
	r.Interrupted = interrupted
	return r
}

// work is one worker's loop; see drive. If ctx ends the loop, work
// returns the time it noticed, else the zero time.
func work(ctx context.Context, p plan, o op, t *tally, started *atomic.Int64, from, until time.Time) time.Time {
	for {
		begin := time.Now()
		if ctx.Err() != nil {
			return begin
		}
		if !begin.Before(until) {
			return time.Time{}
		}
		measured := !begin.Before(from)
		if measured && p.limit > 0 && started.Add(1) > p.limit {
			return time.Time{}
		}
		opCtx, cancel := context.WithTimeout(ctx, p.timeout)
		out := o(opCtx)
		cancel()
		done := time.Now()
		switch {
		case out.skip:
			if measured && p.limit > 0 {
				started.Add(-1) // give the slot back: nothing was measured
			}
		case !measured || ctx.Err() != nil:
			// Warmup, or cut short by a signal: not part of the measurement.
		case done.After(until):
			t.late++
		default:
			t.add(out, done.Sub(begin), done)
		}
		if out.wait > 0 {
			pause(ctx, min(out.wait, time.Until(until)))
		}
	}
}

// pause sleeps for d unless ctx ends first; it reports whether ctx is
// still live.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
