package pacer

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Unix(1_700_000_000, 0)

// deadlineCtx has a deadline on the fake clock's time line, which a real
// context cannot have without already being expired.
type deadlineCtx struct {
	context.Context
	dl time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

// waitAsync runs Wait in a goroutine and returns its result channel.
func waitAsync(p *Pacer, ctx context.Context, write bool) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Wait(ctx, write) }()
	return ch
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestUnpacedDoesNotWait(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{}, clk)
	for range 1000 {
		if err := p.Wait(context.Background(), false); err != nil {
			t.Fatal(err)
		}
	}
	if clk.Timers() != 0 || p.Waited() != 0 {
		t.Fatalf("unpaced pacer waited: timers %d, waited %v", clk.Timers(), p.Waited())
	}
	if s := p.Snapshot(); !math.IsInf(s.Rate, 1) || !s.PausedUntil.IsZero() || s.Remaining != -1 {
		t.Fatalf("snapshot %+v", s)
	}
}

func TestRetryAfterPausesEveryRequest(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{}, clk)
	_ = p.Wait(context.Background(), false)
	if d := p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "2")); d != 2*time.Second {
		t.Fatalf("Observe returned %v", d)
	}
	// Reads and writes wait alike.
	a, b := waitAsync(p, context.Background(), false), waitAsync(p, context.Background(), true)
	clk.BlockUntilTimers(2)
	clk.Advance(time.Second)
	select {
	case err := <-a:
		t.Fatalf("a request went during the pause: %v", err)
	case err := <-b:
		t.Fatalf("a write went during the pause: %v", err)
	default:
	}
	clk.Advance(time.Second)
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if p.Waited() != 4*time.Second {
		t.Fatalf("waited %v, want 2 s for each of two requests", p.Waited())
	}

	// An HTTP date works too.
	p.Observe(false, http.StatusServiceUnavailable, header("Retry-After", clk.Now().Add(10*time.Second).UTC().Format(http.TimeFormat)))
	if left := p.PauseLeft(clk.Now()); left != 10*time.Second {
		t.Fatalf("pause from an HTTP date: %v", left)
	}
}

func TestWaitPastDeadlineFailsAtOnce(t *testing.T) {
	clk := clock.NewFake(t0)
	for _, tc := range []struct {
		name    string
		cfg     Config
		ctx     context.Context
		prepare func(*Pacer)
		want    WaitError
	}{
		{"pause past the deadline", Config{}, deadlineCtx{context.Background(), t0.Add(time.Second)},
			func(p *Pacer) { p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "5")) },
			WaitError{Wait: 5 * time.Second, Paused: true}},
		{"pause past MaxWait", Config{MaxWait: time.Second}, context.Background(),
			func(p *Pacer) { p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "3")) },
			WaitError{Wait: 3 * time.Second, Paused: true}},
		{"pace past the deadline", Config{Rate: 1}, deadlineCtx{context.Background(), t0.Add(500 * time.Millisecond)},
			func(p *Pacer) { _ = p.Wait(context.Background(), false) },
			WaitError{Wait: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.cfg, clk)
			tc.prepare(p)
			err := p.Wait(tc.ctx, false)
			var we *WaitError
			if !errors.As(err, &we) || *we != tc.want {
				t.Fatalf("Wait = %v, want %+v", err, tc.want)
			}
			if clk.Timers() != 0 || p.Waited() != 0 {
				t.Fatal("waited before failing")
			}
		})
	}
	// A refused wait gives its slot back: the next request is not pushed later.
	p := New(Config{Rate: 1}, clk)
	_ = p.Wait(context.Background(), false)
	for range 3 {
		_ = p.Wait(deadlineCtx{context.Background(), t0}, false)
	}
	clk.Advance(time.Second)
	if err := p.Wait(deadlineCtx{context.Background(), clk.Now()}, false); err != nil {
		t.Fatalf("slot not given back: %v", err)
	}
}

func TestBudgetHeadersSetThePace(t *testing.T) {
	now := t0
	clk := clock.NewFake(now)
	p := New(Config{}, clk)
	_ = p.Wait(context.Background(), false)
	p.Observe(false, http.StatusOK, header("X-RateLimit-Remaining", "10", "X-RateLimit-Reset", strconv.FormatInt(now.Add(5*time.Second).Unix(), 10)))
	if s := p.Snapshot(); s.Rate != 2 || s.Remaining != 10 {
		t.Fatalf("10 left for 5 s: %+v", s)
	}
	// Trakt: nothing left until the window ends: a pause, before any 429.
	_ = p.Wait(context.Background(), false)
	p.Observe(false, http.StatusOK, header("X-Ratelimit",
		`{"name":"UNAUTHED_API_GET_LIMIT","period":300,"limit":1000,"remaining":0,"until":"`+now.Add(40*time.Second).UTC().Format(time.RFC3339)+`"}`))
	if s := p.Snapshot(); !s.PausedUntil.Equal(now.Add(40*time.Second)) || s.Remaining != 0 {
		t.Fatalf("spent budget: %+v", s)
	}
	// Requests in flight are kept out of what is left.
	q := New(Config{}, clk)
	for range 5 {
		_ = q.Wait(context.Background(), false)
	}
	q.Observe(false, http.StatusOK, header("Ratelimit", `"default";r=4;t=1`))
	if s := q.Snapshot(); s.PausedUntil.IsZero() {
		t.Fatalf("4 left, 4 in flight: %+v", s)
	}
}

