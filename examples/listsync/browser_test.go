package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
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
	Syncs   map[string]string `json:"syncs"`
	History map[string]any    `json:"history"`
	Traces  struct {
		Alert    string `json:"alert"`
		TraceIDs int    `json:"traceIds"`
		Linked   bool   `json:"linked"`
	} `json:"traces"`
	Alerts       []string `json:"alerts"`
	Acknowledged struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"acknowledged"`
	Silenced struct {
		Alert   string `json:"alert"`
		Silence string `json:"silence"`
	} `json:"silenced"`
}

// statusView is what the page tests read of GET /api/v3/monitoring/status.
type statusView struct {
	HealthSummary struct {
		Services []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"services"`
	} `json:"healthSummary"`
	CircuitBreakers []struct {
		Service string `json:"service"`
		State   string `json:"state"`
	} `json:"circuitBreakers"`
	Syncs []struct {
		Source     string `json:"source"`
		LastResult string `json:"lastResult"`
	} `json:"syncs"`
}

// TestStatusPageInBrowser opens the status page in headless Chromium
// against the demo with imdb failing, and uses it as a person would: the
// page asks for the API key, then shows the services, syncs and alerts,
// and acknowledges an alert. A script drives the
// page (internal/e2etest/browser/status-page.mjs); the test then checks the
// acknowledgement through the API.
func TestStatusPageInBrowser(t *testing.T) {
	const key = "status-page-test-key"
	const traceURL = "http://127.0.0.1:16686/trace/{traceId}"
	traceDemo(t) // the demo traces its syncs, so alerts name traces the page links
	addr := demo(t, "-api-key", key, "-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-fail", "imdb", "-breaker-open-timeout", "1h", "-trace-url", traceURL)
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
	// What the page rendered is what the API says (the scenario holds
	// still: imdb stays down and its breaker open for an hour).
	var status statusView
	if err := json.Unmarshal([]byte(get(t, base+"/api/v3/monitoring/status?apikey="+key)), &status); err != nil {
		t.Fatal(err)
	}
	for _, h := range status.HealthSummary.Services {
		if got := sum.Services[h.Name].Health; got != h.Status {
			t.Errorf("page showed %s's health as %q, the API says %q", h.Name, got, h.Status)
		}
	}
	for _, b := range status.CircuitBreakers {
		if got := sum.Services[b.Service].Breaker; got != b.State {
			t.Errorf("page showed %s's breaker as %q, the API says %q", b.Service, got, b.State)
		}
	}
	for _, s := range status.Syncs {
		if got := sum.Syncs[s.Source]; got != s.LastResult {
			t.Errorf("page showed %s's last sync as %q, the API says %q", s.Source, got, s.LastResult)
		}
	}
	if len(status.HealthSummary.Services) != len(services) || len(status.CircuitBreakers) != len(services) || len(status.Syncs) != len(services) {
		t.Errorf("the API lists %d health checks, %d breakers, %d sources; want %d of each",
			len(status.HealthSummary.Services), len(status.CircuitBreakers), len(status.Syncs), len(services))
	}
	// A point per bucket with syncs: the page's against the API's history
	// (a new bucket may have begun since the page drew it).
	var history struct {
		Sources map[string]struct {
			DurationSeconds []*float64 `json:"durationSeconds"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/api/v3/monitoring/history?apikey="+key)), &history); err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		want := 0
		for _, d := range history.Sources[s].DurationSeconds {
			if d != nil {
				want++
			}
		}
		shown, _ := sum.History[s].(map[string]any)["points"].(float64)
		if shown < 1 || int(shown) > want || int(shown) < want-1 {
			t.Errorf("page drew %v duration points for %s, the API's history has %d buckets with syncs", shown, s, want)
		}
	}
	// The alert's traces are links to the trace backend.
	if sum.Traces.TraceIDs == 0 || !sum.Traces.Linked {
		t.Errorf("the page linked no trace of an alert: %+v", sum.Traces)
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

// longRuleName is a custom rule's name as long as a rule's name may be
// (128 characters) and without a space to break it at.
const longRuleName = "imdb_watchlist_sync_keeps_failing_after_the_nightly_catalogue_import_and_the_retry_budget_is_spent_for_the_whole_team_on_call_no"

// TestStatusPageLayout opens the status page at the widths of a phone, a
// small laptop and a desktop, with the demo on a bad day: imdb failing,
// tmdb answering 429, a custom rule with a long name firing, a silence
// with a long comment, and the inline silence form open. The script
// (internal/e2etest/browser/status-layout.mjs) checks that every control
// can be reached where it is drawn, that the page never scrolls sideways
// and that long texts wrap in their cells; it saves a screenshot at each
// width in $OTELMON_SCREENSHOTS when set, else in a directory kept when
// the test fails, and the test logs their paths.
func TestStatusPageLayout(t *testing.T) {
	if len(longRuleName) != 128 {
		t.Fatalf("longRuleName has %d characters, want 128", len(longRuleName))
	}
	const key = "status-layout-test-key"
	addr := demo(t, "-api-key", key, "-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-fail", "imdb", "-rate-limit", "tmdb", "-breaker-open-timeout", "1h", "-custom-rule", longRuleName)
	base := "http://" + addr
	alertsURL := base + "/api/v3/monitoring/alerts?apikey=" + key
	body := waitFor(t, alertsURL, `"rule":"service_down"`, `"rule":"circuit_breaker_open"`, `"rule":"`+longRuleName+`"`)

	// A silence of imdb's service_down alert, with a comment that holds a
	// long unbroken URL.
	var alerts []struct {
		ID   string `json:"id"`
		Rule string `json:"rule"`
	}
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatalf("alerts: %v\n%s", err, body)
	}
	const longURL = "https://runbooks.example.com/imdb/outages/2026/catalogue-import-migration-to-the-new-datacenter-and-what-to-do-meanwhile"
	comment := "imdb moves to the new datacenter tonight; expect 500s from every endpoint until the cut-over ends, see " + longURL
	for _, a := range alerts {
		if a.Rule != "service_down" {
			continue
		}
		req, err := http.NewRequest(http.MethodPost, base+"/api/v3/monitoring/alerts/"+a.ID+"/silence",
			strings.NewReader(`{"duration":"4h","createdBy":"Dana from the platform team","comment":`+strconv.Quote(comment)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("silence imdb's service_down: %s", resp.Status)
		}
		break
	}

	dir := os.Getenv("OTELMON_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "otelmon-layout-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if !t.Failed() {
				_ = os.RemoveAll(dir)
			}
		})
	}
	t.Logf("screenshots of the page at each width: %s", dir)
	texts, _ := json.Marshal([]string{longRuleName, longURL})
	out := e2etest.RunBrowserScript(t, "status-layout.mjs", 150*time.Second,
		"STATUS_PAGE_URL="+base+"/", "STATUS_PAGE_API_KEY="+key, "STATUS_LAYOUT_SHOTS="+dir, "STATUS_LAYOUT_TEXTS="+string(texts))
	var sum struct {
		Widths map[string]struct {
			PageWidth int `json:"pageWidth"`
			Window    int `json:"window"`
			Controls  int `json:"controls"`
		} `json:"widths"`
		Screenshots []string `json:"screenshots"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("status-layout.mjs printed no summary: %v\n%s", err, out)
	}
	for _, w := range []string{"390", "1024", "1440"} {
		m, ok := sum.Widths[w]
		if !ok || m.Controls == 0 || m.PageWidth > m.Window {
			t.Errorf("at %s px: %+v, want controls checked and a page no wider than the window", w, m)
		}
		t.Logf("at %s px: the page is %d px wide, %d controls reachable where they are drawn", w, m.PageWidth, m.Controls)
	}
	for _, p := range sum.Screenshots {
		t.Logf("screenshot: %s", p)
	}
}
