package healthcheck_test

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/listsync/otelmon/healthcheck"
)

// TestThresholds drives one target through a sequence of successes (S) and
// failures (F) and checks its status after each (? unknown, U up, D down).
func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   healthcheck.Config
		steps string
		want  string
	}{
		{name: "first success is up", steps: "S", want: "U"},
		{name: "failures below threshold stay unknown", steps: "FF", want: "??"},
		{name: "unknown to down at threshold", steps: "FFF", want: "??D"},
		{name: "unknown then success is up", steps: "FFS", want: "??U"},
		{name: "up to down after exactly three", steps: "SFFF", want: "UUUD"},
		{name: "success resets failures", steps: "SFFSFFSFF", want: "UUUUUUUUU"},
		{name: "down stays down on failures", steps: "FFFFFF", want: "??DDDD"},
		{name: "down needs exactly two successes", steps: "SFFFSS", want: "UUUDDU"},
		{name: "failure resets recovery", steps: "FFFSFSS", want: "??DDDDU"},
		{name: "up stays up on successes", steps: "SSSS", want: "UUUU"},
		{name: "down up down", steps: "FFFSSFFF", want: "??DDUUUD"},
		{
			name:  "thresholds of one",
			cfg:   healthcheck.Config{FailureThreshold: 1, RecoveryThreshold: 1},
			steps: "FSFSSF", want: "DUDUUD",
		},
		{
			name:  "thresholds five and three",
			cfg:   healthcheck.Config{FailureThreshold: 5, RecoveryThreshold: 3},
			steps: "SFFFFFSSFSSS", want: "UUUUUDDDDDDU",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSwitchServer(t, http.StatusOK)
			var rec recorder
			var c *healthcheck.Checker
			listenerSaw := make(chan string, len(tc.steps))
			c, _ = newChecker(t, tc.cfg,
				healthcheck.WithListener(rec.listen),
				healthcheck.WithListener(func(tr healthcheck.Transition) {
					// Called after the change and without the lock.
					s, _ := c.Status(tr.Target)
					if s != tr.To {
						listenerSaw <- "listener saw " + s.String() + ", transition to " + tr.To.String()
					}
				}))
			mustAdd(t, c, healthcheck.Target{Name: "svc", URL: srv.URL})

			wantTransitions := 0
			prev := byte('?')
			for i, step := range []byte(tc.steps) {
				code := http.StatusOK
				if step == 'F' {
					code = http.StatusInternalServerError
				}
				srv.code.Store(int32(code))
				res, err := c.CheckNow(t.Context(), "svc")
				if err != nil {
					t.Fatalf("step %d: CheckNow: %v", i, err)
				}
				if res.OK != (step == 'S') {
					t.Fatalf("step %d: OK = %v, err %v", i, res.OK, res.Err)
				}
				if got := statusLetter(res.Status); got != tc.want[i] {
					t.Fatalf("step %d (%s): status %c, want %c (sequence %s)", i, tc.steps[:i+1], got, tc.want[i], tc.want)
				}
				if s, _ := c.Status("svc"); s != res.Status {
					t.Fatalf("step %d: Status() = %v, Result.Status = %v", i, s, res.Status)
				}
				if tc.want[i] != prev {
					wantTransitions++
				}
				prev = tc.want[i]
			}
			checkChain(t, rec.transitions(), healthcheck.Unknown, mustStatus(t, c, "svc"))
			if got := len(rec.transitions()); got != wantTransitions {
				t.Fatalf("%d transitions, want %d", got, wantTransitions)
			}
			close(listenerSaw)
			for msg := range listenerSaw {
				t.Error(msg)
			}

			// Consecutive counts match the tail of the sequence.
			sh := c.Summary().Services[0]
			wantS, wantF := tail(tc.steps)
			if sh.ConsecutiveSuccesses != wantS || sh.ConsecutiveFailures != wantF {
				t.Fatalf("consecutive = %d/%d, want %d/%d", sh.ConsecutiveSuccesses, sh.ConsecutiveFailures, wantS, wantF)
			}
		})
	}
}

// tail counts the trailing run of the last step: (successes, failures).
func tail(steps string) (int, int) {
	last := steps[len(steps)-1]
	n := 0
	for i := len(steps) - 1; i >= 0 && steps[i] == last; i-- {
		n++
	}
	if last == 'S' {
		return n, 0
	}
	return 0, n
}

func mustStatus(t *testing.T, c *healthcheck.Checker, name string) healthcheck.Status {
	t.Helper()
	s, ok := c.Status(name)
	if !ok {
		t.Fatalf("no status for %s", name)
	}
	return s
}

// checkChain asserts that transitions chain from start, never repeat a
// status, and end at final.
func checkChain(t *testing.T, ts []healthcheck.Transition, start, final healthcheck.Status) {
	t.Helper()
	cur := start
	for i, tr := range ts {
		if tr.From != cur || tr.From == tr.To || tr.Result.Status != tr.To {
			t.Fatalf("transition %d: %v→%v (result %v) after %v", i, tr.From, tr.To, tr.Result.Status, cur)
		}
		cur = tr.To
	}
	if cur != final {
		t.Fatalf("listeners were last told %v, status is %v", cur, final)
	}
}

// TestFlappingConsistency hits one flapping target from many goroutines at
// once, scheduled rounds included, and checks that what listeners were told
// chains exactly to the final status.
func TestFlappingConsistency(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  healthcheck.Config
	}{
		{name: "default thresholds", cfg: healthcheck.Config{MaxConcurrency: 16}},
		{name: "thresholds of one", cfg: healthcheck.Config{FailureThreshold: 1, RecoveryThreshold: 1, MaxConcurrency: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			rnd := rand.New(rand.NewPCG(1, 2))
			srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				fail := rnd.IntN(2) == 0
				mu.Unlock()
				if fail {
					w.WriteHeader(http.StatusBadGateway)
				}
			})
			var rec recorder
			var c *healthcheck.Checker
			c, fc := newChecker(t, tc.cfg,
				healthcheck.WithListener(rec.listen),
				healthcheck.WithListener(func(tr healthcheck.Transition) {
					_ = c.Summary() // listeners may read the Checker
				}))
			mustAdd(t, c, healthcheck.Target{Name: "flappy", URL: srv.URL})
			if err := c.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						if _, err := c.CheckNow(t.Context(), "flappy"); err != nil {
							t.Error(err)
						}
						c.CheckAll(t.Context())
					}
				})
			}
			for range 10 {
				fc.BlockUntilTimers(1)
				fc.Advance(healthcheck.DefaultCheckInterval * 2)
			}
			wg.Wait()
			fc.BlockUntilTimers(1) // the scheduled check in flight is done
			ts := rec.transitions()
			if len(ts) < 2 {
				t.Fatalf("only %d transitions: the target did not flap", len(ts))
			}
			checkChain(t, ts, healthcheck.Unknown, mustStatus(t, c, "flappy"))
			sh := c.Summary().Services[0]
			if sh.Status != mustStatus(t, c, "flappy") {
				t.Fatalf("Summary status %v", sh.Status)
			}
		})
	}
}
