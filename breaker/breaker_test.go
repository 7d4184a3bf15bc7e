package breaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

func TestTripsOnNthConsecutiveFailure(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b, _ := newTest(t, Config{FailureThreshold: n})
			run(b, n-1, fail)
			wantState(t, b, Closed)
			if got := b.Counts().ConsecutiveFailures; got != uint32(n-1) {
				t.Fatalf("ConsecutiveFailures = %d, want %d", got, n-1)
			}
			if err := b.Execute(context.Background(), fail); !errors.Is(err, errBoom) {
				t.Fatalf("tripping call returned %v, want fn's error", err)
			}
			wantState(t, b, Open)
			if got := b.Counts(); got != (Counts{}) {
				t.Fatalf("Counts after trip = %+v, want zero", got)
			}
		})
	}
}

func TestSuccessResetsFailures(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 3})
	for range 5 {
		run(b, 2, fail)
		run(b, 1, succeed)
	}
	wantState(t, b, Closed)
	if got := b.Stats().Failures; got != 10 {
		t.Fatalf("Failures = %d, want 10", got)
	}
}

func TestOpenRejectsWithoutRunning(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1})
	trip(t, b)
	ran := false
	err := b.Execute(context.Background(), func(context.Context) error { ran = true; return nil })
	if ran {
		t.Fatal("fn ran while open")
	}
	if !errors.Is(err, ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
	if want := `breaker "test": circuit breaker is open`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if got := b.Rejected(); got != 1 {
		t.Fatalf("Rejected() = %d, want 1", got)
	}
}

func TestHalfOpenAfterOpenTimeout(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second})
	trip(t, b)
	fc.Advance(10*time.Second - 1)
	if err := b.Execute(context.Background(), succeed); !errors.Is(err, ErrOpen) {
		t.Fatalf("before the timeout: %v, want ErrOpen", err)
	}
	fc.Advance(1)
	if s := rawState(b); s != Open {
		t.Fatalf("state changed to %v without a call", s)
	}
	if err := b.Execute(context.Background(), succeed); err != nil {
		t.Fatalf("trial call: %v", err)
	}
	wantState(t, b, Closed)
	want := [3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1}, HalfOpen: {Closed: 1}}
	if got := b.Transitions(); got != want {
		t.Fatalf("Transitions() = %v, want %v", got, want)
	}
}

func TestStateNoticesExpiry(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: time.Second})
	trip(t, b)
	fc.Advance(time.Second)
	wantState(t, b, HalfOpen)
}

func TestHalfOpenLimit(t *testing.T) {
	for _, max := range []int{1, 3} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			b, fc := newTest(t, Config{FailureThreshold: 1, HalfOpenMaxRequests: max, SuccessThreshold: max + 1})
			trip(t, b)
			fc.Advance(time.Minute)
			tickets := make([]Ticket, max)
			for i := range tickets {
				var err error
				if tickets[i], _, err = b.Allow(context.Background()); err != nil {
					t.Fatalf("trial %d: %v", i, err)
				}
			}
			_, _, err := b.Allow(context.Background())
			if !errors.Is(err, ErrTooManyRequests) || !strings.Contains(err.Error(), `"test"`) {
				t.Fatalf("call beyond the limit: %v, want ErrTooManyRequests naming the breaker", err)
			}
			if got := b.Rejected(); got != 1 {
				t.Fatalf("Rejected() = %d, want 1", got)
			}
			tickets[0].Done(nil)
			wantState(t, b, HalfOpen)
			extra, _, err := b.Allow(context.Background())
			if err != nil {
				t.Fatalf("freed slot not reusable: %v", err)
			}
			extra.Done(nil)
			for i := 1; i < max; i++ {
				tickets[i].Done(nil)
			}
			wantState(t, b, Closed)
		})
	}
}

