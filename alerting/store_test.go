package alerting

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/names"
)

func TestRingIsBoundedAndReadsIncrease(t *testing.T) {
	r := &ring{window: time.Hour}
	start := t0.UnixNano()
	step := int64(time.Second)
	cum := 0.0 // the true number of events
	raw := 0.0 // the counter's reading, with resets
	events := make([]float64, 0, 7200)
	for i := range 7200 { // two hours, one sample a second
		n := float64(rand.IntN(3))
		cum += n
		raw += n
		if i%1000 == 999 {
			raw = n // process restart: the counter starts again
		}
		events = append(events, cum)
		r.push(start+int64(i)*step, raw, true)
		if len(r.s) > ringCap {
			t.Fatalf("ring holds %d samples", len(r.s))
		}
	}
	now := start + 7199*step
	got := r.increase(now, time.Hour, false)
	want := events[7199] - events[7199-3600]
	// Samples are kept at most window/32 apart, so the baseline may be up to
	// that much older than now-window.
	slack := events[7199-3600] - events[7199-3600-int(time.Hour/32/time.Second)-1]
	if got < want || got > want+slack {
		t.Fatalf("increase over the last hour = %v, want %v (+%v)", got, want, slack)
	}
}

func TestRingYoungCounter(t *testing.T) {
	r := &ring{window: time.Hour}
	r.push(0, 7, true)
	if got := r.increase(int64(time.Minute), time.Hour, true); got != 7 {
		t.Fatalf("young counter: %v, want its whole value", got)
	}
	if got := r.increase(int64(time.Minute), time.Hour, false); got != 0 {
		t.Fatalf("old counter first seen: %v, want 0", got)
	}
	g := &ring{window: time.Hour}
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
	if n := len(h.eng.store.sets[name].m); n != 2 {
		t.Fatalf("%d series remembered, want 2", n)
	}
	report = false
	for range 30 { // 5 hours
		h.step(10 * time.Minute)
	}
	if n := len(h.eng.store.sets[name].m); n != 1 {
		t.Fatalf("%d series remembered after one disappeared for hours, want 1", n)
	}
	if err := h.eng.RemoveRule("rate"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.eng.store.sets[name]; ok {
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
