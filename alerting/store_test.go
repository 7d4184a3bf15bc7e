package alerting

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/names"
)

// counterWalk is two hours of a counter read every second: the true
// number of events so far at each second (cum) and the counter's readings,
// which restart from zero now and then as a process restart would (raw).
func counterWalk(seed uint64) (cum, raw []float64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	var c, r float64
	for i := range 7200 {
		n := float64(rnd.IntN(3))
		if rnd.IntN(4) == 0 {
			n = 0 // quiet seconds: not every reading changes
		}
		c += n
		r += n
		if i%1000 == 999 {
			r = n // restart: the counter starts again
		}
		cum, raw = append(cum, c), append(raw, r)
	}
	return cum, raw
}

// A ring read every evaluation holds the exact value at any time within
// its window, so every window up to its own reads the exact increase: the
// rules of a 1-minute, a 5-minute and a 1-hour window share it.
func TestRingReadsExactIncreaseForEveryWindow(t *testing.T) {
	cum, raw := counterWalk(1)
	step := int64(time.Second)
	r := newRing(derive{}, time.Hour, time.Second)
	for i := range raw {
		r.push(int64(i)*step, raw[i], true)
		if len(r.s) > r.limit || cap(r.s) > r.limit {
			t.Fatalf("second %d: ring holds %d samples (capacity %d), limit %d", i, len(r.s), cap(r.s), r.limit)
		}
		for _, w := range []time.Duration{time.Second, time.Minute, 5 * time.Minute, time.Hour} {
			back := int(w / time.Second)
			if i < back {
				continue
			}
			if got, want := r.increase(int64(i)*step, w, false), cum[i]-cum[i-back]; got != want {
				t.Fatalf("second %d: increase over %v = %v, want %v", i, w, got, want)
			}
		}
	}
	// Only change points are kept, and none older than the window needs.
	if n := len(r.s); n > 3601 {
		t.Fatalf("%d samples kept for a one-hour window read every second", n)
	}
}

// A ring evaluated far more often than the engine's interval fills up; it
// stays within its limit, and its readings are late by less than
// 2·window/limit: an increase is never below the true one, nor above the
// true one over a window that much longer.
func TestRingIsBoundedWhenEvaluatedMoreOftenThanItsInterval(t *testing.T) {
	cum, raw := counterWalk(2)
	step := int64(time.Second)
	r := newRing(derive{}, time.Hour, time.Minute) // 60 evaluations an hour expected; 3600 come
	late := int(2*time.Hour/time.Duration(r.limit)/time.Second) + 1
	for i := range raw {
		r.push(int64(i)*step, raw[i], true)
		if len(r.s) > r.limit || cap(r.s) > r.limit {
			t.Fatalf("second %d: ring holds %d samples (capacity %d), limit %d", i, len(r.s), cap(r.s), r.limit)
		}
		if i < 3600+late {
			continue
		}
		got := r.increase(int64(i)*step, time.Hour, false)
		lo, hi := cum[i]-cum[i-3600], cum[i]-cum[i-3600-late]
		if got < lo || got > hi {
			t.Fatalf("second %d: increase over the last hour = %v, want within [%v, %v] (late by less than %ds)", i, got, lo, hi, late)
		}
	}
}

func TestRingYoungCounter(t *testing.T) {
	r := newRing(derive{}, time.Hour, time.Minute)
	r.push(0, 7, true)
	if got := r.increase(int64(time.Minute), time.Hour, true); got != 7 {
		t.Fatalf("young counter: %v, want its whole value", got)
	}
	if got := r.increase(int64(time.Minute), time.Hour, false); got != 0 {
		t.Fatalf("old counter first seen: %v, want 0", got)
	}
	g := newRing(derive{}, time.Hour, time.Minute)
	g.push(0, 10, false)
	g.push(int64(time.Minute), 4, false)
	if got := g.increase(int64(time.Minute), time.Hour, true); got != -6 {
		t.Fatalf("gauge change = %v, want -6", got)
	}
}

