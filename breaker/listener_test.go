package breaker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// finishes fails the test if f does not return within a generous bound: a
// deadlock would otherwise hang the test binary.
func finishes(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: call did not return")
	}
}

func TestListenerMayCallBack(t *testing.T) {
	var b *Breaker
	var seen []string
	listener := func(ev StateChange) {
		// Everything here would deadlock under a lock held by the breaker.
		st := b.State()
		_ = b.Counts()
		_ = b.Stats()
		seen = append(seen, ev.From.String()+"→"+ev.To.String()+" state="+st.String())
		err := b.Execute(context.Background(), succeed)
		if ev.To == Open && b.Mode() == ModeNormal {
			b.SetMode(ModeMetricsOnly)
			b.SetMode(ModeNormal) // no state change: open stays open
		}
		if ev.To == Open && !errors.Is(err, ErrOpen) {
			t.Errorf("Execute from listener on open breaker: %v", err)
		}
	}
	b, fc := newTest(t, Config{FailureThreshold: 1}, WithStateListener(listener))
	finishes(t, func() {
		run(b, 1, fail)
		fc.Advance(time.Minute)
		run(b, 1, succeed)
	})
	want := []string{
		"closed→open state=open",
		"open→half-open state=half-open",
		// the listener's own Execute is the trial that closes the breaker
		"half-open→closed state=closed",
	}
	if len(seen) != len(want) {
		t.Fatalf("events %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("events %q, want %q", seen, want)
		}
	}
}

func TestListenerMaySetMode(t *testing.T) {
	var b *Breaker
	b, _ = newTest(t, Config{FailureThreshold: 1}, WithStateListener(func(ev StateChange) {
		if ev.To == Open {
			b.SetMode(ModeDisabled) // causes a nested open→closed
		}
	}))
	finishes(t, func() { run(b, 1, fail) })
	wantState(t, b, Closed)
	if b.Mode() != ModeDisabled {
		t.Fatalf("Mode() = %v", b.Mode())
	}
}

func TestListenerEvents(t *testing.T) {
	var got []StateChange
	rec := func(ev StateChange) { got = append(got, ev) }
	var order []int
	b, fc := newTest(t, Config{FailureThreshold: 3, HalfOpenMaxRequests: 2},
		WithStateListener(rec),
		WithStateListener(func(StateChange) { order = append(order, 1) }),
		WithStateListener(func(StateChange) { order = append(order, 2) }),
		WithStateListener(nil))
	run(b, 3, fail)
	fc.Advance(time.Minute)
	run(b, 1, succeed)
	run(b, 1, fail)
	fc.Advance(2 * time.Minute)
	run(b, 2, succeed)
	want := []StateChange{
		{Name: "test", From: Closed, To: Open, Counts: Counts{ConsecutiveFailures: 3}},
		{Name: "test", From: Open, To: HalfOpen},
		{Name: "test", From: HalfOpen, To: Open, Counts: Counts{ConsecutiveFailures: 1, ConsecutiveSuccesses: 1}},
		{Name: "test", From: Open, To: HalfOpen},
		{Name: "test", From: HalfOpen, To: Closed, Counts: Counts{ConsecutiveSuccesses: 2}},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(order) != 10 || order[0] != 1 || order[1] != 2 {
		t.Fatalf("listeners called in order %v", order)
	}
}
