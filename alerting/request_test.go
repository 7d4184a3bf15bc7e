package alerting

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// blockingCollect registers an observable gauge whose callback, run by
// every Collect, reports each entry on entered and waits for release, until
// the test ends.
func blockingCollect(t *testing.T, h *harness) (entered, release chan struct{}) {
	t.Helper()
	entered, release = make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	t.Cleanup(func() { armed.Store(false) })
	_, err := h.meter.Int64ObservableGauge("blocking", metric.WithInt64Callback(func(context.Context, metric.Int64Observer) error {
		if armed.Load() {
			entered <- struct{}{}
			<-release
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return entered, release
}

func TestRequestEvaluation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{EvaluationInterval: 24 * time.Hour})
	h.addRules(DefaultRules()...)
	entered, release := blockingCollect(t, h)

	h.eng.RequestEvaluation() // before Start: nothing
	if n := len(h.eng.sched.kick); n != 0 {
		t.Fatalf("request before Start kept: %d pending", n)
	}
	if err := h.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.clk.BlockUntilTimers(1) // the schedule, far away

	h.up.Record(ctx, 0, svc("plex"))
	h.eng.RequestEvaluation()
	<-entered // the engine's goroutine evaluates, off schedule
	for range 10 {
		h.eng.RequestEvaluation() // never blocks while one runs
	}
	if n := len(h.eng.sched.kick); n != 1 {
		t.Fatalf("%d requests pending while an evaluation runs, want them coalesced into 1", n)
	}
	release <- struct{}{}
	if a := h.rec.next(t); a.Rule != RuleServiceDown || a.State != Firing {
		t.Fatalf("requested evaluation notified %+v", a)
	}
	<-entered // the coalesced request
	release <- struct{}{}
	if n := h.clk.Timers(); n != 1 {
		t.Fatalf("%d timers: a requested evaluation must leave the schedule as it is", n)
	}

	if err := h.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.eng.RequestEvaluation() // after Shutdown: nothing, no block
	if n := len(h.eng.sched.kick); n != 0 {
		t.Fatalf("request after Shutdown kept: %d pending", n)
	}
}
