package main

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Job states. A job is "running" until its last segment is translated and
// "done" afterwards; "cancelled" is reached only when the service shuts down
// mid-job, after which no request is served any more.
const (
	statusRunning   = "running"
	statusDone      = "done"
	statusCancelled = "cancelled"
)

// Errors of the job store, mapped to HTTP statuses by the handlers.
var (
	// errTooManyJobs: the owner already has the maximum number of jobs and
	// all of them are still running, so none can be evicted.
	errTooManyJobs = errors.New("too many running jobs; wait for one to finish")
	// errClosed: the service is shutting down.
	errClosed = errors.New("the service is shutting down")
)

// Defaults of jobStoreConfig.
const (
	defaultMaxJobsPerOwner = 20
	defaultJobRetention    = time.Hour
)

// jobStoreConfig configures a jobStore; zero fields take the defaults.
type jobStoreConfig struct {
	// SegmentTime is how long translating one segment takes; 0 translates
	// instantly.
	SegmentTime time.Duration
	// MaxJobsPerOwner bounds the jobs kept per owner, running or done. A new
	// job evicts the owner's oldest finished job when the bound is reached.
	MaxJobsPerOwner int
	// Retention is how long a finished job stays readable.
	Retention time.Duration
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
}

// job is one translation job. id, owner and segments never change after
// creation; the other fields are guarded by jobStore.mu.
type job struct {
	id       string
	owner    string
	segments []string

	result   []string
	status   string
	created  time.Time
	finished time.Time
}

