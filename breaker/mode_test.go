package breaker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestForcedOpenRejects(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: time.Second})
	b.SetMode(ModeForcedOpen)
	if b.Mode() != ModeForcedOpen {
		t.Fatalf("Mode() = %v", b.Mode())
	}
	wantState(t, b, Open)
	for range 3 {
		fc.Advance(time.Hour) // the open timeout does not end a forced open
		ran := false
		err := b.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
		if ran || !errors.Is(err, ErrOpen) {
			t.Fatalf("forced open: ran=%v err=%v, want rejection with ErrOpen", ran, err)
		}
		wantState(t, b, Open)
	}
	if got := b.Rejected(); got != 3 {
		t.Fatalf("Rejected() = %d, want 3", got)
	}
	b.SetMode(ModeNormal)
	wantState(t, b, HalfOpen)
	run(b, 1, succeed)
	wantState(t, b, Closed)
}

func TestDisabledAdmitsAndCountsNothing(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1})
	trip(t, b)
	b.SetMode(ModeDisabled)
	wantState(t, b, Closed)
	for range 10 {
		ran := false
		err := b.Execute(context.Background(), func(context.Context) error { ran = true; return errBoom })
		if !ran || !errors.Is(err, errBoom) {
			t.Fatalf("disabled: ran=%v err=%v", ran, err)
		}
	}
	fc.Advance(time.Hour)
	wantState(t, b, Closed)
	if s := b.Stats(); s.Failures != 1 || s.Rejected != 0 || s.Counts != (Counts{}) {
		t.Fatalf("disabled breaker counted: %+v", s)
	}
	b.SetMode(ModeNormal)
	wantState(t, b, Closed)
	run(b, 1, fail)
	wantState(t, b, Open)
}

func TestMetricsOnlyNeverRejects(t *testing.T) {
	var events []StateChange
	b, fc := newTest(t, Config{FailureThreshold: 2, HalfOpenMaxRequests: 1, SuccessThreshold: 2},
		WithMode(ModeMetricsOnly), WithStateListener(func(ev StateChange) { events = append(events, ev) }))
	calls := 0
	count := func(err error) func(context.Context) error {
		return func(context.Context) error { calls++; return err }
	}
	run(b, 2, count(errBoom))
	wantState(t, b, Open)
	// Open: calls run and are not counted.
	for range 5 {
		if err := b.Execute(context.Background(), count(nil)); err != nil {
			t.Fatalf("metrics-only rejected: %v", err)
		}
	}
	wantState(t, b, Open)
	fc.Advance(time.Minute)
	// Half-open: one trial slot; the call beyond it runs uncounted.
	trial, _, err := b.Allow(context.Background())
	if err != nil || trial.kind != admitTrial {
		t.Fatalf("trial: %v kind %d", err, trial.kind)
	}
	extra, _, err := b.Allow(context.Background())
	if err != nil || extra.kind != admitFree {
		t.Fatalf("call beyond the limit: %v kind %d, want admitted uncounted", err, extra.kind)
	}
	extra.Done(nil)
	trial.Done(nil)
	wantState(t, b, HalfOpen)
	run(b, 1, count(nil))
	wantState(t, b, Closed)
	if calls != 8 || b.Rejected() != 0 {
		t.Fatalf("calls %d rejected %d, want 8 and 0", calls, b.Rejected())
	}
	if len(events) != 3 {
		t.Fatalf("events %v, want closed→open→half-open→closed", events)
	}
}

func TestSetModeTransitions(t *testing.T) {
	type step struct {
		mode      Mode
		wantState State
	}
	for _, tc := range []struct {
		name  string
		start State
		steps []step
		want  [3][3]uint64
	}{
		{"closed forced then normal", Closed, []step{{ModeForcedOpen, Open}, {ModeNormal, HalfOpen}},
			[3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1}}},
		{"open forced keeps state", Open, []step{{ModeForcedOpen, Open}, {ModeMetricsOnly, HalfOpen}},
			[3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1}}},
		{"half-open forced", HalfOpen, []step{{ModeForcedOpen, Open}, {ModeDisabled, Closed}},
			[3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1, Closed: 1}, HalfOpen: {Open: 1}}},
		{"open disabled", Open, []step{{ModeDisabled, Closed}, {ModeNormal, Closed}},
			[3][3]uint64{Closed: {Open: 1}, Open: {Closed: 1}}},
		{"metrics-only keeps state", Open, []step{{ModeMetricsOnly, Open}, {ModeNormal, Open}},
			[3][3]uint64{Closed: {Open: 1}}},
		{"same mode is a no-op", Closed, []step{{ModeNormal, Closed}}, [3][3]uint64{}},
		{"unknown mode is ignored", Closed, []step{{Mode(9), Closed}}, [3][3]uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: time.Minute})
			switch tc.start {
			case Open:
				trip(t, b)
			case HalfOpen:
				trip(t, b)
				fc.Advance(time.Minute)
				wantState(t, b, HalfOpen)
			}
			for _, s := range tc.steps {
				b.SetMode(s.mode)
				if s.mode.valid() && b.Mode() != s.mode {
					t.Fatalf("Mode() = %v, want %v", b.Mode(), s.mode)
				}
				if st := rawState(b); st != s.wantState {
					t.Fatalf("after SetMode(%v): state %v, want %v", s.mode, st, s.wantState)
				}
			}
			if got := b.Transitions(); got != tc.want {
				t.Fatalf("Transitions() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSetModeDropsCallsInFlight(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 2})
	tk, _, _ := b.Allow(context.Background())
	run(b, 1, fail)
	b.SetMode(ModeDisabled) // clears counts, new generation
	b.SetMode(ModeNormal)
	tk.Done(errBoom)
	wantState(t, b, Closed)
	if c := b.Counts().ConsecutiveFailures; c != 0 {
		t.Fatalf("ConsecutiveFailures = %d, want 0", c)
	}
}

func TestWithModeInitial(t *testing.T) {
	for _, tc := range []struct {
		mode  Mode
		state State
	}{
		{ModeNormal, Closed},
		{ModeForcedOpen, Open},
		{ModeDisabled, Closed},
		{ModeMetricsOnly, Closed},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			b, _ := newTest(t, Config{}, WithMode(tc.mode))
			if b.Mode() != tc.mode {
				t.Fatalf("Mode() = %v", b.Mode())
			}
			wantState(t, b, tc.state)
		})
	}
}