func TestHalfOpenSuccessThreshold(t *testing.T) {
	for _, tc := range []struct{ max, succ, want int }{
		{1, 0, 1}, // default: HalfOpenMaxRequests
		{3, 0, 3},
		{1, 4, 4}, // sequential trials
		{5, 2, 2},
	} {
		t.Run(fmt.Sprintf("max=%d,succ=%d", tc.max, tc.succ), func(t *testing.T) {
			b, fc := newTest(t, Config{FailureThreshold: 1, HalfOpenMaxRequests: tc.max, SuccessThreshold: tc.succ})
			trip(t, b)
			fc.Advance(time.Minute)
			for i := 1; i < tc.want; i++ {
				run(b, 1, succeed)
				wantState(t, b, HalfOpen)
				if got := b.Counts().ConsecutiveSuccesses; got != uint32(i) {
					t.Fatalf("ConsecutiveSuccesses = %d, want %d", got, i)
				}
			}
			run(b, 1, succeed)
			wantState(t, b, Closed)
		})
	}
}

func TestHalfOpenFailureReopens(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 3, SuccessThreshold: 3})
	trip(t, b)
	fc.Advance(time.Minute)
	run(b, 2, succeed)
	run(b, 1, fail)
	wantState(t, b, Open)
	want := [3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1}, HalfOpen: {Open: 1}}
	if got := b.Transitions(); got != want {
		t.Fatalf("Transitions() = %v, want %v", got, want)
	}
}

func TestIgnoredTrialFreesSlot(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1}, WithClassifier(func(err error) Outcome {
		if errors.Is(err, errIgnore) {
			return Ignored
		}
		return Failure
	}))
	trip(t, b)
	fc.Advance(time.Minute)
	for range 3 {
		if err := b.Execute(context.Background(), func(context.Context) error { return errIgnore }); !errors.Is(err, errIgnore) {
			t.Fatalf("err = %v", err)
		}
		wantState(t, b, HalfOpen)
	}
	run(b, 1, succeed)
	wantState(t, b, Closed)
}

func TestClassifier(t *testing.T) {
	classify := func(err error) Outcome {
		switch {
		case errors.Is(err, errIgnore):
			return Ignored
		case err.Error() == "ok-ish":
			return Success
		case err.Error() == "rejected":
			return Rejected // not a valid verdict: counts as failure
		}
		return Failure
	}
	for _, tc := range []struct {
		name      string
		err       error
		wantFails uint32
	}{
		{"nil is success", nil, 0},
		{"failure", errBoom, 2},
		{"ignored", fmt.Errorf("wrapped: %w", errIgnore), 1},
		{"success", errors.New("ok-ish"), 0},
		{"invalid verdict", errors.New("rejected"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTest(t, Config{FailureThreshold: 10}, WithClassifier(classify))
			run(b, 1, fail)
			err := b.Execute(context.Background(), func(context.Context) error { return tc.err })
			if err != tc.err {
				t.Fatalf("Execute returned %v, want fn's error %v", err, tc.err)
			}
			if got := b.Counts().ConsecutiveFailures; got != tc.wantFails {
				t.Fatalf("ConsecutiveFailures = %d, want %d", got, tc.wantFails)
			}
		})
	}
}

func TestCallerCancellationDoesNotTrip(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	waitDone := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		timeout time.Duration
		fn      func(context.Context) error
	}{
		{"canceled", canceled, 0, waitDone},
		{"canceled, other error", canceled, 0, fail},
		{"deadline passed", expired, 0, waitDone},
		{"canceled with request timeout", canceled, time.Hour, waitDone},
		{"caller deadline before request timeout", expired, time.Hour, waitDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTest(t, Config{FailureThreshold: 1, RequestTimeout: tc.timeout})
			for range 3 {
				if err := b.Execute(tc.ctx, tc.fn); err == nil {
					t.Fatal("Execute returned nil")
				}
			}
			wantState(t, b, Closed)
			if f := b.Stats().Failures; f != 0 {
				t.Fatalf("Failures = %d, want 0", f)
			}
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	errLate := errors.New("gave up")
	for _, tc := range []struct {
		name   string
		result func(ctx context.Context) error // called once ctx is done
		also   error
	}{
		{"fn returns ctx.Err()", func(ctx context.Context) error { return ctx.Err() }, nil},
		{"fn returns nil", func(context.Context) error { return nil }, nil},
		{"fn returns another error", func(context.Context) error { return errLate }, errLate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTest(t, Config{FailureThreshold: 1, RequestTimeout: time.Millisecond})
			err := b.Execute(context.Background(), func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("fn's context has no deadline")
				}
				<-ctx.Done()
				return tc.result(ctx)
			})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want DeadlineExceeded", err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Fatalf("err = %v, want it to wrap %v", err, tc.also)
			}
			wantState(t, b, Open)
		})
	}
}

