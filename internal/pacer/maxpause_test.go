package pacer

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// wouldWait sends one request through p if it may go now, and otherwise
// returns how long it would have to wait, without waiting: p's MaxWait is
// a nanosecond, so every wait is refused at once (and gives its slot back).
func wouldWait(t *testing.T, p *Pacer, write bool) (time.Duration, bool) {
	t.Helper()
	err := p.Wait(context.Background(), write)
	if err == nil {
		return 0, false
	}
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("Wait: %v", err)
	}
	return we.Wait, we.Paused
}

// No answer holds a request longer than MaxPause, whatever header and
// value it uses; after MaxPause one request goes, as a probe, and the
// others wait for its answer; the probe's answer decides what follows.
// Each case is one absurd answer; the service repeats it to every request
// but the last, whose sane answer lets requests go at their pace again.
func TestMaxPauseCapsEveryAnswer(t *testing.T) {
	const maxPause = time.Minute
	clk := clock.NewFake(t0)
	far := func(d time.Duration) string { return clk.Now().Add(d).UTC().Format(http.TimeFormat) }
	epoch := func(d time.Duration) string { return strconv.FormatInt(clk.Now().Add(d).Unix(), 10) }
	trakt := func(remaining int) string {
		return `{"name":"UNAUTHED_API_GET_LIMIT","period":300,"limit":1000,"remaining":` + strconv.Itoa(remaining) + `,"until":"2200-01-01T00:00:00Z"}`
	}
	fixed := func(kv ...string) func() http.Header { return func() http.Header { return header(kv...) } }
	own := Config{Rate: 10, Burst: 10, WriteRate: 1} // writes paced and paused apart, as Trakt's
	for _, tc := range []struct {
		name   string
		cfg    Config
		write  bool
		status int
		answer func() http.Header // made anew for each request, as the clock moves
		// pace is the longest wait for the pace once the probe's answer is
		// sane: writes of their own pace go 1 a second, and a paced
		// service's 429s lowered its pace (to 0.2 a second at most).
		pace time.Duration
	}{
		{"Retry-After 86399 on 429", Config{}, false, 429, fixed("Retry-After", "86399"), 0},
		{"Retry-After 86399 on 503", Config{}, false, 503, fixed("Retry-After", "86399"), 0},
		{"Retry-After date 23h ahead", Config{}, false, 429, func() http.Header { return header("Retry-After", far(23*time.Hour)) }, 0},
		{"Retry-After 86399, paced service", Config{Rate: 40, Burst: 20}, false, 429, fixed("Retry-After", "86399"), 5 * time.Second},
		{"Retry-After 86399 on a write of its own pace", own, true, 429, fixed("Retry-After", "86399"), time.Second},
		{"X-RateLimit spent, reset in 3 days", Config{}, false, 200, func() http.Header {
			return header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch(72*time.Hour))
		}, 0},
		{"X-RateLimit 1 left, reset in 3 days", Config{}, false, 200, func() http.Header {
			return header("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", epoch(72*time.Hour))
		}, 0},
		{"X-RateLimit 1 left, reset 99999999 s", Config{}, false, 200, fixed("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "99999999"), 0},
		{"X-RateLimit 1 left, reset 1e300", Config{}, false, 200, fixed("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "1e300"), 0},
		{"X-RateLimit spent, reset +Inf", Config{}, false, 429, fixed("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "+Inf"), 0},
		{"RateLimit r=1;t=99999999", Config{}, false, 200, fixed("RateLimit", `"default";r=1;t=99999999`), 0},
		{"RateLimit r=0;t=99999999", Config{}, false, 429, fixed("RateLimit", `"default";r=0;t=99999999`), 0},
		{"RateLimit draft remaining=1, reset=1e18", Config{}, false, 200, fixed("RateLimit", "limit=100, remaining=1, reset=1e18"), 0},
		{"RateLimit-Policy w huge", Config{}, false, 200, fixed("RateLimit", `"default";r=1`, "RateLimit-Policy", `"default";q=100;w=99999999999`), 0},
		{"RateLimit-Remaining 1, RateLimit-Reset huge", Config{}, false, 200, fixed("RateLimit-Remaining", "1", "RateLimit-Reset", "99999999"), 0},
		{"Trakt 1 left until 2200", Config{}, false, 200, fixed("X-Ratelimit", trakt(1)), 0},
		{"Trakt spent until 2200", Config{}, false, 429, fixed("X-Ratelimit", trakt(0)), 0},
		{"Trakt write spent until 2200", own, true, 429, fixed("X-Ratelimit", trakt(0)), time.Second},
		{"Trakt 1 left until 9999", Config{}, false, 200, fixed("X-Ratelimit", `{"remaining":1,"until":"9999-12-31T23:59:59Z"}`), 0},
		{"Retry-After and budget both absurd", Config{}, false, 429, fixed("Retry-After", "86399", "RateLimit", "r=0;t=99999999"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			cfg := tc.cfg
			cfg.MaxPause, cfg.MaxWait = maxPause, time.Nanosecond
			p := New(cfg, clk)
			if d, _ := wouldWait(t, p, tc.write); d != 0 {
				t.Fatalf("first request waits %v", d)
			}
			if got := p.Observe(tc.write, tc.status, answer()); got > maxPause {
				t.Fatalf("Observe set a pause of %v", got)
			}
			if s := p.Snapshot(); !s.PausedUntil.IsZero() && s.PausedUntil.After(clk.Now().Add(maxPause)) ||
				s.Rate < 1/maxPause.Seconds() || s.MaxPause != maxPause {
				t.Fatalf("snapshot %+v", s)
			}
			// The service says the same to every request: each waits
			// MaxPause at most, and some wait.
			held := false
			for range 3 {
				d, _ := wouldWait(t, p, tc.write)
				if d > maxPause {
					t.Fatalf("a request would wait %v, past MaxPause", d)
				}
				if d > 0 {
					held = true
					clk.Advance(d)
					if d, _ := wouldWait(t, p, tc.write); d != 0 {
						t.Fatalf("after the wait, a request still waits %v", d)
					}
				}
				// While this request (the probe, after a pause) is out,
				// the others wait MaxPause at most.
				if d, _ := wouldWait(t, p, tc.write); d == 0 || d > maxPause {
					t.Fatalf("while a probe is out, another request waits %v", d)
				}
				p.Observe(tc.write, tc.status, answer())
			}
			if !held {
				t.Fatal("no request waited: the answer was ignored")
			}
			// The probe brings back a sane answer: requests go at their
			// pace again, unpaused.
			d, _ := wouldWait(t, p, tc.write)
			clk.Advance(d)
			if d, _ := wouldWait(t, p, tc.write); d != 0 {
				t.Fatalf("the probe waits %v", d)
			}
			p.Observe(tc.write, http.StatusOK, nil)
			for range 5 {
				d, paused := wouldWait(t, p, tc.write)
				if paused || d > tc.pace {
					t.Fatalf("after the probe's sane answer, a request waits %v (paused %v)", d, paused)
				}
				if d > 0 {
					clk.Advance(d)
					if d, _ := wouldWait(t, p, tc.write); d != 0 {
						t.Fatalf("after its pace, a request waits %v", d)
					}
				}
				p.Observe(tc.write, http.StatusOK, nil)
			}
		})
	}
}

// An absurd Retry-After holds every waiting request for MaxPause; then one
// goes alone as the probe, and the others wait for its answer. An answer
// that asks again holds them for another MaxPause; a probe that gets no
// answer hands the probe on; a success lets every request go.
func TestProbeAfterMaxPauseDecides(t *testing.T) {
	const maxPause = 5 * time.Minute
	ctx := context.Background()
	clk := clock.NewFake(t0)
	p := New(Config{}, clk) // MaxPause: the default
	if s := p.Snapshot(); s.MaxPause != DefaultMaxPause || DefaultMaxPause != maxPause {
		t.Fatalf("MaxPause %v, want the default %v", s.MaxPause, maxPause)
	}
	_ = p.Wait(ctx, false)
	if got := p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "86399")); got != maxPause {
		t.Fatalf("Observe set %v, want %v", got, maxPause)
	}
	if left := p.PauseLeft(clk.Now()); left != maxPause {
		t.Fatalf("PauseLeft %v, want %v", left, maxPause)
	}
	w := startWaiters(t, clk, p, 3)
	went, asleep := w.went, w.asleep
	asleep(3)
	clk.Advance(maxPause - time.Nanosecond)
	went(0)
	// One goes as the probe; the two others wait for its answer.
	clk.Advance(time.Nanosecond)
	went(1)
	asleep(2)
	went(0)
	// The probe gets the same answer: another pause of MaxPause from now,
	// and another probe after it.
	p.Observe(false, http.StatusTooManyRequests, header("Retry-After", "86399"))
	if left := p.PauseLeft(clk.Now()); left != maxPause {
		t.Fatalf("PauseLeft %v after the probe's 429, want %v", left, maxPause)
	}
	clk.Advance(maxPause - time.Nanosecond)
	went(0)
	clk.Advance(time.Nanosecond)
	went(1)
	asleep(1)
	went(0)
	// That probe fails without an answer: the last waiter is the next probe.
	p.ObserveError()
	went(1)
	// Its answer is a success: the hold ends, and requests go at once.
	p.Observe(false, http.StatusOK, nil)
	if left := p.PauseLeft(clk.Now()); left != 0 {
		t.Fatalf("pause left after the probe's success: %v", left)
	}
	for range 3 {
		if err := p.Wait(deadlineCtx{ctx, clk.Now()}, false); err != nil {
			t.Fatalf("after the probe's success: %v", err)
		}
	}
}

// The others waiting for the probe go as soon as its answer comes.
func TestProbeAnswerReleasesWaiters(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	p := New(Config{MaxPause: time.Minute}, clk)
	_ = p.Wait(ctx, false)
	p.Observe(false, http.StatusServiceUnavailable, header("Retry-After", clk.Now().Add(23*time.Hour).UTC().Format(http.TimeFormat)))
	clk.Advance(time.Minute)
	if err := p.Wait(ctx, false); err != nil { // the probe
		t.Fatal(err)
	}
	w := startWaiters(t, clk, p, 2)
	w.asleep(2)
	p.Observe(false, http.StatusOK, nil)
	w.went(2)
	if clk.Now() != t0.Add(time.Minute) {
		t.Fatal("the clock moved: the waiters waited out the hold")
	}
}

// waiters are reads waiting in goroutines of their own.
type waiters struct {
	t    *testing.T
	clk  *clock.Fake
	gone chan error // each one's Wait, as it returns
}

func startWaiters(t *testing.T, clk *clock.Fake, p *Pacer, n int) *waiters {
	w := &waiters{t: t, clk: clk, gone: make(chan error, n)}
	for range n {
		go func() { w.gone <- p.Wait(context.Background(), false) }()
	}
	return w
}

// went returns when n of them went, and fails the test when more did.
func (w *waiters) went(n int) {
	w.t.Helper()
	for range n {
		if err := <-w.gone; err != nil {
			w.t.Fatal(err)
		}
	}
	if n := len(w.gone); n != 0 {
		w.t.Fatalf("%d more requests went", n)
	}
}

// asleep returns when n of them wait on a timer, and fails the test when
// one goes instead.
func (w *waiters) asleep(n int) {
	w.t.Helper()
	armed := make(chan struct{})
	go func() { w.clk.BlockUntilTimers(n); close(armed) }()
	select {
	case <-armed:
	case err := <-w.gone:
		w.t.Fatalf("a request went (err %v) where it should wait", err)
	}
}
