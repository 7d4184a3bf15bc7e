package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// TestOutageOnStatusPage runs the demo with imdb down for its first 3
// seconds and looks at the history only once imdb is up again and its
// breaker closed: the history (GET /history) and the page's strips still
// show the outage, as the worst state of its bucket, because the Monitor
// told the history of every health and breaker transition; the page lists
// imdb's alerts as resolved, and its charts span the young process's data
// (internal/e2etest/browser/status-history.mjs).
func TestOutageOnStatusPage(t *testing.T) {
	const key = "outage-test-key"
	addr := demo(t, "-api-key", key, "-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-fail", "imdb", "-fail-for", "3s", "-breaker-open-timeout", "500ms")
	base := "http://" + addr
	// Nothing reads the history until the outage is over.
	waitFor(t, base+"/api/v3/monitoring/alerts?state=resolved&apikey="+key, `"rule":"service_down"`, `"rule":"circuit_breaker_open"`)
	poll(t, 30*time.Second, "imdb up and its breaker closed", func() error {
		var st statusView
		body := get(t, base+"/api/v3/monitoring/status?apikey="+key)
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			return err
		}
		up, closed := false, false
		for _, s := range st.HealthSummary.Services {
			up = up || s.Name == "imdb" && s.Status == "up"
		}
		for _, b := range st.CircuitBreakers {
			closed = closed || b.Service == "imdb" && b.State == "closed"
		}
		if !up || !closed {
			return fmt.Errorf("imdb up %v, breaker closed %v: %s", up, closed, body)
		}
		return nil
	})

	var h struct {
		Services map[string]struct {
			Up      []*float64 `json:"up"`
			Breaker []string   `json:"breaker"`
		} `json:"services"`
	}
	body := get(t, base+"/api/v3/monitoring/history?range=1h&apikey="+key)
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("history: %v\n%s", err, body)
	}
	imdb := h.Services["imdb"]
	var up []float64
	for _, v := range imdb.Up {
		if v != nil {
			up = append(up, *v)
		}
	}
	if !slices.Contains(up, 0) {
		t.Errorf("imdb's health in the history never down: %v", up)
	}
	if !slices.Contains(imdb.Breaker, "open") {
		t.Errorf("imdb's breaker in the history never open: %q", imdb.Breaker)
	}

	out := e2etest.RunBrowserScript(t, "status-history.mjs", 90*time.Second, "STATUS_PAGE_URL="+base+"/", "STATUS_PAGE_API_KEY="+key)
	t.Logf("status-history.mjs: %s", out)
}