func TestSeriesAreForgotten(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "rate", Condition: RateAbove{Metric: names.APIRateLimitHitsTotal, Threshold: 5, Window: time.Hour}})
	var report bool
	_, err := h.mp.Meter("obs").Int64ObservableCounter(names.Default.Name(names.APIRateLimitHitsTotal), metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		if report {
			o.Observe(3, metric.WithAttributes(attribute.String("service", "gone")))
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	report = true
	h.hits.Add(ctx, 1, svc("stays"))
	h.eval()
	name := names.Default.Name(names.APIRateLimitHitsTotal)
	if n := len(h.eng.eval.store.sets[name].m); n != 2 {
		t.Fatalf("%d series remembered, want 2", n)
	}
	report = false
	for range 30 { // 5 hours
		h.step(10 * time.Minute)
	}
	if n := len(h.eng.eval.store.sets[name].m); n != 1 {
		t.Fatalf("%d series remembered after one disappeared for hours, want 1", n)
	}
	if err := h.eng.RemoveRule("rate"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.eng.eval.store.sets[name]; ok {
		t.Fatal("series of an instrument no rule reads are kept")
	}
}

// traceObserver records, per rule, the trace ids an alert of the rule would
// name at the latest ingest, whatever the condition's verdict.
type traceObserver struct {
	ids map[string][]string
	err error
}

func (o *traceObserver) observe(s *seriesEntry, b *binding, _ float64) {
	o.ids[b.re.rule.Name] = b.traceIDs(s)
}

func (o *traceObserver) fail(_ *ruleEntry, err error) { o.err = err }

// An exemplar is fresh when it was measured since the previous ingest:
// when a rule is added at runtime, the exemplars the SDK kept from days
// before (it keeps them as long as the process runs) name no trace, those
// of the evaluation interval before the rule's first evaluation do, and
// from then on every new exemplar does. Times are the SDK's: the data
// points' and the exemplars', set here.
func TestExemplarFreshness(t *testing.T) {
	const interval = time.Minute
	day := 24 * time.Hour
	start := t0.Add(-3 * day) // the process's: the cumulative start time
	ex := func(n byte, at time.Time, v float64) metricdata.Exemplar[float64] {
		return metricdata.Exemplar[float64]{TraceID: []byte{0xab, 15: n}, SpanID: []byte{0xcd, 7: n}, Time: at, Value: v}
	}
	id := func(n byte) string { return fmt.Sprintf("ab%028x%02x", 0, n) }
	srcImdb := attribute.NewSet(attribute.String(names.AttrSource, "imdb"))
	// slow reads the duration histogram (5 m is a bucket boundary), cf the
	// consecutive-failures gauge.
	histogramAt := func(at time.Time, exemplars ...metricdata.Exemplar[float64]) metricdata.Metrics {
		counts := make([]uint64, len(durationBuckets)+1)
		counts[7] = uint64(len(exemplars)) // (300, 600]: slow
		return metricdata.Metrics{Name: names.Default.Name(names.SyncDurationSeconds), Data: metricdata.Histogram[float64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: srcImdb, StartTime: start, Time: at,
				Count: uint64(len(exemplars)), Bounds: durationBuckets, BucketCounts: counts, Exemplars: exemplars}}}}
	}
	gaugeAt := func(at time.Time, v int64, exemplars ...metricdata.Exemplar[float64]) metricdata.Metrics {
		ie := make([]metricdata.Exemplar[int64], len(exemplars))
		for i, e := range exemplars {
			ie[i] = metricdata.Exemplar[int64]{TraceID: e.TraceID, SpanID: e.SpanID, Time: e.Time, Value: int64(e.Value)}
		}
		return metricdata.Metrics{Name: names.Default.Name(names.ConsecutiveFailures), Data: metricdata.Gauge[int64]{
			DataPoints: []metricdata.DataPoint[int64]{{Attributes: srcImdb, StartTime: start, Time: at, Value: v, Exemplars: ie}}}}
	}
	type ingest struct {
		at   time.Time
		data []metricdata.Metrics
		want map[string][]string // rule → trace ids named at this ingest
	}
	old := t0.Add(-2 * day)
	for _, tc := range []struct {
		name    string
		ingests []ingest
	}{
		{"rule added days after a slow sync", []ingest{
			{t0, []metricdata.Metrics{histogramAt(t0, ex(1, old, 700))}, map[string][]string{"slow": nil}},
			{t0.Add(interval), []metricdata.Metrics{histogramAt(t0.Add(interval), ex(1, old, 700), ex(2, t0.Add(30*time.Second), 400))},
				map[string][]string{"slow": {id(2)}}},
		}},
		{"rule added days after the last failure", []ingest{
			{t0, []metricdata.Metrics{gaugeAt(t0, 5, ex(1, old, 5))}, map[string][]string{"cf": nil}},
		}},
		{"measured within the interval before the first ingest", []ingest{
			{t0, []metricdata.Metrics{histogramAt(t0, ex(1, t0.Add(-interval/2), 700)), gaugeAt(t0, 3, ex(2, t0.Add(-interval/2), 3))},
				map[string][]string{"slow": {id(1)}, "cf": {id(2)}}},
		}},
		{"measured during the previous collection", []ingest{
			{t0, []metricdata.Metrics{histogramAt(t0)}, map[string][]string{"slow": nil}},
			// stamped before the previous data point, in no collection yet
			{t0.Add(interval), []metricdata.Metrics{histogramAt(t0.Add(interval), ex(1, t0.Add(-time.Millisecond), 700))},
				map[string][]string{"slow": {id(1)}}},
			{t0.Add(2 * interval), []metricdata.Metrics{histogramAt(t0.Add(2*interval), ex(1, t0.Add(-time.Millisecond), 700))},
				map[string][]string{"slow": nil}},
		}},
		{"series back after missing from a collection", []ingest{
			{t0, []metricdata.Metrics{histogramAt(t0)}, map[string][]string{"slow": nil}},
			{t0.Add(interval), nil, nil},
			{t0.Add(day), []metricdata.Metrics{histogramAt(t0.Add(day), ex(1, t0.Add(interval+time.Second), 700), ex(2, t0.Add(day-time.Second), 400))},
				map[string][]string{"slow": {id(2)}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := newRuleSet()
			for _, r := range []Rule{
				{Name: "slow", Level: Warning, Condition: SlowOperation{Threshold: 5 * time.Minute, Window: 5 * time.Minute}},
				{Name: "cf", Level: Warning, Condition: ConsecutiveFailures{Count: 3}},
			} {
				re, err := newRuleEntry(r, names.Default)
				if err != nil {
					t.Fatal(err)
				}
				if err := rs.add(re); err != nil {
					t.Fatal(err)
				}
			}
			st := newSeriesStore(interval)
			for i, in := range tc.ingests {
				obs := &traceObserver{ids: map[string][]string{}}
				rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: in.data}}}
				// The engine's clock stands elsewhere: only the SDK's times count.
				st.ingest(rm, rs, uint64(i+1), time.Unix(0, 0).Add(time.Duration(i)*interval), obs)
				if obs.err != nil {
					t.Fatalf("ingest %d: %v", i, obs.err)
				}
				for rule, want := range in.want {
					got, seen := obs.ids[rule]
					if !seen || !slices.Equal(got, want) {
						t.Errorf("ingest %d: rule %s names %v (observed %v), want %v", i, rule, got, seen, want)
					}
				}
			}
		})
	}
}

