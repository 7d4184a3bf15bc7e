package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	errBoom   = errors.New("boom")
	errIgnore = errors.New("not found")
	succeed   = func(context.Context) error { return nil }
	fail      = func(context.Context) error { return errBoom }
)

// raError is a failure carrying a Retry-After, as a 429 response becomes.
type raError struct{ d time.Duration }

func (e raError) Error() string             { return "429 too many requests" }
func (e raError) RetryAfter() time.Duration { return e.d }

var _ RetryAfterError = raError{}

// newTest returns a breaker on a fake clock, with exact open periods.
func newTest(t testing.TB, cfg Config, opts ...Option) (*Breaker, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	b, err := New("test", cfg, append([]Option{WithClock(fc), WithJitter(0)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, fc
}

func wantState(t testing.TB, b *Breaker, want State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("State() = %v, want %v", got, want)
	}
}

// run calls Execute n times with fn and returns the last error.
func run(b *Breaker, n int, fn func(context.Context) error) error {
	var err error
	for range n {
		err = b.Execute(context.Background(), fn)
	}
	return err
}

// trip opens b with consecutive failures.
func trip(t testing.TB, b *Breaker) {
	t.Helper()
	run(b, int(b.Config().FailureThreshold), fail)
	wantState(t, b, Open)
}

// countingClock counts how often the breaker reads the time.
type countingClock struct {
	clock.Clock
	reads atomic.Int64
}

func (c *countingClock) Now() time.Time {
	c.reads.Add(1)
	return c.Clock.Now()
}
