package breaker

import (
	"context"
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

// The failure that reaches the threshold trips from the word it read; a
// success and a failure landing while it computes the open period are not
// overwritten. The result is what the order success, failure, 4th failure
// gives: two consecutive failures, still closed.
func TestTripDoesNotOverwriteConcurrentResults(t *testing.T) {
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
	<-pc.reached                                                // it holds the lock and is computing the open period
	_ = b.Execute(ctx, succeed)
	_ = b.Execute(ctx, fail)
	close(pc.resume)
	<-done
	if st := b.Stats(); st.State != Closed || st.Counts.ConsecutiveFailures != 2 || st.Failures != 5 || len(events) != 0 {
		t.Fatalf("state %v, counts %+v, failures %d, events %+v; want closed, 2 consecutive failures, 5 in all",
			st.State, st.Counts, st.Failures, events)
	}
}