func TestNoRequestTimeoutKeepsContext(t *testing.T) {
	b, _ := newTest(t, Config{})
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	err := b.Execute(ctx, func(got context.Context) error {
		if got != ctx {
			t.Error("fn did not get the caller's context")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A request timeout sets fn's deadline unless the caller's own comes no
// later, in which case fn gets the caller's context itself: no timer.
func TestRequestTimeoutDeadline(t *testing.T) {
	const timeout = 10 * time.Second
	for _, tc := range []struct {
		name     string
		deadline time.Duration // the caller's, from now; 0 for none
		ownCtx   bool          // fn gets the caller's context
	}{
		{"no caller deadline", 0, false},
		{"caller deadline later", time.Hour, false},
		{"caller deadline sooner", time.Second, true},
		{"caller deadline equal", timeout, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTest(t, Config{RequestTimeout: timeout})
			start := time.Now()
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tc.deadline))
				defer cancel()
			}
			check := func(got context.Context) {
				t.Helper()
				if (got == ctx) != tc.ownCtx {
					t.Errorf("fn got the caller's context: %v, want %v", got == ctx, tc.ownCtx)
				}
				dl, ok := got.Deadline()
				if !ok {
					t.Fatal("fn's context has no deadline")
				}
				if want := start.Add(min(timeout, cmp.Or(tc.deadline, timeout))); dl.Before(want) || dl.After(want.Add(time.Minute)) {
					t.Errorf("deadline in %v, want %v", dl.Sub(start), want.Sub(start))
				}
			}
			if err := b.Execute(ctx, func(got context.Context) error { check(got); return nil }); err != nil {
				t.Fatal(err)
			}
			tk, got, err := b.Allow(ctx)
			if err != nil {
				t.Fatal(err)
			}
			check(got)
			tk.Release()
		})
	}
}

func TestPanicCountsAsFailure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		halfOpen bool
	}{
		{"closed", Config{FailureThreshold: 2}, false},
		{"closed with request timeout", Config{FailureThreshold: 2, RequestTimeout: time.Hour}, false},
		{"half-open", Config{FailureThreshold: 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, fc := newTest(t, tc.cfg)
			if tc.halfOpen {
				trip(t, b)
				fc.Advance(time.Minute)
				wantState(t, b, HalfOpen)
			}
			got := func() (v any) {
				defer func() { v = recover() }()
				b.Execute(context.Background(), func(context.Context) error { panic("kaboom") })
				return nil
			}()
			if got != "kaboom" {
				t.Fatalf("recovered %v, want the original panic value", got)
			}
			if tc.halfOpen {
				wantState(t, b, Open)
				if b.inflight != 0 {
					t.Fatalf("half-open slot not released: inflight %d", b.inflight)
				}
				return
			}
			if c := b.Counts().ConsecutiveFailures; c != 1 {
				t.Fatalf("ConsecutiveFailures = %d, want 1", c)
			}
		})
	}
}

func TestGenerationDropsStaleResults(t *testing.T) {
	ctx := context.Background()
	t.Run("closed failure after trip and recovery", func(t *testing.T) {
		b, fc := newTest(t, Config{FailureThreshold: 2})
		stale, _, _ := b.Allow(ctx)
		trip(t, b)
		fc.Advance(time.Minute)
		run(b, 1, succeed)
		wantState(t, b, Closed)
		stale.Done(errBoom)
		if c := b.Counts().ConsecutiveFailures; c != 0 {
			t.Fatalf("stale failure counted: %d", c)
		}
	})
	t.Run("closed success does not reset the new generation", func(t *testing.T) {
		b, fc := newTest(t, Config{FailureThreshold: 2})
		stale, _, _ := b.Allow(ctx)
		trip(t, b)
		fc.Advance(time.Minute)
		run(b, 1, succeed)
		run(b, 1, fail)
		stale.Done(nil)
		if c := b.Counts().ConsecutiveFailures; c != 1 {
			t.Fatalf("stale success reset the count: %d", c)
		}
	})
	t.Run("trial from an earlier half-open", func(t *testing.T) {
		b, fc := newTest(t, Config{FailureThreshold: 1, HalfOpenMaxRequests: 2, SuccessThreshold: 1})
		trip(t, b)
		fc.Advance(time.Minute)
		old, _, _ := b.Allow(ctx)
		run(b, 1, fail) // reopens
		fc.Advance(time.Hour)
		wantState(t, b, HalfOpen)
		a, _, _ := b.Allow(ctx)
		c, _, _ := b.Allow(ctx)
		if _, _, err := b.Allow(ctx); !errors.Is(err, ErrTooManyRequests) {
			t.Fatalf("third trial: %v, want ErrTooManyRequests", err)
		}
		old.Done(nil) // must neither close the breaker nor free a slot
		wantState(t, b, HalfOpen)
		if _, _, err := b.Allow(ctx); !errors.Is(err, ErrTooManyRequests) {
			t.Fatalf("stale Done freed a slot: %v", err)
		}
		a.Done(nil)
		c.Release()
		wantState(t, b, Closed)
	})
}

