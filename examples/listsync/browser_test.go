package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// statusPageSummary is what the browser script reports on success.
type statusPageSummary struct {
	Services map[string]struct {
		Health  string `json:"health"`
		Breaker string `json:"breaker"`
		Pace    string `json:"pace"`
	} `json:"services"`
	Syncs        map[string]string `json:"syncs"`
	Alerts       []string          `json:"alerts"`
	Acknowledged struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"acknowledged"`
	Silenced struct {
		Alert   string `json:"alert"`
		Silence string `json:"silence"`
	} `json:"silenced"`
}

// TestStatusPageInBrowser opens the status page in headless Chromium
// against the demo with imdb failing, and uses it as a person would: the
// page asks for the API key, then shows the services, syncs and alerts,
// and acknowledges an alert. A script drives the
// page (internal/e2etest/browser/status-page.mjs); the test then checks the
// acknowledgement through the API.
func TestStatusPageInBrowser(t *testing.T) {
	const key = "status-page-test-key"
	addr := demo(t, "-api-key", key, "-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-fail", "imdb", "-breaker-open-timeout", "1h")
	base := "http://" + addr
	alertsURL := base + "/api/v3/monitoring/alerts?apikey=" + key
	// The page refreshes every 5 s; once imdb's alerts fire, its first
	// load already shows what the script looks for.
	waitFor(t, alertsURL, `"rule":"service_down"`, `"rule":"circuit_breaker_open"`, `"state":"firing"`)

	out := e2etest.RunBrowserScript(t, "status-page.mjs", 90*time.Second,
		"STATUS_PAGE_URL="+base+"/", "STATUS_PAGE_API_KEY="+key)
	var sum statusPageSummary
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("status-page.mjs printed no summary: %v\n%s", err, out)
	}
	for _, s := range services {
		want := [2]string{"up", "closed"}
		if s == "imdb" {
			want = [2]string{"down", "open"}
		}
		if got := sum.Services[s]; [2]string{got.Health, got.Breaker} != want {
			t.Errorf("page showed %s as %s/%s, want %s/%s", s, got.Health, got.Breaker, want[0], want[1])
		}
	}
	if p := sum.Services["tmdb"].Pace; !strings.HasPrefix(p, "40/s") {
		t.Errorf("page showed tmdb's pace as %q, want its published 40/s", p)
	}
	if sum.Acknowledged.ID == "" {
		t.Fatalf("the page acknowledged no alert: %s", out)
	}

	// The click reached the server: exactly that alert is acknowledged, by
	// the status page.
	var alerts []struct {
		ID             string `json:"id"`
		Title          string `json:"title"`
		State          string `json:"state"`
		Acknowledged   bool   `json:"acknowledged"`
		AcknowledgedBy string `json:"acknowledgedBy"`
	}
	body := get(t, alertsURL)
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatalf("alerts: %v\n%s", err, body)
	}
	acked := 0
	for _, a := range alerts {
		if !a.Acknowledged {
			continue
		}
		acked++
		if a.ID != sum.Acknowledged.ID || a.Title != sum.Acknowledged.Title || a.AcknowledgedBy != "status page" || a.State != "firing" {
			t.Errorf("acknowledged alert %+v, want %q (%s) acknowledged by %q and still firing",
				a, sum.Acknowledged.ID, sum.Acknowledged.Title, "status page")
		}
	}
	if acked != 1 {
		t.Errorf("%d alerts acknowledged, want 1:\n%s", acked, body)
	}

	// The page's silence reached the server too: made by the status page
	// for exactly that alert, then expired from the list.
	var silence struct {
		ID        string `json:"id"`
		CreatedBy string `json:"createdBy"`
		Matchers  []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"matchers"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if sum.Silenced.Silence == "" {
		t.Fatalf("the page silenced no alert: %s", out)
	}
	body = get(t, base+"/api/v3/monitoring/silences/"+sum.Silenced.Silence+"?apikey="+key)
	if err := json.Unmarshal([]byte(body), &silence); err != nil {
		t.Fatalf("silence: %v\n%s", err, body)
	}
	if silence.ID != sum.Silenced.Silence || silence.CreatedBy != "status page" || silence.Status.State != "expired" || len(silence.Matchers) == 0 {
		t.Errorf("silence made by the page: %s, want one by %q, expired", body, "status page")
	}
}
