package history

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// The History on its own, fed by instruments of the tests' own provider;
// the Monitor's part (what it records and tells, what the API serves) is
// tested in package otelmon.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

var nan = math.NaN()

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

// readerProvider returns a MeterProvider read through a ManualReader, for
// a history fed without a Monitor; it is shut down when the test ends.
func readerProvider(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}

// A service's history: request and 429 counts per bucket, latency
// quantiles from the increase of the histogram's buckets within the
// smallest and largest latency seen, the worst health and breaker reading
// of each bucket, and a counter reset counted from zero.
func TestHistoryServices(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(5 * time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := New(reader, clk, names.Default)
	ctx := context.Background()
	tmdb := metric.WithAttributes(attribute.String(names.AttrService, "tmdb"))
	endMinute := func() {
		clk.Advance(time.Minute)
		h.Collect(clk.Now().Add(-1))
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
	h.Collect(clk.Now()) // a query's top-up
	si.up.Record(ctx, 1, tmdb)
	si.breaker.Record(ctx, 2, tmdb)
	clk.Advance(30 * time.Second)
	h.Collect(clk.Now().Add(-1))
	// minute 2 in progress: nothing new.
	clk.Advance(10 * time.Second)

	got := h.Snapshot("1h", ranges["1h"], clk.Now()).Services["tmdb"]
	for _, tc := range []struct {
		series string
		got    Numbers
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
	coarse := h.Snapshot("24h", ranges["24h"], clk.Now()).Services["tmdb"]
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
	h := New(reader, clk, names.Default)
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
	h.Collect(clk.Now()) // a query at 0:00
	at(15 * time.Second)
	h.NoteHealth("imdb", false, clk.Now())
	h.NoteBreaker("imdb", breaker.Open, clk.Now())
	at(45 * time.Second)
	h.NoteHealth("imdb", true, clk.Now())
	h.NoteBreaker("imdb", breaker.HalfOpen, clk.Now())
	h.NoteBreaker("imdb", breaker.Closed, clk.Now())
	at(time.Minute)
	h.Collect(clk.Now().Add(-1)) // the sampler, at the minute's end: up, closed
	// minute 1: nothing happens. minute 2: the breaker opens at 2:50, and
	// stays open, and no query reads the gauge before the sampler.
	at(2 * time.Minute)
	h.Collect(clk.Now().Add(-1))
	at(2*time.Minute + 50*time.Second)
	h.NoteBreaker("imdb", breaker.Open, clk.Now())
	gauges(1, 1)
	at(3 * time.Minute)
	h.Collect(clk.Now().Add(-1))
	// minute 3: no transition, and no collection (the sampler missed it):
	// the breaker is still open. minute 4, in progress: a transition, told
	// without any collection.
	at(4*time.Minute + 10*time.Second)
	h.NoteHealth("imdb", false, clk.Now())

	got := h.Snapshot("1h", ranges["1h"], clk.Now()).Services["imdb"]
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
	coarse := h.Snapshot("24h", ranges["24h"], clk.Now()).Services["imdb"]
	if n := len(coarse.Up); coarse.Up[n-1] != 0 || coarse.Breaker[n-1] != "open" {
		t.Errorf("24h: up %v, breaker %q; want 0, open", coarse.Up[n-1], coarse.Breaker[n-1])
	}
}

// A collection whose reading began before a transition was told does not
// take the state back to what it read.
func TestHistoryReadingOlderThanTransition(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	h := New(sdkmetric.NewManualReader(), clk, names.Default)
	h.NoteHealth("imdb", true, clk.Now())
	notes := h.notes // a collection starts reading: up
	h.NoteHealth("imdb", false, clk.Now())
	h.mu.Lock()
	h.services["imdb"].feed(&serviceReading{up: upUp, breaker: 1}, clk.Now().UnixNano(), notes)
	h.mu.Unlock()
	clk.Advance(time.Minute)
	h.NoteBreaker("imdb", breaker.Closed, clk.Now()) // opens minute 1 in the state minute 0 ended in
	got := h.Snapshot("1h", ranges["1h"], clk.Now()).Services["imdb"]
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
	h := New(reader, clk, names.Default)
	ctx := context.Background()
	tmdb := metric.WithAttributes(attribute.String(names.AttrService, "tmdb"))
	if n := h.LimitedLastHour("tmdb", clk.Now(), 4); n != 4 {
		t.Errorf("before any collection: %d, want all 4", n)
	}
	var total uint64
	for range 90 { // one 429 a minute for 90 minutes
		si.limited.Add(ctx, 1, tmdb)
		total++
		clk.Advance(time.Minute)
		h.Collect(clk.Now().Add(-1))
	}
	clk.Advance(10 * time.Second)
	si.limited.Add(ctx, 2, tmdb) // not yet collected
	total += 2
	if n := h.LimitedLastHour("tmdb", clk.Now(), total); n != 59+2 {
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

// Start starts the sampler: a collection at each minute's end, without a
// query; Shutdown stops it (goleak checks that it exited).
func TestHistorySampler(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0).Truncate(time.Minute))
	reader, mp := readerProvider(t)
	si := newServiceInstruments(t, mp)
	h := New(reader, clk, names.Default)
	h.Shutdown() // before start: nothing to stop
	h = New(reader, clk, names.Default)
	h.Start()
	defer h.Shutdown()
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
	h := New(reader, clk, names.Default)
	h.Collect(clk.Now())
	report["gone"] = false
	for _, tc := range []struct {
		after time.Duration
		kept  bool
	}{{time.Hour, true}, {keepFor - time.Hour, true}, {keepFor + time.Minute, false}} {
		clk.Advance(tc.after - clk.Now().Sub(time.Unix(1_700_000_000, 0).Truncate(time.Minute)))
		h.Collect(clk.Now())
		_, kept := h.services["gone"]
		if _, ok := h.services["kept"]; !ok || kept != tc.kept {
			t.Errorf("after %v: kept=%v gone kept=%v, want true, %v", tc.after, ok, kept, tc.kept)
		}
	}
}