func TestAdditiveIncreaseMultiplicativeDecrease(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{}, clk)
	for range 20 {
		_ = p.Wait(context.Background(), false)
		p.Observe(false, http.StatusOK, nil)
	}
	_ = p.Wait(context.Background(), false)
	p.Observe(false, http.StatusTooManyRequests, nil)
	if r := p.Snapshot().Rate; r != 16 {
		t.Fatalf("after a 429 at 20 accepted per second: %v/s, want 16", r)
	}
	// An echo (a request already in flight) does not lower it again.
	p.Observe(false, http.StatusTooManyRequests, nil)
	if r := p.Snapshot().Rate; r != 16 {
		t.Fatalf("echo lowered the pace to %v", r)
	}
	// Quick back towards the 20 that worked, slow past it.
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{time.Second, 20 * (1 - 0.2*math.Exp(-1) + 0.005)},
		{10 * time.Second, 20 * (1 - 0.2*math.Exp(-10) + 0.05)},
	} {
		clk.Advance(tc.after - clk.Now().Sub(t0))
		p.Observe(false, http.StatusOK, nil)
		if r := p.Snapshot().Rate; math.Abs(r-tc.want) > 1e-9 {
			t.Fatalf("%v of successes later: %v/s, want %v", tc.after, r, tc.want)
		}
	}
	// A configured ceiling ends the recovery.
	q := New(Config{Rate: 10, Burst: 5}, clk)
	q.Observe(false, http.StatusTooManyRequests, nil)
	clk.Advance(time.Hour)
	q.Observe(false, http.StatusOK, nil)
	if r := q.Snapshot().Rate; r != 10 {
		t.Fatalf("recovered to %v/s, want the configured 10", r)
	}
}

func TestTakeNeverWaits(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{Rate: 1}, clk)
	for range 10 {
		p.Take(false)
	}
	if clk.Timers() != 0 {
		t.Fatal("Take waited")
	}
	// The probe took the one free slot; a request now waits for the next.
	done := waitAsync(p, context.Background(), false)
	clk.BlockUntilTimers(1)
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWritesPacedApart(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{Rate: 100, Burst: 10, WriteRate: 1}, clk)
	_ = p.Wait(context.Background(), true)
	for range 10 {
		if err := p.Wait(deadlineCtx{context.Background(), clk.Now()}, false); err != nil {
			t.Fatalf("reads held by the write pace: %v", err)
		}
	}
	var we *WaitError
	if err := p.Wait(deadlineCtx{context.Background(), clk.Now()}, true); !errors.As(err, &we) || we.Wait != time.Second {
		t.Fatalf("second write in a second: %v", err)
	}
}

