package otelmon

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

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
	m, clk := newTestMonitor(t, DefaultConfig(), WithAPIKey(testKey))
	clk.Advance(clk.Now().Truncate(historyCoarseStep).Add(historyCoarseStep).Sub(clk.Now()))
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
	m.hist.collect(clk.Now().Add(-1)) // what the sampler does at the minute's end
	// minute 1: nothing; minute 2: trakt fails once (10 s), imdb once ok
	clk.Advance(time.Minute)
	m.hist.collect(clk.Now().Add(-1))
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

// serviceInstruments records what the Monitor's service instruments record,
// under their names, on a provider of its own.
type serviceInstruments struct {
	requests, limited metric.Int64Counter
	duration          metric.Float64Histogram
	up, breaker       metric.Int64Gauge
}

func newServiceInstruments(t testing.TB, mp metric.MeterProvider) serviceInstruments {
	t.Helper()
	meter := mp.Meter("test")
	p := names.Default
	var si serviceInstruments
	var errs [5]error
	si.requests, errs[0] = meter.Int64Counter(p.Name(names.APIRequestsTotal))
	si.limited, errs[1] = meter.Int64Counter(p.Name(names.APIRateLimitHitsTotal))
	si.duration, errs[2] = meter.Float64Histogram(p.Name(names.APIRequestDuration),
		metric.WithExplicitBucketBoundaries(0.1, 0.2, 0.5, 1))
	si.up, errs[3] = meter.Int64Gauge(p.Name(names.ServiceUp))
	si.breaker, errs[4] = meter.Int64Gauge(p.Name(names.CircuitBreakerState))
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return si
}