func TestRetryAfterHoldsOpen(t *testing.T) {
	const open = 10 * time.Second
	for _, tc := range []struct {
		name string
		// before runs non-tripping failures, with time passing.
		before func(b *Breaker, adv func(time.Duration))
		err    error // the tripping failure
		want   time.Duration
	}{
		{"no retry-after", nil, errBoom, open},
		{"shorter than open timeout", nil, raError{3 * time.Second}, open},
		{"longer than open timeout", nil, raError{40 * time.Second}, 40 * time.Second},
		{"capped by MaxOpenTimeout", nil, raError{time.Hour}, time.Minute},
		{"wrapped", nil, fmt.Errorf("tmdb: %w", raError{30 * time.Second}), 30 * time.Second},
		{"joined", nil, errors.Join(errBoom, raError{20 * time.Second}, raError{25 * time.Second}), 25 * time.Second},
		{"from an earlier failure", func(b *Breaker, adv func(time.Duration)) {
			b.Execute(context.Background(), func(context.Context) error { return raError{50 * time.Second} })
			adv(20 * time.Second)
		}, errBoom, 30 * time.Second},
		{"earlier window has ended", func(b *Breaker, adv func(time.Duration)) {
			b.Execute(context.Background(), func(context.Context) error { return raError{50 * time.Second} })
			adv(time.Minute)
		}, errBoom, open},
		{"reset by success keeps the window", func(b *Breaker, adv func(time.Duration)) {
			b.Execute(context.Background(), func(context.Context) error { return raError{50 * time.Second} })
			b.Execute(context.Background(), succeed)
		}, errBoom, 50 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, fc := newTest(t, Config{FailureThreshold: 2, OpenTimeout: open, MaxOpenTimeout: time.Minute})
			if tc.before != nil {
				tc.before(b, fc.Advance)
			}
			run(b, 1, fail)
			b.Execute(context.Background(), func(context.Context) error { return tc.err })
			wantState(t, b, Open)
			fc.Advance(tc.want - 1)
			wantState(t, b, Open)
			fc.Advance(1)
			wantState(t, b, HalfOpen)
		})
	}
}

func TestRetryAfterOnTrialFailure(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second, BackoffMultiplier: 1})
	trip(t, b)
	fc.Advance(10 * time.Second)
	b.Execute(context.Background(), func(context.Context) error { return raError{45 * time.Second} })
	wantState(t, b, Open)
	fc.Advance(45*time.Second - 1)
	wantState(t, b, Open)
	fc.Advance(1)
	wantState(t, b, HalfOpen)
}

// openPeriod returns how long b, just tripped, stays open.
func openPeriod(t *testing.T, b *Breaker) time.Duration {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Duration(b.openUntil - b.now())
}

// rawState returns b's state as it stands, without the move from an
// expired open period to HalfOpen that State makes.
func rawState(b *Breaker) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func TestBackoffGrowsAndResets(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second, MaxOpenTimeout: 70 * time.Second})
	want := []time.Duration{10, 20, 40, 70, 70}
	for round := range 2 {
		for i, w := range want {
			if i == 0 {
				run(b, 1, fail)
			} else {
				fc.Advance(openPeriod(t, b))
				wantState(t, b, HalfOpen)
				run(b, 1, fail)
			}
			wantState(t, b, Open)
			if got := openPeriod(t, b); got != w*time.Second {
				t.Fatalf("round %d trip %d: open for %v, want %v", round, i, got, w*time.Second)
			}
		}
		// Closing resets the growth.
		fc.Advance(openPeriod(t, b))
		run(b, 1, succeed)
		wantState(t, b, Closed)
	}
}

