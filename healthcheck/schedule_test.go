package healthcheck_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
)

// pathCounter counts requests per path.
type pathCounter struct {
	mu   sync.Mutex
	hits map[string]int
}

func (p *pathCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hits[r.URL.Path]++
	p.mu.Unlock()
}

func (p *pathCounter) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// TestSchedule drives the schedule with the Fake clock: every target is
// checked once at Start, then once per interval plus jitter; a target added
// later is checked at once, a removed one no more; and Shutdown leaves no
// goroutine behind.
func TestSchedule(t *testing.T) {
	const (
		interval = time.Minute
		jitter   = 0.5
		draw     = 0.5 // what the jitter source returns
		period   = interval + time.Duration(jitter*draw*float64(interval))
	)
	counter := &pathCounter{hits: map[string]int{}}
	srv := httptest.NewServer(counter)
	defer srv.Close()
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ignore := goleak.IgnoreCurrent()

	fc := clock.NewFake(epoch)
	c, err := healthcheck.New(healthcheck.Config{CheckInterval: interval, Jitter: jitter},
		healthcheck.WithClock(fc),
		healthcheck.WithHTTPClient(noKeepAlive),
		healthcheck.WithJitterSource(func() float64 { return draw }))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"imdb", "tmdb", "trakt"}
	for _, n := range names {
		mustAdd(t, c, healthcheck.Target{Name: n, URL: srv.URL + "/" + n})
	}
	wantHits := func(round int, names ...string) {
		t.Helper()
		for _, n := range names {
			if got := counter.count("/" + n); got != round {
				t.Fatalf("%s checked %d times, want %d", n, got, round)
			}
		}
	}

	wantHits(0, names...) // New and Add start nothing
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("second Start = %v", err)
	}
	fc.BlockUntilTimers(len(names))
	wantHits(1, names...)
	for _, n := range names {
		if s := mustStatus(t, c, n); s != healthcheck.Up {
			t.Fatalf("%s = %v after the first check", n, s)
		}
	}

	for round := 2; round <= 4; round++ {
		fc.Advance(period - time.Nanosecond)
		if got := fc.Timers(); got != len(names) {
			t.Fatalf("round %d: %d timers armed before the period", round, got)
		}
		wantHits(round-1, names...) // not yet due
		fc.Advance(time.Nanosecond)
		fc.BlockUntilTimers(len(names))
		wantHits(round, names...)
	}

	// Added after Start: checked at once, then on its own schedule.
	mustAdd(t, c, healthcheck.Target{Name: "plex", URL: srv.URL + "/plex"})
	fc.BlockUntilTimers(len(names) + 1)
	wantHits(1, "plex")

	// Removed: no more checks.
	if err := c.Remove("imdb"); err != nil {
		t.Fatal(err)
	}
	fc.Advance(period)
	fc.BlockUntilTimers(len(names)) // tmdb, trakt, plex rearmed
	wantHits(4, "imdb")
	wantHits(5, "tmdb", "trakt")
	wantHits(2, "plex")

	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := fc.Timers(); got != 0 {
		t.Fatalf("%d timers armed after Shutdown", got)
	}
	goleak.VerifyNone(t, ignore)
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

// TestJitterSpreadsChecks shows each target waiting interval × (1 + Jitter ×
// draw) with its own draw.
func TestJitterSpreadsChecks(t *testing.T) {
	counter := &pathCounter{hits: map[string]int{}}
	srv := newHandlerServer(t, counter.ServeHTTP)
	var (
		mu    sync.Mutex
		draws = []float64{0.0, 0.8} // then 0
	)
	next := func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(draws) == 0 {
			return 0
		}
		d := draws[0]
		draws = draws[1:]
		return d
	}
	c, fc := newChecker(t, healthcheck.Config{CheckInterval: 100 * time.Second, MaxConcurrency: 1},
		healthcheck.WithJitterSource(next))
	mustAdd(t, c, healthcheck.Target{Name: "a", URL: srv.URL + "/a"})
	mustAdd(t, c, healthcheck.Target{Name: "b", URL: srv.URL + "/b"})
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fc.BlockUntilTimers(2) // one waits 100s, the other 108s
	fc.Advance(100 * time.Second)
	fc.BlockUntilTimers(2) // the first fired and rearmed
	if total := counter.count("/a") + counter.count("/b"); total != 3 {
		t.Fatalf("%d checks after one interval, want 3", total)
	}
	fc.Advance(8*time.Second - time.Nanosecond)
	if total := counter.count("/a") + counter.count("/b"); total != 3 {
		t.Fatalf("%d checks before the jittered interval, want 3", total)
	}
	fc.Advance(time.Nanosecond)
	fc.BlockUntilTimers(2)
	if total := counter.count("/a") + counter.count("/b"); total != 4 {
		t.Fatalf("%d checks after the jittered interval, want 4", total)
	}
}