// A service's history: request and 429 counts per bucket, latency
// quantiles from the increase of the histogram's buckets within the
// smallest and largest latency seen, the worst health and breaker reading
// of each bucket, and a counter reset counted from zero.
func TestHistoryServices(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(5 * time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := newHistory(reader, clk, names.Default)
	ctx := context.Background()
	tmdb := metric.WithAttributes(attribute.String(names.AttrService, "tmdb"))
	endMinute := func() {
		clk.Advance(time.Minute)
		h.collect(clk.Now().Add(-1))
	}

	// minute 0: 10 requests, 2 answered 429; latencies 9×0.05, 1×0.7 s; up, closed.
	si.requests.Add(ctx, 10, tmdb)
	si.limited.Add(ctx, 2, tmdb)
	for range 9 {
		si.duration.Record(ctx, 0.05, tmdb)
	}
	si.duration.Record(ctx, 0.7, tmdb)
	si.up.Record(ctx, 1, tmdb)
	si.breaker.Record(ctx, 0, tmdb)
	endMinute()
	// minute 1: 4 requests at 0.15 s; the service goes down, the breaker opens
	// and then half-opens within the minute.
	si.requests.Add(ctx, 4, tmdb)
	for range 4 {
		si.duration.Record(ctx, 0.15, tmdb)
	}
	si.up.Record(ctx, 0, tmdb)
	si.breaker.Record(ctx, 1, tmdb)
	clk.Advance(30 * time.Second)
	h.collect(clk.Now()) // a query's top-up
	si.up.Record(ctx, 1, tmdb)
	si.breaker.Record(ctx, 2, tmdb)
	clk.Advance(30 * time.Second)
	h.collect(clk.Now().Add(-1))
	// minute 2 in progress: nothing new.
	clk.Advance(10 * time.Second)

	got := h.snapshot("1h", historyRanges["1h"], clk.Now()).Services["tmdb"]
	for _, tc := range []struct {
		series string
		got    numbers
		want   []float64
	}{
		{"requests", got.Requests, []float64{nan, 10, 4, 0}},
		{"rateLimited", got.RateLimited, []float64{nan, 2, 0, 0}},
		// The histogram saw 0.05 s to 0.7 s. p50: rank 5 of 9 in (0, 0.1],
		// narrowed to [0.05, 0.1]: 0.05+0.05·5/9; p95: rank 9.5, in (0.5, 1],
		// narrowed to (0.5, 0.7]: 0.5+0.2·0.5.
		{"latencyP50Seconds", got.LatencyP50Seconds, []float64{nan, 0.05 + 0.05*5/9, 0.1 + 0.1*0.5, nan}},
		{"latencyP95Seconds", got.LatencyP95Seconds, []float64{nan, 0.6, 0.1 + 0.1*0.95, nan}},
		{"up", got.Up, []float64{nan, 1, 0, nan}},
	} {
		g := make([]float64, 4)
		for i, v := range tc.got[len(tc.got)-4:] {
			g[i] = float64(v)
		}
		if !sameVals(g, tc.want) {
			t.Errorf("%s: last 4 buckets %v, want %v", tc.series, g, tc.want)
		}
	}
	if b := got.Breaker[len(got.Breaker)-4:]; b[0] != "" || b[1] != "closed" || b[2] != "open" || b[3] != "" {
		t.Errorf("breaker: last 4 buckets %q, want [\"\" closed open \"\"]", b)
	}

	// The 5-minute level holds the same minutes in one bucket.
	coarse := h.snapshot("24h", historyRanges["24h"], clk.Now()).Services["tmdb"]
	if n := len(coarse.Requests); n != 288 || coarse.Requests[n-1] != 14 || coarse.Up[n-1] != 0 || coarse.Breaker[n-1] != "open" {
		t.Errorf("24h: %d points, last: %v requests, up %v, breaker %q; want 288, 14, 0, open",
			n, coarse.Requests[n-1], coarse.Up[n-1], coarse.Breaker[n-1])
	}
	if p95 := float64(coarse.LatencyP95Seconds[len(coarse.LatencyP95Seconds)-1]); math.Abs(p95-(0.5+0.2*(0.95*14-13)/1)) > 1e-6 {
		t.Errorf("24h p95 = %v", p95)
	}
}

func TestBucketQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	for _, tc := range []struct {
		name   string
		q      float64
		counts []uint64
		lo, hi float64 // NaN: no extrema
		want   float64
	}{
		{"empty", 0.5, []uint64{0, 0, 0, 0}, nan, nan, nan},
		{"first bucket from zero", 0.5, []uint64{4, 0, 0, 0}, nan, nan, 0.5},
		{"middle bucket", 0.5, []uint64{1, 2, 1, 0}, nan, nan, 1.5},
		{"upper edge", 1, []uint64{0, 3, 0, 0}, nan, nan, 2},
		{"in the unbounded bucket: its lower bound", 0.95, []uint64{1, 0, 0, 9}, nan, nan, 4},
		{"skips empty buckets", 0.5, []uint64{0, 0, 2, 0}, nan, nan, 3},
		{"counts do not fit the bounds", 0.5, []uint64{1, 1}, nan, nan, nan},
		// With the histogram's extrema: the bucket interpolated in is
		// narrowed to them, and no estimate falls outside.
		{"below the largest value seen", 0.95, []uint64{10, 0, 0, 0}, 0.0002, 0.0004, 0.0002 + 0.0002*0.95},
		{"above the smallest value seen", 0.05, []uint64{0, 10, 0, 0}, 1.5, 1.9, 1.5 + 0.4*0.05},
		{"one value", 0.5, []uint64{0, 0, 7, 0}, 3, 3, 3},
		{"the unbounded bucket ends at the largest value", 0.95, []uint64{1, 0, 0, 9}, 0.5, 10, 4 + 6*(9.5-1)/9},
		{"only the largest value known", 0.95, []uint64{4, 0, 0, 0}, nan, 0.5, 0.5 * 0.95},
		{"extrema wider than the bucket change nothing", 0.5, []uint64{1, 2, 1, 0}, 0.1, 3, 1.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bucketQuantile(tc.q, bounds, tc.counts, tc.lo, tc.hi)
			if !sameVals([]float64{got}, []float64{tc.want}) {
				t.Errorf("bucketQuantile(%v, %v, [%v, %v]) = %v, want %v", tc.q, tc.counts, tc.lo, tc.hi, got, tc.want)
			}
			if !math.IsNaN(got) && (!math.IsNaN(tc.lo) && got < tc.lo || !math.IsNaN(tc.hi) && got > tc.hi) {
				t.Errorf("bucketQuantile = %v, outside [%v, %v]", got, tc.lo, tc.hi)
			}
		})
	}
}