func TestJitterBounds(t *testing.T) {
	const open = 10 * time.Second
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: open, BackoffMultiplier: 1}, WithJitter(0.5))
	seen := map[time.Duration]bool{}
	for i := range 200 {
		if i > 0 {
			fc.Advance(openPeriod(t, b))
			wantState(t, b, HalfOpen)
		}
		run(b, 1, fail)
		d := openPeriod(t, b)
		if d < open/2 || d > open*3/2+1 {
			t.Fatalf("open period %v outside [%v, %v]", d, open/2, open*3/2)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct open periods: jitter not applied", len(seen))
	}
}

func TestClosedPathReadsNoClock(t *testing.T) {
	cc := &countingClock{Clock: clock.NewFake(time.Unix(0, 0))}
	b, err := New("test", Config{FailureThreshold: 1000}, WithClock(cc))
	if err != nil {
		t.Fatal(err)
	}
	cc.reads.Store(0)
	run(b, 10, succeed)
	run(b, 10, fail)
	run(b, 10, succeed)
	for range 10 {
		tk, _, _ := b.Allow(context.Background())
		tk.Done(errBoom)
		tk.Release()
	}
	wantState(t, b, Closed)
	if n := cc.reads.Load(); n != 0 {
		t.Fatalf("closed path read the clock %d times", n)
	}
}

func TestClosedPathAllocations(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1 << 19})
	ctx := context.Background()
	open, _ := newTest(t, Config{FailureThreshold: 1})
	trip(t, open)
	timed, _ := newTest(t, tmdbConfig)
	soon, cancel := context.WithTimeout(ctx, 5*time.Second) // before tmdb's 10 s request timeout
	defer cancel()
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Execute success", func() { b.Execute(ctx, succeed) }},
		{"Execute failure", func() { b.Execute(ctx, fail) }},
		{"Do", func() { Do(ctx, b, func(context.Context) (int, error) { return 1, nil }) }},
		{"Allow+Done+Release", func() {
			tk, _, _ := b.Allow(ctx)
			tk.Done(nil)
			tk.Release()
		}},
		{"Execute with a caller deadline within the request timeout", func() { timed.Execute(soon, succeed) }},
		{"rejection", func() { open.Execute(ctx, succeed) }},
		{"Counts+Rejected", func() { _, _ = b.Counts(), b.Rejected() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Fatalf("%v allocations per call, want 0", n)
			}
		})
	}
}

func TestDo(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1})
	v, err := Do(context.Background(), b, func(context.Context) (string, error) { return "list", nil })
	if v != "list" || err != nil {
		t.Fatalf("Do = %q, %v", v, err)
	}
	v, err = Do(context.Background(), b, func(context.Context) (string, error) { return "partial", errBoom })
	if v != "partial" || !errors.Is(err, errBoom) {
		t.Fatalf("Do = %q, %v", v, err)
	}
	v, err = Do(context.Background(), b, func(context.Context) (string, error) { return "unreached", nil })
	if v != "" || !errors.Is(err, ErrOpen) {
		t.Fatalf("Do on open breaker = %q, %v", v, err)
	}
}