// jobView is the JSON representation of a job (GET /api/translation/jobs/{id}).
type jobView struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`
	Done   int      `json:"done"`
	Total  int      `json:"total"`
	Result []string `json:"result"`
}

// jobStore keeps translation jobs in memory and runs each in its own
// goroutine. It also runs synchronous translations (translateNow) so that
// both kinds of work are cancelled together by stop/close on shutdown.
type jobStore struct {
	cfg jobStoreConfig
	log *slog.Logger

	ctx    context.Context // cancelled by stop: ends all work
	cancel context.CancelFunc
	wg     sync.WaitGroup // running jobs, synchronous translations, janitor

	mu      sync.Mutex
	closed  bool
	jobs    map[string]*job
	byOwner map[string][]*job // oldest first
}

// newJobStore returns a running store; call close to stop it.
func newJobStore(cfg jobStoreConfig, log *slog.Logger) *jobStore {
	if cfg.MaxJobsPerOwner <= 0 {
		cfg.MaxJobsPerOwner = defaultMaxJobsPerOwner
	}
	if cfg.Retention <= 0 {
		cfg.Retention = defaultJobRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &jobStore{
		cfg:     cfg,
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		jobs:    make(map[string]*job),
		byOwner: make(map[string][]*job),
	}
	s.wg.Add(1)
	go s.janitor()
	return s
}

// create starts a job translating segments for owner and returns its view.
func (s *jobStore) create(owner string, segments []string) (jobView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return jobView{}, errClosed
	}
	now := s.cfg.Now()
	s.pruneLocked(owner, now)
	if list := s.byOwner[owner]; len(list) >= s.cfg.MaxJobsPerOwner {
		i := slices.IndexFunc(list, func(j *job) bool { return j.status != statusRunning })
		if i < 0 {
			return jobView{}, errTooManyJobs
		}
		delete(s.jobs, list[i].id)
		s.byOwner[owner] = slices.Delete(list, i, i+1)
	}
	j := &job{
		id:       newJobID(),
		owner:    owner,
		segments: segments,
		result:   make([]string, 0, len(segments)),
		status:   statusRunning,
		created:  now,
	}
	s.jobs[j.id] = j
	s.byOwner[owner] = append(s.byOwner[owner], j)
	// Add under mu while not closed: close sets closed under mu before it
	// waits, so no Add can race with Wait.
	s.wg.Add(1)
	go s.run(j)
	return j.viewLocked(), nil
}

// get returns owner's job id. Another owner's job, an unknown id and a job
// past its retention are all simply not found.
func (s *jobStore) get(owner, id string) (jobView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return jobView{}, errClosed
	}
	j, ok := s.jobs[id]
	if !ok || j.owner != owner || s.expiredLocked(j, s.cfg.Now()) {
		return jobView{}, errNotFound
	}
	return j.viewLocked(), nil
}

// errNotFound: no such job for this owner.
var errNotFound = errors.New("no such job")

// translateNow translates segments synchronously, taking SegmentTime per
// segment. It stops early with ctx's error when ctx ends (the client went
// away) and with errClosed when the store is stopped.
func (s *jobStore) translateNow(ctx context.Context, segments []string) ([]string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	out := make([]string, 0, len(segments))
	err := translateSegments(ctx, segments, s.cfg.SegmentTime, func(t string) { out = append(out, t) })
	if err != nil {
		if s.ctx.Err() != nil {
			return nil, errClosed
		}
		return nil, err
	}
	return out, nil
}

// stop makes the store refuse new work and cancels everything running,
// without waiting. It is safe to call more than once.
func (s *jobStore) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

// close stops the store and waits, at most until ctx ends, for every job
// goroutine to finish.
func (s *jobStore) close(ctx context.Context) error {
	s.stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run executes j, one segment per SegmentTime, until it is done or the
// store stops.
func (s *jobStore) run(j *job) {
	defer s.wg.Done()
	err := translateSegments(s.ctx, j.segments, s.cfg.SegmentTime, func(t string) {
		s.mu.Lock()
		j.result = append(j.result, t)
		s.mu.Unlock()
	})

	s.mu.Lock()
	j.status = statusDone
	if err != nil {
		j.status = statusCancelled
	}
	j.finished = s.cfg.Now()
	elapsed := j.finished.Sub(j.created)
	done := len(j.result)
	s.mu.Unlock()

	if err != nil {
		s.log.Info("job cancelled", "job", j.id, "owner", j.owner, "done", done, "total", len(j.segments))
		return
	}
	s.log.Info("job done", "job", j.id, "owner", j.owner, "segments", len(j.segments), "elapsed", elapsed.Round(time.Millisecond).String())
}

// janitor drops finished jobs past their retention, so that owners who
// never come back do not keep memory forever.
func (s *jobStore) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(min(s.cfg.Retention, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			now := s.cfg.Now()
			for owner := range s.byOwner {
				s.pruneLocked(owner, now)
			}
			s.mu.Unlock()
		}
	}
}

// pruneLocked removes owner's finished jobs past their retention.
func (s *jobStore) pruneLocked(owner string, now time.Time) {
	list := s.byOwner[owner]
	kept := slices.DeleteFunc(list, func(j *job) bool {
		if s.expiredLocked(j, now) {
			delete(s.jobs, j.id)
			return true
		}
		return false
	})
	if len(kept) == 0 {
		delete(s.byOwner, owner)
		return
	}
	s.byOwner[owner] = kept
}

func (s *jobStore) expiredLocked(j *job, now time.Time) bool {
	return j.status != statusRunning && !now.Before(j.finished.Add(s.cfg.Retention))
}

func (j *job) viewLocked() jobView {
	return jobView{
		ID:     j.id,
		Status: j.status,
		Done:   len(j.result),
		Total:  len(j.segments),
		Result: slices.Clone(j.result),
	}
}

// newJobID returns an unguessable job id (26 base32 characters, 130 bits).
// Ownership is checked on every read anyway; an unguessable id just keeps
// job ids from leaking how busy the service is.
func newJobID() string {
	return strings.ToLower(rand.Text())
}

// translateSegments "translates" segments in order, taking per for each
// one, and hands every result to emit. It returns ctx's error if ctx ends
// first.
func translateSegments(ctx context.Context, segments []string, per time.Duration, emit func(string)) error {
	var tick <-chan time.Time
	if per > 0 {
		t := time.NewTicker(per)
		defer t.Stop()
		tick = t.C
	}
	for _, seg := range segments {
		if tick != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		emit(translate(seg))
	}
	return nil
}

// translate is the stand-in for a real machine-translation call: it is
// deterministic, so tests can check every result.
func translate(segment string) string {
	return "[kk] " + segment
}