// Each bucket's health and breaker state is the worst the bucket saw,
// from the transitions the history is told of, not only from the gauges'
// readings: an outage of 30 seconds inside a minute whose start and end
// read up is down in that minute, and a breaker open for those 30 seconds
// is open. The state a minute ends in is the state the next one starts
// in, transitions or not.
func TestHistoryWorstStateInBucket(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(5 * time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := newHistory(reader, clk, names.Default)
	ctx := context.Background()
	imdb := metric.WithAttributes(attribute.String(names.AttrService, "imdb"))
	gauges := func(up, state int64) {
		si.up.Record(ctx, up, imdb)
		si.breaker.Record(ctx, state, imdb)
	}
	at := func(d time.Duration) {
		clk.Advance(d - clk.Now().Sub(time.Unix(1_700_000_000, 0).Truncate(5*time.Minute)))
	}

	// minute 0: up and closed at its start and end; down and open from
	// 0:15 to 0:45.
	gauges(1, 0)
	h.collect(clk.Now()) // a query at 0:00
	at(15 * time.Second)
	h.noteHealth("imdb", false, clk.Now())
	h.noteBreaker("imdb", breaker.Open, clk.Now())
	at(45 * time.Second)
	h.noteHealth("imdb", true, clk.Now())
	h.noteBreaker("imdb", breaker.HalfOpen, clk.Now())
	h.noteBreaker("imdb", breaker.Closed, clk.Now())
	at(time.Minute)
	h.collect(clk.Now().Add(-1)) // the sampler, at the minute's end: up, closed
	// minute 1: nothing happens. minute 2: the breaker opens at 2:50, and
	// stays open, and no query reads the gauge before the sampler.
	at(2 * time.Minute)
	h.collect(clk.Now().Add(-1))
	at(2*time.Minute + 50*time.Second)
	h.noteBreaker("imdb", breaker.Open, clk.Now())
	gauges(1, 1)
	at(3 * time.Minute)
	h.collect(clk.Now().Add(-1))
	// minute 3: no transition, and no collection (the sampler missed it):
	// the breaker is still open. minute 4, in progress: a transition, told
	// without any collection.
	at(4*time.Minute + 10*time.Second)
	h.noteHealth("imdb", false, clk.Now())

	got := h.snapshot("1h", historyRanges["1h"], clk.Now()).Services["imdb"]
	up := make([]float64, 5)
	for i, v := range got.Up[len(got.Up)-5:] {
		up[i] = float64(v)
	}
	if want := []float64{0, 1, 1, 1, 0}; !sameVals(up, want) {
		t.Errorf("up, minutes 0 to 4: %v, want %v", up, want)
	}
	if b, want := got.Breaker[len(got.Breaker)-5:], []string{"open", "closed", "open", "open", "open"}; !slices.Equal(b, want) {
		t.Errorf("breaker, minutes 0 to 4: %q, want %q", b, want)
	}
	// The 5-minute bucket holds all of it: its worst.
	coarse := h.snapshot("24h", historyRanges["24h"], clk.Now()).Services["imdb"]
	if n := len(coarse.Up); coarse.Up[n-1] != 0 || coarse.Breaker[n-1] != "open" {
		t.Errorf("24h: up %v, breaker %q; want 0, open", coarse.Up[n-1], coarse.Breaker[n-1])
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
	m.hist.collect(clk.Now()) // the sampler at the minute's end: up, closed
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

// A collection whose reading began before a transition was told does not
// take the state back to what it read.
func TestHistoryReadingOlderThanTransition(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	h := newHistory(sdkmetric.NewManualReader(), clk, names.Default)
	h.noteHealth("imdb", true, clk.Now())
	notes := h.notes // a collection starts reading: up
	h.noteHealth("imdb", false, clk.Now())
	h.mu.Lock()
	h.services["imdb"].feed(&serviceReading{up: upUp, breaker: 1}, clk.Now().UnixNano(), notes)
	h.mu.Unlock()
	clk.Advance(time.Minute)
	h.noteBreaker("imdb", breaker.Closed, clk.Now()) // opens minute 1 in the state minute 0 ended in
	got := h.snapshot("1h", historyRanges["1h"], clk.Now()).Services["imdb"]
	if up := got.Up[len(got.Up)-1]; up != 0 {
		t.Errorf("minute 1 starts up=%v, want down (0): the reading was older than the transition", up)
	}
}

// RateLimitedLastHour counts the 429 answers of the last 60 minutes, those
// since the last collection included.
func TestHistoryLimitedLastHour(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := newHistory(reader, clk, names.Default)
	ctx := context.Background()
	tmdb := metric.WithAttributes(attribute.String(names.AttrService, "tmdb"))
	if n := h.limitedLastHour("tmdb", clk.Now(), 4); n != 4 {
		t.Errorf("before any collection: %d, want all 4", n)
	}
	var total uint64
	for range 90 { // one 429 a minute for 90 minutes
		si.limited.Add(ctx, 1, tmdb)
		total++
		clk.Advance(time.Minute)
		h.collect(clk.Now().Add(-1))
	}
	clk.Advance(10 * time.Second)
	si.limited.Add(ctx, 2, tmdb) // not yet collected
	total += 2
	if n := h.limitedLastHour("tmdb", clk.Now(), total); n != 59+2 {
		t.Errorf("last hour: %d, want 61 (59 closed minutes, 2 since the last collection)", n)
	}
}

// A cumulative value that drops (a restarted process behind an OTLP
// pipeline, a recreated instrument) is a restart from zero.
func TestHistoryCounterReset(t *testing.T) {
	s := &sourceHistory{levels: newLevels[sourcePoint](0)}
	s.feed(&sourceReading{succeeded: 10, durCount: 10, durSum: 20}, 0)
	s.feed(&sourceReading{succeeded: 3, durCount: 3, durSum: 3}, 1)
	if p := s.levels[0].open; p.succeeded != 13 || p.durCount != 13 || p.durSum != 23 {
		t.Errorf("after a reset: %+v, want 13 syncs lasting 23 s", p)
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
		m.hist.collect(clk.Now().Add(-1))
	}
	// The sampler missed 3 minutes (a suspended laptop): their syncs count
	// in the minute of the next collection.
	for range 3 {
		m.RecordSyncOperation(ctx, "new", true, time.Second, 0, 0, 0)
		clk.Advance(time.Minute)
	}
	m.hist.collect(clk.Now().Add(-1))
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

// Start starts the sampler: a collection at each minute's end, without a
// query; Shutdown stops it (goleak checks that it exited).
func TestHistorySampler(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := newHistory(reader, clk, names.Default)
	h.shutdown() // before start: nothing to stop
	h = newHistory(reader, clk, names.Default)
	h.start()
	defer h.shutdown()
	ctx := context.Background()
	si.requests.Add(ctx, 7, metric.WithAttributes(attribute.String(names.AttrService, "plex")))
	clk.BlockUntilTimers(1)
	clk.Advance(time.Minute)
	clk.BlockUntilTimers(1) // collected, and waiting for the next minute
	h.mu.Lock()
	s := h.services["plex"]
	var got uint32
	if s != nil {
		got = s.levels[0].open.requests
	}
	h.mu.Unlock()
	if got != 7 {
		t.Fatalf("the sampler's collection read %d requests, want 7", got)
	}
}

// A series the instruments stop reporting (an observable callback that
// drops it) is dropped once its buckets have all left the rings.
func TestHistoryForgets(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	reader, mp := readerProvider(t)
	up, err := mp.Meter("test").Int64ObservableGauge(names.Default.Name(names.ServiceUp))
	if err != nil {
		t.Fatal(err)
	}
	report := map[string]bool{"kept": true, "gone": true}
	if _, err := mp.Meter("test").RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for name, ok := range report {
			if ok {
				o.ObserveInt64(up, 1, metric.WithAttributes(attribute.String(names.AttrService, name)))
			}
		}
		return nil
	}, up); err != nil {
		t.Fatal(err)
	}
	h := newHistory(reader, clk, names.Default)
	h.collect(clk.Now())
	report["gone"] = false
	for _, tc := range []struct {
		after time.Duration
		kept  bool
	}{{time.Hour, true}, {historyKeep - time.Hour, true}, {historyKeep + time.Minute, false}} {
		clk.Advance(tc.after - clk.Now().Sub(time.Unix(1_700_000_000, 0).Truncate(time.Minute)))
		h.collect(clk.Now())
		_, kept := h.services["gone"]
		if _, ok := h.services["kept"]; !ok || kept != tc.kept {
			t.Errorf("after %v: kept=%v gone kept=%v, want true, %v", tc.after, ok, kept, tc.kept)
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
				m.hist.collect(clk.Now())
			}
			if i%7 == 0 {
				m.hist.noteHealth("trakt", i%2 == 0, clk.Now())
				m.hist.noteBreaker("trakt", breaker.State(i%3), clk.Now())
			}
		}
	}()
	for range 50 {
		_, _ = apiBackend{m}.History("1h")
		_ = m.Status()
		clk.Advance(time.Second)
	}
	<-done
	m.hist.collect(clk.Now())
	out, _ := apiBackend{m}.History("24h")
	h := out.(historyJSON)
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

// readerProvider returns a MeterProvider read through a ManualReader, for
// a history fed without a Monitor; it is shut down when the test ends.
func readerProvider(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}