func TestLifecycle(t *testing.T) {
	srv := newSwitchServer(t, http.StatusOK)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c *healthcheck.Checker)
	}{
		{
			name: "shutdown before start",
			run: func(t *testing.T, c *healthcheck.Checker) {
				if err := c.Shutdown(t.Context()); err != nil {
					t.Fatalf("Shutdown = %v", err)
				}
				if err := c.Shutdown(t.Context()); err != nil {
					t.Fatalf("second Shutdown = %v", err)
				}
				if err := c.Start(t.Context()); !errors.Is(err, healthcheck.ErrShutdown) {
					t.Fatalf("Start after Shutdown = %v, want ErrShutdown", err)
				}
				if err := c.Add(healthcheck.Target{Name: "b", URL: srv.URL}); !errors.Is(err, healthcheck.ErrShutdown) {
					t.Fatalf("Add after Shutdown = %v, want ErrShutdown", err)
				}
				if _, err := c.CheckNow(t.Context(), "a"); !errors.Is(err, healthcheck.ErrShutdown) {
					t.Fatalf("CheckNow after Shutdown = %v, want ErrShutdown", err)
				}
				if rs := c.CheckAll(t.Context()); rs != nil {
					t.Fatalf("CheckAll after Shutdown = %v", rs)
				}
				if got := c.Summary().TotalServices; got != 1 {
					t.Fatalf("Summary after Shutdown: %d services", got)
				}
			},
		},
		{
			name: "start with a canceled context",
			run: func(t *testing.T, c *healthcheck.Checker) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				if err := c.Start(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("Start = %v", err)
				}
				if err := c.Start(t.Context()); err != nil {
					t.Fatalf("Start after a failed Start = %v", err)
				}
			},
		},
		{
			name: "check before start",
			run: func(t *testing.T, c *healthcheck.Checker) {
				res, err := c.CheckNow(t.Context(), "a")
				if err != nil || !res.OK || res.Status != healthcheck.Up {
					t.Fatalf("CheckNow = %+v, %v", res, err)
				}
			},
		},
		{
			name: "unknown target",
			run: func(t *testing.T, c *healthcheck.Checker) {
				_, err := c.CheckNow(t.Context(), "nope")
				var te *healthcheck.TargetError
				if !errors.Is(err, healthcheck.ErrUnknownTarget) || !errors.As(err, &te) || te.Name != "nope" {
					t.Fatalf("CheckNow(nope) = %v", err)
				}
			},
		},
		{
			name: "canceled caller is not counted",
			run: func(t *testing.T, c *healthcheck.Checker) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				res, err := c.CheckNow(ctx, "a")
				if !errors.Is(err, context.Canceled) || res.OK {
					t.Fatalf("CheckNow(canceled) = %+v, %v", res, err)
				}
				if sh := c.Summary().Services[0]; sh.ConsecutiveFailures != 0 || sh.Status != healthcheck.Unknown || !sh.LastCheck.IsZero() {
					t.Fatalf("canceled check counted: %+v", sh)
				}
				for _, r := range c.CheckAll(ctx) {
					if r.OK || !errors.Is(r.Err, context.Canceled) {
						t.Fatalf("CheckAll(canceled) = %+v", r)
					}
				}
				if sh := c.Summary().Services[0]; sh.ConsecutiveFailures != 0 {
					t.Fatalf("canceled CheckAll counted: %+v", sh)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newChecker(t, healthcheck.Config{})
			mustAdd(t, c, healthcheck.Target{Name: "a", URL: srv.URL})
			tc.run(t, c)
		})
	}
}

// TestCheckAllBounded checks that CheckAll runs MaxConcurrency checks at a
// time, no more, and returns results in name order.
func TestCheckAllBounded(t *testing.T) {
	const limit = 3
	var (
		mu            sync.Mutex
		running, peak int
		arrived       = make(chan struct{}, 10)
		proceed       = make(chan struct{})
	)
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		arrived <- struct{}{}
		<-proceed
		mu.Lock()
		running--
		mu.Unlock()
	})
	c, _ := newChecker(t, healthcheck.Config{MaxConcurrency: limit})
	names := []string{"e", "d", "c", "b", "a", "f", "g"}
	for _, n := range names {
		mustAdd(t, c, healthcheck.Target{Name: n, URL: srv.URL + "/" + n})
	}
	done := make(chan []healthcheck.Result)
	go func() { done <- c.CheckAll(t.Context()) }()
	for i := range names {
		<-arrived // a slot frees only when a request is let through
		if i >= limit-1 {
			proceed <- struct{}{}
		}
	}
	for range limit - 1 {
		proceed <- struct{}{}
	}
	results := <-done
	if peak != limit {
		t.Fatalf("peak concurrency %d, want %d", peak, limit)
	}
	for i, r := range results {
		if want := string(rune('a' + i)); r.Target != want || !r.OK {
			t.Fatalf("result %d = %+v, want %s OK", i, r, want)
		}
	}
}
