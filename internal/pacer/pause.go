package pacer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// pause is what requests wait out before their pace: a service's
// Retry-After, or its spent budget. It is the one place where what an
// answer asks for is cut to MaxPause.
//
// A pause cut short is capped: the first request after it goes alone, as a
// probe, and holds the others for MaxPause at most; the probe's answer
// decides what follows (another pause, or none, which releases them at
// once). A probe that gets no answer (a transport error, a rejection, a
// cancellation) hands the probe on to the next request.
type pause struct {
	until   atomic.Int64 // Unix nanoseconds; 0 when not paused. The hot path reads it alone.
	capped  atomic.Bool  // the running pause was cut to MaxPause: the first request after it is a probe
	probing atomic.Bool  // a probe is out; until holds the other requests meanwhile

	mu      sync.Mutex    // serializes the changes of the fields above, and guards release
	release chan struct{} // closed when the probe's answer or failure ends the hold; nil when no probe is out
}

// ask applies an answer, received at now, that asks for a pause of d (zero
// when it asks for none), and returns the pause it sets: d, at most
// maxPause. The answer that arrives while a probe is out decides: its
// pause, or none, replaces the hold. Any other answer can only extend the
// running pause.
func (s *pause) ask(now time.Time, d, maxPause time.Duration) time.Duration {
	if d <= 0 && !s.probing.Load() {
		return 0
	}
	set := min(max(d, 0), maxPause)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.until.Load()
	running := old > now.UnixNano()
	if s.probing.Load() {
		// The probe's answer: what it asks for replaces the hold.
		s.endProbeLocked(now.Add(set).UnixNano(), old)
		running = false
	}
	if set <= 0 {
		s.capped.Store(false)
		return 0
	}
	if end := now.Add(set).UnixNano(); end > s.until.Load() {
		s.until.Store(end)
	}
	// A new pause is capped as its answer was; a running one stays capped
	// if any answer that extended it was.
	s.capped.Store(d > maxPause || running && s.capped.Load())
	return set
}

// unanswered ends a probe that got no answer: the hold is lifted, and the
// next request is the probe.
func (s *pause) unanswered(clk clock.Clock) {
	if !s.probing.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probing.Load() {
		s.endProbeLocked(clk.Now().UnixNano(), s.until.Load())
	}
}

// endProbeLocked ends the probe's hold, which ended at old, at end, and
// wakes the requests waiting for it if that is sooner.
func (s *pause) endProbeLocked(end, old int64) {
	s.probing.Store(false)
	s.until.Store(end)
	if end < old {
		close(s.release)
	}
	s.release = nil
}

// startProbe reports whether a request at now, past the pause, may go: it
// may when the pause was not capped, or when it becomes the probe, which
// holds the other requests for maxPause. It may not when another request
// became the probe or a new pause began meanwhile.
func (s *pause) startProbe(now time.Time, maxPause time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until.Load() > now.UnixNano() {
		return false
	}
	if !s.capped.Load() {
		return true
	}
	s.until.Store(now.Add(maxPause).UnixNano())
	if !s.probing.Load() {
		s.probing.Store(true)
		s.release = make(chan struct{})
	}
	return true
}

// running returns the end of the running pause and the channel closed when
// a probe's answer ends it early (nil when no probe is out), read together.
func (s *pause) running() (int64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.until.Load(), s.release
}

// left returns how long the running pause lasts from now; zero when none
// runs.
func (s *pause) left(now time.Time) time.Duration {
	return max(time.Duration(s.until.Load()-now.UnixNano()), 0)
}

// sleepOrRelease waits for d on c, until release is closed or until ctx
// ends; it reports false when ctx ended. A nil release is never closed.
func sleepOrRelease(ctx context.Context, c clock.Clock, d time.Duration, release <-chan struct{}) bool {
	ch, stop := c.NewTimer(d)
	defer stop()
	select {
	case <-ch:
		return true
	case <-release:
		return true
	case <-ctx.Done():
		return false
	}
}
