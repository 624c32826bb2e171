package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// Unit tests of the job store, without HTTP or tokens.

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func closeStore(t *testing.T, s *jobStore) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// waitStatus polls until the job leaves the running state.
func waitStatus(t *testing.T, s *jobStore, owner, id string) jobView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := s.get(owner, id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if v.Status != statusRunning {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", v)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJobStoreOwnership(t *testing.T) {
	t.Parallel()
	s := newJobStore(jobStoreConfig{}, discardLogger())
	defer closeStore(t, s)
	v, err := s.create("alice", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitStatus(t, s, "alice", v.ID); got.Status != statusDone || got.Done != 2 || got.Result[1] != "[kk] b" {
		t.Fatalf("job = %+v", got)
	}
	if _, err := s.get("bob", v.ID); !errors.Is(err, errNotFound) {
		t.Fatalf("bob reading alice's job: %v, want errNotFound", err)
	}
	if _, err := s.get("alice", "nope"); !errors.Is(err, errNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestJobStoreBoundPerOwner(t *testing.T) {
	t.Parallel()
	// Running jobs are never evicted: the owner gets errTooManyJobs.
	slow := newJobStore(jobStoreConfig{SegmentTime: time.Hour, MaxJobsPerOwner: 2}, discardLogger())
	defer closeStore(t, slow)
	for range 2 {
		if _, err := slow.create("alice", []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := slow.create("alice", []string{"x"}); !errors.Is(err, errTooManyJobs) {
		t.Fatalf("third running job: %v, want errTooManyJobs", err)
	}
	if _, err := slow.create("bob", []string{"x"}); err != nil {
		t.Fatalf("another owner is not limited by alice's jobs: %v", err)
	}

	// Finished jobs make room: the oldest finished one is evicted.
	fast := newJobStore(jobStoreConfig{MaxJobsPerOwner: 2}, discardLogger())
	defer closeStore(t, fast)
	var ids []string
	for range 3 {
		v, err := fast.create("alice", []string{"x"})
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, fast, "alice", v.ID)
		ids = append(ids, v.ID)
	}
	if _, err := fast.get("alice", ids[0]); !errors.Is(err, errNotFound) {
		t.Fatalf("oldest finished job still kept: %v", err)
	}
	for _, id := range ids[1:] {
		if _, err := fast.get("alice", id); err != nil {
			t.Fatalf("newer job %s: %v", id, err)
		}
	}
}

func TestJobStoreRetention(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newJobStore(jobStoreConfig{Retention: time.Hour, Now: clock}, discardLogger())
	defer closeStore(t, s)
	v, err := s.create("alice", []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, "alice", v.ID)
	mu.Lock()
	now = now.Add(time.Hour - time.Second)
	mu.Unlock()
	if _, err := s.get("alice", v.ID); err != nil {
		t.Fatalf("within retention: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if _, err := s.get("alice", v.ID); !errors.Is(err, errNotFound) {
		t.Fatalf("after retention: %v, want errNotFound", err)
	}
}

// close cancels running jobs and synchronous translations promptly and
// refuses new work.
func TestJobStoreClose(t *testing.T) {
	t.Parallel()
	s := newJobStore(jobStoreConfig{SegmentTime: time.Hour}, discardLogger())
	v, err := s.create("alice", []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	syncErr := make(chan error, 1)
	go func() {
		_, err := s.translateNow(context.Background(), []string{"x"})
		syncErr <- err
	}()
	// Let translateNow register before closing (it may also lose the race
	// and see errClosed directly, which is equally correct).
	time.Sleep(20 * time.Millisecond)
	closeStore(t, s)
	if err := <-syncErr; !errors.Is(err, errClosed) {
		t.Fatalf("translateNow during close: %v, want errClosed", err)
	}
	s.mu.Lock()
	status := s.jobs[v.ID].status
	s.mu.Unlock()
	if status != statusCancelled {
		t.Fatalf("job status after close: %q, want %q", status, statusCancelled)
	}
	if _, err := s.create("alice", []string{"x"}); !errors.Is(err, errClosed) {
		t.Fatalf("create after close: %v", err)
	}
	if _, err := s.get("alice", v.ID); !errors.Is(err, errClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if _, err := s.translateNow(context.Background(), []string{"x"}); !errors.Is(err, errClosed) {
		t.Fatalf("translateNow after close: %v", err)
	}
}

// A synchronous translation ends when its client goes away.
func TestTranslateNowClientGone(t *testing.T) {
	t.Parallel()
	s := newJobStore(jobStoreConfig{SegmentTime: time.Hour}, discardLogger())
	defer closeStore(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.translateNow(ctx, []string{"x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("translateNow: %v, want context.DeadlineExceeded", err)
	}
}
