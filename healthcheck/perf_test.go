package healthcheck_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
)

// TestCheckAllParallel checks a round of 100 targets that each answer in
// 200ms, with MaxConcurrency 100, against the time of one check of one
// target. Each round must take at most 1.2× that time, plus an allowance for
// a loaded CI machine under the race detector (larger for the first round,
// which opens 100 connections); the figures are logged (about 1.10× cold and 1.05× warm
// with -race on two idle cores).
func TestCheckAllParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a second")
	}
	const (
		targets   = 100
		upstream  = 200 * time.Millisecond
		maxRatio  = 1.2
		allowance = 200 * time.Millisecond // scheduling noise on 2 loaded cores with -race
		// coldExtra is what opening 100 connections at once adds under -race
		// on two busy cores (seen up to 240 ms while other packages' tests
		// ran). Checks run one after another would take 100× one check, so the
		// bound still proves they run in parallel.
		coldExtra = 300 * time.Millisecond
	)
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(upstream) // a slow upstream, not a wait for correctness
	})
	tr := &http.Transport{MaxIdleConnsPerHost: targets}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := healthcheck.New(healthcheck.Config{MaxConcurrency: targets},
		healthcheck.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(t.Context()) })
	for i := range targets {
		mustAdd(t, c, healthcheck.Target{Name: fmt.Sprintf("svc%03d", i), URL: fmt.Sprintf("%s/%d", srv.URL, i)})
	}

	round := func() (time.Duration, time.Duration) {
		start := time.Now()
		results := c.CheckAll(t.Context())
		elapsed := time.Since(start)
		var slowest time.Duration
		for _, r := range results {
			if !r.OK {
				t.Fatalf("%s failed: %v", r.Target, r.Err)
			}
			slowest = max(slowest, r.Latency)
		}
		return elapsed, slowest
	}
	cold, _ := round() // opens 100 connections
	start := time.Now()
	if _, err := c.CheckNow(t.Context(), "svc000"); err != nil {
		t.Fatal(err)
	}
	single := time.Since(start)
	warm, slowest := round()

	t.Logf("one check %v; round of %d: cold %v (%.2f×), warm %v (%.2f×), slowest result %v",
		single, targets, cold, ratio(cold, single), warm, ratio(warm, single), slowest)
	limit := time.Duration(maxRatio*float64(single)) + allowance
	for _, r := range []struct {
		name    string
		elapsed time.Duration
		limit   time.Duration
	}{{"cold", cold, limit + coldExtra}, {"warm", warm, limit}} {
		if r.elapsed > r.limit {
			t.Errorf("%s round took %v, more than %v (%.1f× one check of %v plus scheduling noise)", r.name, r.elapsed, r.limit, maxRatio, single)
		}
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