// Rules of different windows on one number of a series share its ring and
// each keeps its own window exactly: evaluated every second, a slow sync
// holds a 1-minute rule for 60 evaluations and the 5-minute rule next to it
// for 300, and a rate-limit hit counts in a 1-hour window for 3600.
func TestWindowsAreExactWhenRulesShareARing(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{EvaluationInterval: time.Second})
	h.addRules(
		Rule{Name: "slow1m", Condition: SlowOperation{Threshold: 5 * time.Minute, Window: time.Minute}},
		Rule{Name: "slow5m", Condition: SlowOperation{Threshold: 5 * time.Minute, Window: 5 * time.Minute}},
		Rule{Name: "rate1h", Condition: RateAbove{Metric: names.APIRateLimitHitsTotal, Threshold: 0, Window: time.Hour}},
		Rule{Name: "rate1m", Condition: RateAbove{Metric: names.APIRateLimitHitsTotal, Threshold: 0, Window: time.Minute}},
	)
	h.duration.Record(ctx, 12, src("imdb"))
	h.hits.Add(ctx, 0, svc("tmdb"))
	h.eval()
	h.step(time.Second)
	h.duration.Record(ctx, 301, src("imdb"))
	h.hits.Add(ctx, 1, svc("tmdb"))
	held := map[string]int{}
	for range 3700 {
		h.eval()
		for _, r := range []string{"slow1m", "slow5m", "rate1h", "rate1m"} {
			if len(h.firing(r)) > 0 {
				held[r]++
			}
		}
		h.clk.Advance(time.Second)
	}
	want := map[string]int{"slow1m": 60, "slow5m": 300, "rate1h": 3600, "rate1m": 60}
	if !maps.Equal(held, want) {
		t.Fatalf("evaluations each rule held for: %v, want %v", held, want)
	}
	ring := h.eng.eval.store.sets[names.Default.Name(names.SyncDurationSeconds)].m
	for _, s := range ring {
		for _, r := range s.rings {
			if len(r.s) > 3 {
				t.Errorf("ring %+v keeps %d samples of a value that changed once", r.d, len(r.s))
			}
		}
	}
}