func TestParseBudget(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		name string
		h    http.Header
		want Budget
		ok   bool
	}{
		{"none", header(), Budget{}, false},
		{"trakt", header("X-Ratelimit", `{"name":"AUTHED_API_GET_LIMIT","period":300,"limit":1000,"remaining":998,"until":"2023-11-14T22:18:20Z"}`),
			Budget{Remaining: 998, Reset: time.Date(2023, 11, 14, 22, 18, 20, 0, time.UTC)}, true},
		{"trakt malformed", header("X-Ratelimit", `{"remaining":`), Budget{}, false},
		{"ietf structured", header("RateLimit", `"default";r=50;t=30`), Budget{Remaining: 50, Reset: now.Add(30 * time.Second)}, true},
		{"ietf draft 7", header("RateLimit", `limit=100, remaining=7, reset=12`), Budget{Remaining: 7, Reset: now.Add(12 * time.Second)}, true},
		{"ietf with policy window", header("RateLimit", `"default";r=40`, "RateLimit-Policy", `"default";q=100;w=60, "burst";q=10;w=1`),
			Budget{Remaining: 40, Reset: now.Add(time.Minute)}, true},
		{"ietf reset over policy", header("RateLimit", `"default";r=40;t=5`, "RateLimit-Policy", `"default";q=100;w=60`),
			Budget{Remaining: 40, Reset: now.Add(5 * time.Second)}, true},
		{"ietf separate fields", header("RateLimit-Remaining", "3", "RateLimit-Reset", "2"), Budget{Remaining: 3, Reset: now.Add(2 * time.Second)}, true},
		{"x-ratelimit epoch", header("X-RateLimit-Remaining", "9", "X-RateLimit-Reset", "1700000060"), Budget{Remaining: 9, Reset: time.Unix(1_700_000_060, 0)}, true},
		{"x-ratelimit seconds", header("X-RateLimit-Remaining", "9", "X-RateLimit-Reset", "60"), Budget{Remaining: 9, Reset: now.Add(time.Minute)}, true},
		{"x-ratelimit no reset", header("X-RateLimit-Remaining", "9"), Budget{Remaining: 9}, true},
		{"negative", header("X-RateLimit-Remaining", "-1"), Budget{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseBudget(tc.h, now)
			if ok != tc.ok || got.Remaining != tc.want.Remaining || !got.Reset.Equal(tc.want.Reset) {
				t.Fatalf("ParseBudget = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// An absurd reset is far ahead, never wrapped into the past.
func TestParseBudgetAbsurdReset(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"x-ratelimit epoch 1e30", header("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "1e30")},
		{"x-ratelimit +Inf", header("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "+Inf")},
		{"ietf t=1e300", header("RateLimit", "r=1;t=1e300")},
		{"ietf policy w=1e300", header("RateLimit", "r=1", "RateLimit-Policy", "q=1;w=1e300")},
		{"separate fields 1e20", header("RateLimit-Remaining", "1", "RateLimit-Reset", "1e20")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := ParseBudget(tc.h, now)
			if !ok || b.Reset.Before(now.Add(100*365*24*time.Hour)) {
				t.Fatalf("ParseBudget = %+v, %v; want a reset centuries ahead", b, ok)
			}
		})
	}
}

func TestRetryBudget(t *testing.T) {
	b := NewRetryBudget(0.1, 10, 10*time.Second)
	now := t0
	retries := 0
	for range 100 {
		b.Request(now)
		if b.TryRetry(now) {
			retries++
		}
	}
	if retries != 20 {
		t.Fatalf("%d retries for 100 requests, want 10 + 10 %%", retries)
	}
	// The window slides: a quiet 10 s later, only the floor is left.
	now = now.Add(11 * time.Second)
	retries = 0
	for b.TryRetry(now) {
		retries++
	}
	if retries != 10 {
		t.Fatalf("%d retries with no requests, want the floor of 10", retries)
	}
}

// With a pace of their own, writes are paused and paced apart from reads:
// a write's 429 or spent budget leaves reads alone, and the other way round.
func TestWritesPausedApartFromReads(t *testing.T) {
	clk := clock.NewFake(t0)
	// MaxWait makes a wait that would be needed fail at once, so the test
	// sees who would wait without waiting.
	p := New(Config{Rate: 10, Burst: 10, WriteRate: 1, MaxWait: 500 * time.Millisecond}, clk)
	ctx := context.Background()
	if err := p.Wait(ctx, true); err != nil {
		t.Fatal(err)
	}
	until := clk.Now().Add(time.Second).UTC().Format(time.RFC3339)
	p.Observe(true, http.StatusOK, header("X-Ratelimit",
		`{"name":"AUTHED_API_POST_LIMIT","period":1,"limit":1,"remaining":0,"until":"`+until+`"}`))
	if d := p.PauseLeft(clk.Now()); d != 0 {
		t.Fatalf("a write's spent budget paused reads for %v", d)
	}
	if s := p.Snapshot(); s.Rate != 10 {
		t.Fatalf("a write's budget changed the read pace: %+v", s)
	}
	// A read goes at once; a write would wait for the write pause.
	if err := p.Wait(ctx, false); err != nil {
		t.Fatalf("read during a write pause: %v", err)
	}
	p.Observe(false, http.StatusOK, nil)
	var we *WaitError
	if err := p.Wait(ctx, true); !errors.As(err, &we) || !we.Paused {
		t.Fatalf("write during its pause: %v", err)
	}
	// A read's 429 pauses reads, not writes.
	clk.Advance(2 * time.Second)
	if err := p.Wait(ctx, false); err != nil {
		t.Fatal(err)
	}
	p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "30"))
	if d := p.PauseLeft(clk.Now()); d != 30*time.Second {
		t.Fatalf("read pause = %v, want 30s", d)
	}
	if err := p.Wait(ctx, true); err != nil {
		t.Fatalf("write during a read pause: %v", err)
	}
}

// A pace set from an announced budget lasts until the budget renews; then
// the configured pace is back.
func TestBudgetPaceExpires(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(Config{Rate: 40, Burst: 20}, clk)
	reset := clk.Now().Add(time.Hour)
	if err := p.Wait(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	p.Observe(false, http.StatusOK, header("X-RateLimit-Remaining", "2", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10)))
	if s := p.Snapshot(); s.Rate >= 1 {
		t.Fatalf("2 left for an hour: pace %v, want well below 1/s", s.Rate)
	}
	clk.Advance(time.Hour + time.Second)
	p.Take(false)
	p.Abandon()
	if s := p.Snapshot(); s.Rate != 40 {
		t.Fatalf("after the budget renewed: pace %v, want 40", s.Rate)
	}
}