func TestStats(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 2})
	run(b, 2, fail)
	run(b, 3, succeed)
	fc.Advance(time.Minute)
	run(b, 1, fail)
	got := b.Stats()
	want := Stats{
		Name: "test", State: Open, Mode: ModeNormal,
		OpenUntil: fc.Now().Add(openPeriod(t, b)),
		Failures:  3, Rejected: 3,
		Transitions: [3][3]uint64{Closed: {Open: 1}, Open: {HalfOpen: 1}, HalfOpen: {Open: 1}},
	}
	if got != want {
		t.Fatalf("Stats() = %+v\nwant %+v", got, want)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Closed.String(), "closed"},
		{Open.String(), "open"},
		{HalfOpen.String(), "half-open"},
		{State(7).String(), "State(7)"},
		{ModeNormal.String(), "normal"},
		{ModeForcedOpen.String(), "forced-open"},
		{ModeDisabled.String(), "disabled"},
		{ModeMetricsOnly.String(), "metrics-only"},
		{Mode(9).String(), "Mode(9)"},
		{Success.String(), "success"},
		{Failure.String(), "failure"},
		{Ignored.String(), "ignored"},
		{Rejected.String(), "rejected"},
		{Outcome(0).String(), "Outcome(0)"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestModeText(t *testing.T) {
	for m := ModeNormal; m <= ModeMetricsOnly; m++ {
		text, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Mode
		if err := back.UnmarshalText([]byte(strings.ToUpper(string(text)))); err != nil || back != m {
			t.Fatalf("round trip of %v: %v, %v", m, back, err)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Fatal("ParseMode accepted an unknown mode")
	}
	if _, err := Mode(9).MarshalText(); err == nil {
		t.Fatal("MarshalText accepted an unknown mode")
	}
	if text, err := HalfOpen.MarshalText(); err != nil || string(text) != "half-open" {
		t.Fatalf("HalfOpen.MarshalText() = %s, %v", text, err)
	}
	if _, err := State(3).MarshalText(); err == nil {
		t.Fatal("MarshalText accepted an unknown state")
	}
}

// The first open period is exactly OpenTimeout, jitter or not: only the
// growth of later ones is jittered.
func TestFirstOpenPeriodIsExact(t *testing.T) {
	const open = 60 * time.Second
	for range 20 {
		b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: open}, WithJitter(0.5))
		run(b, 1, fail)
		if got := openPeriod(t, b); got != open {
			t.Fatalf("first open period %v, want %v", got, open)
		}
		fc.Advance(open)
		run(b, 1, fail) // the half-open trial fails: the second period grows
		if got := openPeriod(t, b); got == open {
			t.Fatalf("second open period did not grow: %v", got)
		}
	}
}

// Stats says when an open breaker lets trial calls through: the end of
// its open period, Retry-After included; never for a breaker that is not
// open, nor for one forced open.
func TestStatsOpenUntil(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: 10 * time.Second})
	if u := b.Stats().OpenUntil; !u.IsZero() {
		t.Fatalf("closed: OpenUntil = %v, want zero", u)
	}
	start := fc.Now()
	run(b, 1, fail)
	if u := b.Stats().OpenUntil; !u.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("open: OpenUntil = %v, want %v", u, start.Add(10*time.Second))
	}
	fc.Advance(10 * time.Second)
	if st := b.Stats(); st.State != HalfOpen || !st.OpenUntil.IsZero() {
		t.Fatalf("after the open period: %v until %v, want half-open and zero", st.State, st.OpenUntil)
	}
	// A failed trial with Retry-After reopens until its end.
	b.Execute(context.Background(), func(context.Context) error { return raError{30 * time.Second} })
	if st := b.Stats(); st.State != Open || !st.OpenUntil.Equal(fc.Now().Add(30*time.Second)) {
		t.Fatalf("after a trial answered Retry-After 30s: %v until %v, want open until %v", st.State, st.OpenUntil, fc.Now().Add(30*time.Second))
	}
	b.SetMode(ModeForcedOpen)
	if st := b.Stats(); st.State != Open || !st.OpenUntil.IsZero() {
		t.Fatalf("forced open: %v until %v, want open with no end", st.State, st.OpenUntil)
	}
}

// Stats never moves the breaker: no listener runs inside collection.
func TestStatsMakesNoTransition(t *testing.T) {
	var events int
	b, fc := newTest(t, Config{FailureThreshold: 1, OpenTimeout: time.Second},
		WithStateListener(func(StateChange) { events++ }))
	run(b, 1, fail)
	events = 0
	fc.Advance(2 * time.Second)
	if st := b.Stats(); st.State != HalfOpen {
		t.Fatalf("Stats().State = %v, want half-open", st.State)
	}
	if events != 0 {
		t.Fatalf("Stats ran %d listeners", events)
	}
	if b.State() != HalfOpen || events != 1 {
		t.Fatalf("State: %v, %d events", b.State(), events)
	}
}
