package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// pausingClock stops the first clock read after it is armed until resumed,
// so a test can run other calls while a trip is half done.
type pausingClock struct {
	clock.Clock
	armed   atomic.Bool
	reached chan struct{}
	resume  chan struct{}
}

func (c *pausingClock) Now() time.Time {
	if c.armed.CompareAndSwap(true, false) {
		close(c.reached)
		<-c.resume
	}
	return c.Clock.Now()
}

// The failure that reaches the threshold opens the breaker in one step: a
// success and a failure started while it computes the open period wait for
// it, so they are rejected rather than counted in the generation it ends.
// The result is that of the order 4th failure, success, failure: open, with
// four failures and two rejections.
func TestTripIsAtomic(t *testing.T) {
	pc := &pausingClock{Clock: clock.NewFake(time.Unix(0, 0)), reached: make(chan struct{}), resume: make(chan struct{})}
	var events []StateChange
	b, err := New("r", Config{FailureThreshold: 4}, WithClock(pc), WithJitter(0),
		WithStateListener(func(ev StateChange) { events = append(events, ev) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		_ = b.Execute(ctx, fail)
	}
	pc.armed.Store(true)
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Execute(ctx, fail) }() // the 4th failure
	<-pc.reached                                                // it is computing the open period
	errs := make(chan error, 2)
	for _, fn := range []func(context.Context) error{succeed, fail} {
		go func() { errs <- b.Execute(ctx, fn) }()
	}
	close(pc.resume)
	<-done
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrOpen) {
			t.Errorf("call started during the trip: %v, want ErrOpen", err)
		}
	}
	if st := b.Stats(); st.State != Open || st.Failures != 4 || st.Rejected != 2 || len(events) != 1 || events[0].To != Open {
		t.Fatalf("state %v, failures %d, rejected %d, events %+v; want open, 4 failures, 2 rejected, one event to open",
			st.State, st.Failures, st.Rejected, events)
	}
}
