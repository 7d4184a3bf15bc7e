package alerting

import (
	"context"
	"sync/atomic"
	"time"
)

// schedule runs evaluations on one goroutine: every interval, and on
// request. A requested evaluation leaves the periodic schedule as it is.
type schedule struct {
	interval time.Duration
	clock    Clock
	running  atomic.Bool   // between start and stop: requests are served
	kick     chan struct{} // the pending request (buffer 1)
	stopped  chan struct{} // closed by stop
	done     chan struct{} // closed when the goroutine has exited
}

func newSchedule(interval time.Duration, clk Clock) *schedule {
	return &schedule{
		interval: interval,
		clock:    clk,
		kick:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// start starts the goroutine that calls evaluate. Call it once.
func (s *schedule) start(evaluate func()) {
	s.running.Store(true)
	go s.loop(evaluate)
}

func (s *schedule) loop(evaluate func()) {
	defer close(s.done)
	tick, stop := s.clock.NewTimer(s.interval)
	for {
		select {
		case <-s.stopped:
			stop()
			return
		case <-s.kick:
			evaluate()
		case <-tick:
			evaluate()
			tick, stop = s.clock.NewTimer(s.interval)
		}
	}
}

// request asks for an evaluation without blocking; requests made while one
// is pending coalesce. It does nothing unless the schedule runs.
func (s *schedule) request() {
	if !s.running.Load() {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// stop stops the goroutine, if started, and waits for it until ctx ends.
func (s *schedule) stop(ctx context.Context, started bool) error {
	s.running.Store(false)
	if !started {
		return nil
	}
	close(s.stopped)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
