// Package clock abstracts time so that components with timeouts and
// schedules can be driven deterministically in tests.
//
// [Clock] uses only standard-library types, so the small Clock interfaces
// that breaker, healthcheck and alerting export are satisfied by [Real], by
// [Fake] and by any clock a user writes, without naming this package.
//
// Production code uses [Real]; tests use [Fake], whose time moves only when the
// test calls [Fake.Advance]. A component that waits on a timer arms it first, so
// a test calls [Fake.BlockUntilTimers] to know the component is waiting before
// it advances the clock: no test needs to sleep.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer arms a timer that fires once after d: c receives the time
	// when it fires; stop disarms it and reports whether it was still armed.
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Sleep waits for d on c, or until ctx ends; it reports whether the full
// wait passed. A non-positive d returns true at once.
func Sleep(ctx context.Context, c Clock, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	ch, stop := c.NewTimer(d)
	defer stop()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}
