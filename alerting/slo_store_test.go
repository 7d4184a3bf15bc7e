package alerting

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/names"
)

// verdictLog records the SLO store's verdicts.
type verdictLog struct {
	held map[string]float64 // "rule/slo/source" → value, for the holding ones
	errs []error
}

func (v *verdictLog) judge(re *ruleEntry, _ string, labels map[string]string, x float64, k verdictKind) {
	if k == verdictHold {
		v.held[re.rule.Name+"/"+labels["slo"]+"/"+labels["source"]] = x
	}
}

func (v *verdictLog) fail(_ *ruleEntry, err error) { v.errs = append(v.errs, err) }

// syncCollection is a collection of the sync counters: per source, its
// failed and total syncs, counted since start.
func syncCollection(now, start time.Time, counts map[string][2]int64) *metricdata.ResourceMetrics {
	var failed, total []metricdata.DataPoint[int64]
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		set := attribute.NewSet(attribute.String(names.AttrSource, s))
		failed = append(failed, metricdata.DataPoint[int64]{Attributes: set, StartTime: start, Time: now, Value: counts[s][0]})
		total = append(total, metricdata.DataPoint[int64]{Attributes: set, StartTime: start, Time: now, Value: counts[s][1]})
	}
	sum := func(pts []metricdata.DataPoint[int64]) metricdata.Sum[int64] {
		return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: pts}
	}
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: names.Default.Name(names.SyncOperationsFailedTotal), Data: sum(failed)},
		{Name: names.Default.Name(names.SyncOperationsTotal), Data: sum(total)},
	}}}}
}

// TestSLOStoreHistoryStarts checks where an objective series' history
// starts: counts that started long before the first collection are not
// charged to the first windows (a lower bound, as the engine's other
// windows), a series that appears later counts from zero at the collection
// before, and a counter that drops restarted from zero.
func TestSLOStoreHistoryStarts(t *testing.T) {
	longAgo := t0.Add(-48 * time.Hour) // the counters started two days before the first collection
	type tick struct {
		minute int
		counts map[string][2]int64
		held   []string
	}
	page := func(src string) string { return RuleSLOBurnRatePage + "/sync_success/" + src }
	cases := []struct {
		name  string
		start time.Time
		ticks []tick
	}{
		{
			name: "old counts are not charged to the first windows", start: longAgo,
			ticks: []tick{
				{0, map[string][2]int64{"imdb": {50, 100}}, nil},
				{1, map[string][2]int64{"imdb": {50, 101}}, nil},
				{2, map[string][2]int64{"imdb": {51, 102}}, []string{page("imdb")}},
			},
		},
		{
			name: "counts that started within the window count from zero", start: t0.Add(-time.Minute),
			ticks: []tick{
				{0, map[string][2]int64{"imdb": {1, 2}}, []string{page("imdb")}},
			},
		},
		{
			name: "a new series counts from zero at the collection before", start: longAgo,
			ticks: []tick{
				{0, map[string][2]int64{"imdb": {0, 100}}, nil},
				{1, map[string][2]int64{"imdb": {0, 101}, "trakt": {1, 1}}, []string{page("trakt")}},
			},
		},
		{
			name: "a counter that drops restarted from zero", start: longAgo,
			ticks: []tick{
				{0, map[string][2]int64{"imdb": {0, 100}}, nil},
				{1, map[string][2]int64{"imdb": {0, 110}}, nil},
				// 110 → 3: three syncs since the restart, one failed.
				{2, map[string][2]int64{"imdb": {1, 3}}, []string{page("imdb")}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules := newRuleSet()
			for _, r := range SLORules() {
				re, err := newRuleEntry(r, names.Default)
				if err != nil {
					t.Fatal(err)
				}
				if err := rules.add(re); err != nil {
					t.Fatal(err)
				}
			}
			st := newSLOStore(time.Minute)
			for _, k := range c.ticks {
				now := t0.Add(time.Duration(k.minute) * time.Minute)
				obs := &verdictLog{held: map[string]float64{}}
				st.ingest(syncCollection(now, c.start, k.counts), rules, now, obs)
				if len(obs.errs) > 0 {
					t.Fatal(obs.errs)
				}
				var got []string
				for k := range obs.held {
					if k[:len(RuleSLOBurnRatePage)] == RuleSLOBurnRatePage {
						got = append(got, k)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, k.held) {
					t.Errorf("minute %d: page holds on %v, want %v", k.minute, got, k.held)
				}
			}
		})
	}
}

func TestSLOLatencyObjective(t *testing.T) {
	h := newHarness(t, Config{})
	hist, err := h.meter.Float64Histogram(names.Default.Name(names.APIRequestDuration), metric.WithExplicitBucketBoundaries(0.5, 1, 2.5))
	if err != nil {
		t.Fatal(err)
	}
	h.addRules(SLORules(APILatencyObjective(0))...)
	ctx := context.Background()
	for i := range 10 {
		d := 0.2
		if i < 8 {
			d = 1.5 // 8 in 10 above 1 s: 0.8 against a page's 14.4 × 0.05
		}
		hist.Record(ctx, d, svc("tmdb"))
		hist.Record(ctx, 0.2, svc("trakt"))
	}
	h.eval()
	var got []string
	for _, a := range h.eng.Alerts(Filter{Rule: RuleSLOBurnRatePage}) {
		got = append(got, describeLabels(a.Labels)+fmt.Sprintf(" %g", a.Value))
	}
	if want := []string{"service=tmdb, slo=api_latency 16"}; !slices.Equal(got, want) {
		t.Errorf("page fires on %v, want %v", got, want)
	}

	// A threshold that is not a bucket boundary cannot be read.
	h.addRules(Rule{Name: "fast", Condition: BurnRate{Objectives: []Objective{APILatencyObjective(300 * time.Millisecond)}, Windows: PageWindows()}})
	h.clk.Advance(time.Minute)
	if err := h.eng.Evaluate(ctx); !errors.Is(err, ErrNotBucketBoundary) {
		t.Errorf("Evaluate = %v, want ErrNotBucketBoundary", err)
	}
}

func TestSLOUnsupportedInstrument(t *testing.T) {
	h := newHarness(t, Config{})
	o := SyncSuccessObjective()
	o.Errors.Metric = names.ConsecutiveFailures // a gauge
	h.addRules(Rule{Name: "gauge", Condition: BurnRate{Objectives: []Objective{o}, Windows: PageWindows()}})
	h.failures.Record(context.Background(), 1, src("imdb"))
	var re *RuleError
	if err := h.eng.Evaluate(context.Background()); !errors.Is(err, ErrUnsupportedInstrument) || !errors.As(err, &re) || re.Rule != "gauge" {
		t.Errorf("Evaluate = %v, want ErrUnsupportedInstrument for rule gauge", err)
	}
}
