package otelmon

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// A source that fails every other sync never fails twice in a row: the
// threshold rule stays silent, while its objective's budget burns 50
// times too fast and the page fires. The status shows the budget and
// every alert window's burn rate.
func TestSLOCatchesEveryOtherSyncFailing(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	for i := range 20 {
		m.RecordSyncOperation(ctx, "imdb", i%2 == 1, time.Second, 0, 0, 0)
		m.RecordSyncOperation(ctx, "tmdb", true, time.Second, 0, 0, 0)
		clk.Advance(10 * time.Second)
		if err := m.Alerts().Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var firing []string
	for _, a := range m.Alerts().Alerts(alerting.Filter{}) {
		firing = append(firing, a.Rule+" "+a.Labels["source"])
	}
	slices.Sort(firing)
	if want := []string{"slo_burn_rate_page imdb", "slo_burn_rate_ticket imdb"}; !slices.Equal(firing, want) {
		t.Errorf("firing %q, want %q (and no consecutive_sync_failures)", firing, want)
	}

	byLabel := map[string]SLOStatus{}
	for _, s := range m.Status().SLOs {
		byLabel[s.Name+" "+s.Labels["source"]] = s
	}
	imdb, tmdb := byLabel["sync_success imdb"], byLabel["sync_success tmdb"]
	if imdb.Objective != 0.99 || imdb.Window != "30d" || imdb.Errors != 10 || imdb.Events != 20 {
		t.Errorf("imdb: %+v, want objective 0.99 over 30d, 10 errors in 20 syncs", imdb)
	}
	// Half the syncs fail against a 1 % budget: 50 budgets spent, 49 over.
	if math.Abs(imdb.ErrorBudgetRemaining-(-49)) > 1e-9 || tmdb.ErrorBudgetRemaining != 1 {
		t.Errorf("budgets left: imdb %v (want -49), tmdb %v (want 1)", imdb.ErrorBudgetRemaining, tmdb.ErrorBudgetRemaining)
	}
	var windows []string
	for _, b := range imdb.BurnRates {
		windows = append(windows, b.Window)
		if math.Abs(b.BurnRate-50) > 1e-9 {
			t.Errorf("imdb burn over %s: %v, want 50", b.Window, b.BurnRate)
		}
	}
	if want := []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}; !slices.Equal(windows, want) {
		t.Errorf("burn windows %v, want %v", windows, want)
	}
	// The rules' window pairs, for the page to mark the burn rates by.
	want := []SLOBurnAlert{
		{"slo_burn_rate_page", "critical", "1h", "5m", 14.4}, {"slo_burn_rate_page", "critical", "6h", "30m", 6},
		{"slo_burn_rate_ticket", "warning", "1d", "2h", 3}, {"slo_burn_rate_ticket", "warning", "3d", "6h", 1},
	}
	if !slices.Equal(imdb.Alerts, want) {
		t.Errorf("alert pairs %+v, want %+v", imdb.Alerts, want)
	}
}

// The status JSON carries the budgets under "slos", with the keys the page
// and scripts read.
func TestSLOStatusJSON(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig())
	m.RecordSyncOperation(context.Background(), "plex", false, time.Second, 0, 0, 0)
	if err := m.Alerts().Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m.Status())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		SLOs []map[string]any `json:"slos"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.SLOs) != 1 {
		t.Fatalf("slos: %s", b)
	}
	for _, k := range []string{"name", "labels", "objective", "window", "errorBudgetRemaining", "errors", "events", "coveredSeconds", "burnRates", "alerts"} {
		if _, ok := got.SLOs[0][k]; !ok {
			t.Errorf("slos[0] lacks %q: %v", k, got.SLOs[0])
		}
	}
	off, _ := newTestMonitor(t, noSLOs(DefaultConfig()))
	if b, _ := json.Marshal(off.Status()); !strings.Contains(string(b), `"slos":[]`) {
		t.Errorf("without objectives: %s, want an empty slos list", b)
	}
}

// The API objectives are opt-in; availability counts 5xx answers against
// the service.
func TestSLOAPIAvailabilityOptIn(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.DisableDefaultSLOs = true
	cfg.SLOs.APIAvailability = true
	m, _ := newTestMonitor(t, cfg)
	c := m.HTTPClient("tmdb")
	for _, p := range []string{"/200", "/500", "/200", "/200"} {
		doGet(t, c, srv.URL+p)
	}
	if err := m.Alerts().Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	slos := m.Status().SLOs
	if len(slos) != 1 || slos[0].Name != alerting.SLOAPIAvailability || slos[0].Labels["service"] != "tmdb" ||
		slos[0].Errors != 1 || slos[0].Events != 4 {
		t.Fatalf("slos %+v, want tmdb's availability: 1 error in 4 requests", slos)
	}
}

// The latency objective counts the requests slower than its threshold
// against the service, from the duration histogram.
func TestSLOAPILatencyOptIn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond) // the answer is slow, past the 250 ms threshold
		}
	}))
	defer srv.Close()
	cfg := noSLOs(DefaultConfig())
	cfg.SLOs.APILatency, cfg.SLOs.APILatencyThreshold = true, 250*time.Millisecond
	m, _ := newTestMonitor(t, cfg)
	c := m.HTTPClient("trakt")
	for _, p := range []string{"/", "/slow", "/", "/"} {
		doGet(t, c, srv.URL+p)
	}
	if err := m.Alerts().Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	slos := m.Status().SLOs
	if len(slos) != 1 || slos[0].Name != alerting.SLOAPILatency || slos[0].Labels["service"] != "trakt" ||
		slos[0].Errors != 1 || slos[0].Events != 4 || slos[0].Objective != alerting.DefaultAPILatencyTarget {
		t.Fatalf("slos %+v, want trakt's latency: 1 slow request in 4 against 0.95", slos)
	}
}
