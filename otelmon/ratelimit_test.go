package otelmon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rateLimitStatus returns service's entry of m's status, or nil.
func rateLimitStatus(m *Monitor, service string) *RateLimitStatus {
	for _, rl := range m.Status().RateLimits {
		if rl.Service == service {
			return &rl
		}
	}
	return nil
}

// A Retry-After of a day less a second pauses the service for MaxPause,
// not for a day: requests in the pause fail at once saying so, the status
// shows the cap, and after it one request goes and its success ends the
// pause.
func TestMaxPauseThroughHTTPClient(t *testing.T) {
	var hits, throttle atomic.Int64
	throttle.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if throttle.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "86399")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(srv.Close)

	t.Run("fail fast within MaxWait", func(t *testing.T) {
		hits.Store(0)
		throttle.Store(1)
		m, clk := newTestMonitor(t, DefaultConfig())
		c := m.HTTPClient("acme")
		resp, err := c.Get(srv.URL)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("first request: %v %v; want the 429, not retried past MaxWait", resp, err)
		}
		resp.Body.Close()
		_, err = c.Get(srv.URL)
		var rle *RateLimitError
		if !errors.As(err, &rle) || !rle.Paused || rle.Wait != DefaultMaxPause {
			t.Fatalf("request during the pause: %v; want a RateLimitError of %v", err, DefaultMaxPause)
		}
		st := rateLimitStatus(m, "acme")
		if st == nil || !st.Paused || st.MaxPauseSeconds != DefaultMaxPause.Seconds() ||
			!st.PausedUntil.Equal(clk.Now().Add(DefaultMaxPause).UTC()) {
			t.Fatalf("status %+v", st)
		}
		js, _ := json.Marshal(m.Status())
		if !strings.Contains(string(js), `"maxPauseSeconds":300`) {
			t.Errorf("status JSON lacks maxPauseSeconds: %s", js)
		}
		// After MaxPause the probe goes; its 200 ends the pause.
		clk.Advance(DefaultMaxPause)
		for range 2 {
			if code := doGet(t, c, srv.URL); code != http.StatusOK {
				t.Fatalf("after MaxPause: %d", code)
			}
		}
		if st := rateLimitStatus(m, "acme"); st.Paused {
			t.Fatalf("still paused after the probe's success: %+v", st)
		}
		if n := hits.Load(); n != 3 {
			t.Fatalf("%d requests reached the service, want 3", n)
		}
	})

	t.Run("retried after MaxPause", func(t *testing.T) {
		hits.Store(0)
		throttle.Store(1)
		cfg := DefaultConfig()
		cfg.RateLimits = map[string]RateLimit{"acme": {MaxPause: 2 * time.Minute, MaxWait: 10 * time.Minute}}
		m, clk := newTestMonitor(t, cfg)
		start := clk.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		code, err := do(clk, m.HTTPClient("acme"), req)
		if err != nil || code != http.StatusOK {
			t.Fatalf("got %d, %v; want the retry's 200", code, err)
		}
		if waited := clk.Now().Sub(start); waited < 2*time.Minute || waited > 2*time.Minute+time.Second {
			t.Fatalf("the retry waited %v, want MaxPause (2m)", waited)
		}
		if n := hits.Load(); n != 2 {
			t.Fatalf("%d requests reached the service, want 2", n)
		}
		if st := rateLimitStatus(m, "acme"); st == nil || st.Paused || st.MaxPauseSeconds != 120 {
			t.Fatalf("status %+v", st)
		}
	})
}
