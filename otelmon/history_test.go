package otelmon

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/otelmon/internal/history"
)

// The history as the Monitor feeds it and the API serves it; the history
// on its own (buckets, quantiles, states, the sampler) is tested in
// package history.

// historyResp is the JSON of GET /history as a client reads it: null is
// nil.
type historyResp struct {
	Range       string    `json:"range"`
	StepSeconds int       `json:"stepSeconds"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Sources     map[string]struct {
		Succeeded       []*float64 `json:"succeeded"`
		Failed          []*float64 `json:"failed"`
		DurationSeconds []*float64 `json:"durationSeconds"`
	} `json:"sources"`
	Services map[string]struct {
		Requests          []*float64 `json:"requests"`
		RateLimited       []*float64 `json:"rateLimited"`
		LatencyP50Seconds []*float64 `json:"latencyP50Seconds"`
		LatencyP95Seconds []*float64 `json:"latencyP95Seconds"`
		Up                []*float64 `json:"up"`
		Breaker           []*string  `json:"breaker"`
	} `json:"services"`
	Alerts []struct {
		ID       string    `json:"id"`
		Rule     string    `json:"rule"`
		StartsAt time.Time `json:"startsAt"`
	} `json:"alerts"`
}

// vals turns a series into numbers, NaN for null.
func vals(s []*float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = math.NaN()
		if v != nil {
			out[i] = *v
		}
	}
	return out
}

// sameVals reports whether got and want are the same series: equal within
// 1e-6, NaN where the other is NaN.
func sameVals(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-6) {
			return false
		}
	}
	return true
}

// tail returns the last n values of s.
func tail(s []float64, n int) []float64 { return s[len(s)-n:] }

var nan = math.NaN()

// historyMonitor returns a Monitor on a fake clock at a 5-minute boundary,
// and its API.
func historyMonitor(t *testing.T) (*Monitor, *clock.Fake, *httptest.Server) {
	t.Helper()
	m, clk := newTestMonitor(t, noSLOs(DefaultConfig()), WithAPIKey(testKey))
	step := 5 * time.Minute // the history's coarse buckets, those of the 24h range
	clk.Advance(clk.Now().Truncate(step).Add(step).Sub(clk.Now()))
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return m, clk, srv
}

func getHistory(t *testing.T, srv *httptest.Server, query string) historyResp {
	t.Helper()
	r := call(t, http.MethodGet, srv.URL+"/api/v3/monitoring/history"+query, testKey, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET history%s: %d %s", query, r.code, r.body)
	}
	var h historyResp
	if err := json.Unmarshal([]byte(r.body), &h); err != nil {
		t.Fatalf("history JSON: %v\n%s", err, r.body)
	}
	return h
}

// The history of a source follows RecordSyncOperation minute by minute:
// nothing before it was first seen, its outcomes and mean duration per
// bucket, the bucket in progress included.
func TestHistorySources(t *testing.T) {
	m, clk, srv := historyMonitor(t)
	ctx := context.Background()
	sync := func(source string, ok bool, d time.Duration) {
		m.RecordSyncOperation(ctx, source, ok, d, 0, 0, 0)
	}
	// minute 0: trakt 2 ok (1 s, 3 s)
	sync("trakt", true, time.Second)
	sync("trakt", true, 3*time.Second)
	clk.Advance(time.Minute)
	m.hist.Collect(clk.Now().Add(-1)) // what the sampler does at the minute's end
	// minute 1: nothing; minute 2: trakt fails once (10 s), imdb once ok
	clk.Advance(time.Minute)
	m.hist.Collect(clk.Now().Add(-1))
	sync("trakt", false, 10*time.Second)
	sync("imdb", true, 2*time.Second)
	clk.Advance(30 * time.Second) // minute 2 in progress: the query tops it up

	h := getHistory(t, srv, "")
	if h.Range != "1h" || h.StepSeconds != 60 || len(h.Sources["trakt"].Succeeded) != 60 {
		t.Fatalf("default range: %s, step %d, %d points", h.Range, h.StepSeconds, len(h.Sources["trakt"].Succeeded))
	}
	if want := clk.Now().Truncate(time.Minute).Add(time.Minute); !h.End.Equal(want) || !h.Start.Equal(want.Add(-time.Hour)) {
		t.Errorf("range [%v, %v), want [%v, %v)", h.Start, h.End, want.Add(-time.Hour), want)
	}
	for _, tc := range []struct {
		source, series string
		got            []*float64
		want           []float64
	}{
		{"trakt", "succeeded", h.Sources["trakt"].Succeeded, []float64{nan, 2, 0, 0}},
		{"trakt", "failed", h.Sources["trakt"].Failed, []float64{nan, 0, 0, 1}},
		{"trakt", "durationSeconds", h.Sources["trakt"].DurationSeconds, []float64{nan, 2, nan, 10}},
		{"imdb", "succeeded", h.Sources["imdb"].Succeeded, []float64{nan, nan, nan, 1}},
		{"imdb", "durationSeconds", h.Sources["imdb"].DurationSeconds, []float64{nan, nan, nan, 2}},
	} {
		if got := tail(vals(tc.got), 4); !sameVals(got, tc.want) {
			t.Errorf("%s %s: last 4 buckets %v, want %v", tc.source, tc.series, got, tc.want)
		}
	}
}

func TestHistoryRanges(t *testing.T) {
	m, clk, srv := historyMonitor(t)
	m.RecordSyncOperation(context.Background(), "plex", true, time.Second, 0, 0, 0)
	clk.Advance(10 * time.Second)
	for _, tc := range []struct {
		query       string
		step, count int
	}{
		{"", 60, 60},
		{"?range=1h", 60, 60},
		{"?range=6h", 60, 360},
		{"?range=24h", 300, 288},
	} {
		h := getHistory(t, srv, tc.query)
		got := vals(h.Sources["plex"].Succeeded)
		if h.StepSeconds != tc.step || len(got) != tc.count || got[len(got)-1] != 1 {
			t.Errorf("%q: step %d, %d points ending %v; want step %d, %d points ending 1", tc.query, h.StepSeconds, len(got), got[len(got)-1], tc.step, tc.count)
		}
		if d := h.End.Sub(h.Start); d != time.Duration(tc.step*tc.count)*time.Second {
			t.Errorf("%q: spans %v", tc.query, d)
		}
	}
	for _, q := range []string{"?range=2h", "?range=1H", "?range=", "?range=24h0m"} {
		r := call(t, http.MethodGet, srv.URL+"/api/v3/monitoring/history"+q, testKey, "")
		if q == "?range=" {
			if r.code != http.StatusOK {
				t.Errorf("%q: %d, want the default range", q, r.code)
			}
			continue
		}
		if r.code != http.StatusBadRequest || errCode(t, r) != CodeBadRequest {
			t.Errorf("%q: %d %s, want a JSON 400", q, r.code, r.body)
		}
	}
	if r := call(t, http.MethodGet, srv.URL+"/api/v3/monitoring/history", "", ""); r.code != http.StatusUnauthorized {
		t.Errorf("without the key: %d", r.code)
	}
}

// The Monitor tells the history of every health and breaker transition:
// a service down and a breaker open for 30 seconds inside a minute, up and
// closed at the minute's start and end, show as down and open in that
// minute, on the page's API.
func TestHistoryToldOfTransitions(t *testing.T) {
	var ok atomic.Bool
	ok.Store(true)
	srv := flakyServer(t, &ok)
	m, clk := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey), WithHealthCheckURLs(map[string]string{"imdb": srv.URL}),
		WithBreakerOptions(breaker.WithOpenTimeoutOverride(20*time.Second)))
	clk.Advance(clk.Now().Truncate(time.Minute).Add(time.Minute).Sub(clk.Now()))
	api := httptest.NewServer(m.Handler())
	t.Cleanup(api.Close)
	ctx := context.Background()
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(n int) {
		for range n {
			if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := m.breakers.Get("imdb")
	if err != nil {
		t.Fatal(err)
	}
	check(1)
	_ = getHistory(t, api, "") // a look at 0:00: up, closed

	clk.Advance(15 * time.Second)
	ok.Store(false)
	check(m.cfg.HealthChecks.FailureThreshold)
	for b.Stats().State != breaker.Open {
		_ = b.Execute(ctx, func(context.Context) error { return errors.New("500") })
	}
	clk.Advance(20 * time.Second)
	ok.Store(true)
	check(m.cfg.HealthChecks.RecoveryThreshold)
	for b.Stats().State != breaker.Closed {
		if err := b.Execute(ctx, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("trial call: %v", err)
		}
	}
	if st := m.Status(); st.HealthSummary.Services[0].Status != healthcheck.Up {
		t.Fatalf("imdb is %v after recovering", st.HealthSummary.Services[0].Status)
	}
	clk.Advance(25*time.Second - 1)
	m.hist.Collect(clk.Now()) // the sampler at the minute's end: up, closed
	clk.Advance(10 * time.Second)

	h := getHistory(t, api, "")
	s := h.Services["imdb"]
	if up := tail(vals(s.Up), 2); !sameVals(up, []float64{0, 1}) {
		t.Errorf("imdb up, last 2 minutes: %v, want [0 1]: the outage inside the first", up)
	}
	var br [2]string
	for i, v := range s.Breaker[len(s.Breaker)-2:] {
		if v != nil {
			br[i] = *v
		}
	}
	if br != [2]string{"open", "closed"} {
		t.Errorf("imdb breaker, last 2 minutes: %q, want open, closed", br)
	}
}

// The rings keep 6 hours of minutes and 24 hours of 5 minutes, and the
// buckets no collection ran in are empty.
func TestHistoryBounds(t *testing.T) {
	m, clk, srv := historyMonitor(t)
	ctx := context.Background()
	for range 25 * 60 {
		m.RecordSyncOperation(ctx, "new", true, time.Second, 0, 0, 0)
		clk.Advance(time.Minute)
		m.hist.Collect(clk.Now().Add(-1))
	}
	// The sampler missed 3 minutes (a suspended laptop): their syncs count
	// in the minute of the next collection.
	for range 3 {
		m.RecordSyncOperation(ctx, "new", true, time.Second, 0, 0, 0)
		clk.Advance(time.Minute)
	}
	m.hist.Collect(clk.Now().Add(-1))
	clk.Advance(time.Second)

	for _, tc := range []struct {
		query string
		want  []float64 // the last 6 buckets
	}{
		{"?range=6h", []float64{1, 1, 0, 0, 3, 0}},
		{"?range=24h", []float64{5, 5, 5, 5, 3}},
	} {
		h := getHistory(t, srv, tc.query)
		got := vals(h.Sources["new"].Succeeded)
		if !sameVals(tail(got, len(tc.want)), tc.want) {
			t.Errorf("%s: last buckets %v, want %v", tc.query, tail(got, len(tc.want)), tc.want)
		}
		for i, v := range got {
			if math.IsNaN(v) {
				t.Errorf("%s: bucket %d is null after 25 h of data", tc.query, i)
				break
			}
		}
	}
}

// Alerts active in the range come with the history, for the time axis.
func TestHistoryAlerts(t *testing.T) {
	m, clk, srv := historyMonitor(t)
	ctx := context.Background()
	for range 3 {
		m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	h := getHistory(t, srv, "?range=1h")
	act := m.Alerts().Active()
	if len(act) != 1 || len(h.Alerts) != 1 || h.Alerts[0].ID != act[0].ID || !h.Alerts[0].StartsAt.Equal(act[0].StartsAt) {
		t.Fatalf("history alerts %+v, want the active alert %+v", h.Alerts, act)
	}
	// No collection ran in the minute of the failures: the query's reads
	// them into the bucket in progress.
	if f := tail(vals(h.Sources["tmdb"].Failed), 2); !sameVals(f, []float64{nan, 3}) {
		t.Errorf("tmdb failures per bucket end %v, want [NaN 3]", f)
	}
}

// Queries, collections, transitions and recording run at once (for
// -race).
func TestHistoryConcurrent(t *testing.T) {
	m, clk, _ := historyMonitor(t)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			m.RecordSyncOperation(ctx, "trakt", i%3 != 0, time.Second, 0, 0, 0)
			if i%20 == 0 {
				m.hist.Collect(clk.Now())
			}
			if i%7 == 0 {
				m.hist.NoteHealth("trakt", i%2 == 0, clk.Now())
				m.hist.NoteBreaker("trakt", breaker.State(i%3), clk.Now())
			}
		}
	}()
	for range 50 {
		_, _ = apiBackend{m}.History("1h")
		_ = m.Status()
		clk.Advance(time.Second)
	}
	<-done
	m.hist.Collect(clk.Now())
	out, _ := apiBackend{m}.History("24h")
	h := out.(history.JSON)
	var total float32
	for i := range h.Sources["trakt"].Succeeded {
		if v := h.Sources["trakt"].Succeeded[i]; !math.IsNaN(float64(v)) {
			total += v + h.Sources["trakt"].Failed[i]
		}
	}
	if total != 200 {
		t.Errorf("history counted %v syncs, want 200", total)
	}
}
