package alerting

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/names"
)

// condStep advances the clock, records measurements, evaluates, and checks
// which series the rule fires on.
type condStep struct {
	advance time.Duration
	do      func(h *harness)
	want    []string // describeLabels of firing alerts, sorted
}

func TestConditions(t *testing.T) {
	ctx := context.Background()
	type tc struct {
		name  string
		rule  Rule
		setup func(h *harness) // optional: extra instruments
		steps []condStep
	}
	rule := func(name string, c Condition, mod ...func(*Rule)) Rule {
		r := Rule{Name: name, Level: Warning, Condition: c}
		for _, m := range mod {
			m(&r)
		}
		return r
	}

	var obsValue atomic.Int64 // for observable instruments
	var obsReport atomic.Bool

	cases := []tc{
		{
			name: "consecutive failures, every source",
			rule: rule("cf", ConsecutiveFailures{Count: 3}),
			steps: []condStep{
				{do: func(h *harness) { h.failures.Record(ctx, 2, src("imdb")); h.failures.Record(ctx, 2, src("tmdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctx, 3, src("imdb")) }, want: []string{"source=imdb"}},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctx, 4, src("tmdb")) }, want: []string{"source=imdb", "source=tmdb"}},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctx, 0, src("imdb")) }, want: []string{"source=tmdb"}},
			},
		},
		{
			name: "consecutive failures, one source",
			rule: rule("cf1", ConsecutiveFailures{Source: "imdb", Count: 2}),
			steps: []condStep{
				{do: func(h *harness) { h.failures.Record(ctx, 5, src("tmdb")); h.failures.Record(ctx, 1, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctx, 2, src("imdb")) }, want: []string{"source=imdb"}},
			},
		},
		{
			name: "consecutive failures from an observable gauge, series disappearing",
			rule: rule("cfobs", ConsecutiveFailures{Count: 3}),
			setup: func(h *harness) {
				obsValue.Store(0)
				obsReport.Store(true)
				m := h.mp.Meter("observable")
				_, err := m.Int64ObservableGauge(names.Default.Name(names.ConsecutiveFailures), metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
					if obsReport.Load() {
						o.Observe(obsValue.Load(), metric.WithAttributes(attribute.String("source", "plex")))
					}
					return nil
				}))
				if err != nil {
					t.Fatal(err)
				}
			},
			steps: []condStep{
				{do: func(*harness) { obsValue.Store(1) }},
				{advance: time.Minute, do: func(*harness) { obsValue.Store(3) }, want: []string{"source=plex"}},
				{advance: time.Minute, do: func(*harness) { obsReport.Store(false) }}, // gone: resolves
			},
		},
		{
			name: "consecutive failures from an up-down counter (non-monotonic sum)",
			rule: rule("cfsum", Threshold{Instrument: "host_failures", Op: OpGreaterEqual, Value: 3}),
			setup: func(h *harness) {
				c, err := h.meter.Int64UpDownCounter("host_failures")
				if err != nil {
					t.Fatal(err)
				}
				upDown = c
			},
			steps: []condStep{
				{do: func(*harness) { upDown.Add(ctx, 2, src("trakt")) }},
				{advance: time.Minute, do: func(*harness) { upDown.Add(ctx, 1, src("trakt")) }, want: []string{"source=trakt"}},
				{advance: time.Minute, do: func(*harness) { upDown.Add(ctx, -3, src("trakt")) }},
			},
		},
		{
			name: "slow operation above a 300 s bucket within the window",
			rule: rule("slow", SlowOperation{Threshold: 5 * time.Minute, Window: 5 * time.Minute}),
			steps: []condStep{
				{do: func(h *harness) { h.duration.Record(ctx, 12, src("imdb")); h.duration.Record(ctx, 300, src("tmdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.duration.Record(ctx, 301, src("imdb")) }, want: []string{"source=imdb"}},
				{advance: time.Minute, want: []string{"source=imdb"}},
				{advance: 3 * time.Minute, want: []string{"source=imdb"}},
				{advance: time.Minute}, // the slow sync left the window
				{advance: time.Minute, do: func(h *harness) { h.duration.Record(ctx, 299, src("imdb")) }},
			},
		},
		{
			name: "slow operation for a new series seen after the first evaluation",
			rule: rule("slownew", SlowOperation{Source: "plex", Threshold: 2 * time.Minute, Window: 10 * time.Minute}),
			steps: []condStep{
				{do: func(h *harness) { h.duration.Record(ctx, 1, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.duration.Record(ctx, 500, src("plex")) }, want: []string{"source=plex"}},
			},
		},
		{
			name: "rate above: more than 10 hits per hour",
			rule: rule("rate", RateAbove{Metric: names.APIRateLimitHitsTotal, Threshold: 10, Window: time.Hour}),
			steps: []condStep{
				{do: func(h *harness) { h.hits.Add(ctx, 0, svc("tmdb")); h.hits.Add(ctx, 0, svc("trakt")) }},
				{advance: 10 * time.Minute, do: func(h *harness) { h.hits.Add(ctx, 5, svc("tmdb")); h.hits.Add(ctx, 10, svc("trakt")) }},
				{advance: 10 * time.Minute, do: func(h *harness) { h.hits.Add(ctx, 6, svc("tmdb")) }, want: []string{"service=tmdb"}},
				{advance: 45 * time.Minute, want: []string{"service=tmdb"}}, // all 11 hits are still within the hour
				{advance: 0, do: func(h *harness) { h.hits.Add(ctx, 5, svc("tmdb")) }, want: []string{"service=tmdb"}},
				{advance: 61 * time.Minute},
			},
		},
		{
			name: "rate above by full name, one service",
			rule: rule("ratefull", RateAbove{Metric: names.Default.Name(names.APIRateLimitHitsTotal), Service: "trakt", Threshold: 2, Window: 30 * time.Minute}),
			steps: []condStep{
				{do: func(h *harness) { h.hits.Add(ctx, 0, svc("tmdb")); h.hits.Add(ctx, 0, svc("trakt")) }},
				{advance: time.Minute, do: func(h *harness) { h.hits.Add(ctx, 9, svc("tmdb")); h.hits.Add(ctx, 3, svc("trakt")) }, want: []string{"service=trakt"}},
			},
		},
		{
			name: "rate above survives a counter reset",
			rule: rule("reset", Threshold{Instrument: "host_resets_total", Value: 10, Window: time.Hour}),
			setup: func(h *harness) {
				obsValue.Store(0)
				_, err := h.meter.Int64ObservableCounter("host_resets_total", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
					o.Observe(obsValue.Load(), metric.WithAttributes(attribute.String("service", "plex")))
					return nil
				}))
				if err != nil {
					t.Fatal(err)
				}
			},
			steps: []condStep{
				{do: func(*harness) { obsValue.Store(0) }},
				{advance: time.Minute, do: func(*harness) { obsValue.Store(8) }},
				{advance: time.Minute, do: func(*harness) { obsValue.Store(2) }}, // restart: 2 since
				{advance: time.Minute, do: func(*harness) { obsValue.Store(5) }, want: []string{"service=plex"}},
			},
		},
		{
			name: "service down",
			rule: rule("down", ServiceDown{}),
			steps: []condStep{
				{do: func(h *harness) { h.up.Record(ctx, 1, svc("plex")); h.up.Record(ctx, 0, svc("tmdb")) }, want: []string{"service=tmdb"}},
				{advance: time.Minute, do: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.up.Record(ctx, 1, svc("tmdb")) }, want: []string{"service=plex"}},
			},
		},
		{
			name: "service down, one service",
			rule: rule("down1", ServiceDown{Service: "imdb"}),
			steps: []condStep{
				{do: func(h *harness) { h.up.Record(ctx, 0, svc("plex")); h.up.Record(ctx, 0, svc("imdb")) }, want: []string{"service=imdb"}},
			},
		},
		{
			name: "circuit open: half-open holds a firing alert, closed resolves",
			rule: rule("cb", CircuitOpen{}),
			steps: []condStep{
				{do: func(h *harness) { h.breaker.Record(ctx, 0, svc("tmdb")); h.breaker.Record(ctx, 1, svc("trakt")) }, want: []string{"service=trakt"}},
				{advance: time.Minute, do: func(h *harness) { h.breaker.Record(ctx, 2, svc("tmdb")); h.breaker.Record(ctx, 2, svc("trakt")) }, want: []string{"service=trakt"}},
				{advance: time.Minute, do: func(h *harness) { h.breaker.Record(ctx, 1, svc("trakt")) }, want: []string{"service=trakt"}},
				{advance: time.Minute, do: func(h *harness) { h.breaker.Record(ctx, 0, svc("trakt")) }},
				{advance: time.Minute, do: func(h *harness) { h.breaker.Record(ctx, 2, svc("trakt")) }},
			},
		},
		{
			name: "threshold on a host gauge with attribute matchers",
			rule: rule("queue", Threshold{Instrument: "myapp_queue_depth", Attributes: map[string]string{"queue": "imports"}, Op: OpGreater, Value: 100}),
			setup: func(h *harness) {
				g, err := h.meter.Float64Gauge("myapp_queue_depth")
				if err != nil {
					t.Fatal(err)
				}
				floatGauge = g
			},
			steps: []condStep{
				{do: func(*harness) {
					floatGauge.Record(ctx, 150, metric.WithAttributes(attribute.String("queue", "exports")))
					floatGauge.Record(ctx, 100, metric.WithAttributes(attribute.String("queue", "imports")))
				}},
				{advance: time.Minute, do: func(*harness) {
					floatGauge.Record(ctx, 100.5, metric.WithAttributes(attribute.String("queue", "imports")))
				}, want: []string{"queue=imports"}},
			},
		},
		{
			name: "windowed threshold on a float counter",
			rule: rule("errs", Threshold{Instrument: "myapp_errors_total", Op: OpGreaterEqual, Value: 3, Window: 10 * time.Minute}),
			setup: func(h *harness) {
				c, err := h.meter.Float64Counter("myapp_errors_total")
				if err != nil {
					t.Fatal(err)
				}
				floatCounter = c
			},
			steps: []condStep{
				{do: func(*harness) { floatCounter.Add(ctx, 0) }},
				{advance: 5 * time.Minute, do: func(*harness) { floatCounter.Add(ctx, 2) }},
				{advance: 5 * time.Minute, do: func(*harness) { floatCounter.Add(ctx, 1) }, want: []string{""}},
				{advance: 6 * time.Minute}, // 1 in the last 10 minutes
			},
		},
		{
			name: "threshold on a histogram reads its count",
			rule: rule("histcount", Threshold{Instrument: names.Default.Name(names.SyncDurationSeconds), Op: OpGreaterEqual, Value: 2}),
			steps: []condStep{
				{do: func(h *harness) { h.duration.Record(ctx, 1, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.duration.Record(ctx, 1, src("imdb")) }, want: []string{"source=imdb"}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			if c.setup != nil {
				c.setup(h)
			}
			h.addRules(c.rule)
			for i, s := range c.steps {
				h.clk.Advance(s.advance)
				if s.do != nil {
					s.do(h)
				}
				h.eval()
				if got := h.firing(c.rule.Name); !slices.Equal(got, s.want) {
					t.Fatalf("step %d: firing on %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

var (
	upDown       metric.Int64UpDownCounter
	floatGauge   metric.Float64Gauge
	floatCounter metric.Float64Counter
)

func TestThresholdOperators(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		op   Operator
		str  string
		vals map[float64]bool // value -> holds (threshold 5)
	}{
		{OpGreater, ">", map[float64]bool{4: false, 5: false, 6: true}},
		{OpGreaterEqual, ">=", map[float64]bool{4: false, 5: true, 6: true}},
		{OpLess, "<", map[float64]bool{4: true, 5: false, 6: false}},
		{OpLessEqual, "<=", map[float64]bool{4: true, 5: true, 6: false}},
		{OpEqual, "==", map[float64]bool{4: false, 5: true, 6: false}},
		{OpNotEqual, "!=", map[float64]bool{4: true, 5: false, 6: true}},
	}
	for _, c := range cases {
		t.Run(c.str, func(t *testing.T) {
			if c.op.String() != c.str {
				t.Fatalf("String() = %q", c.op.String())
			}
			h := newHarness(t, Config{})
			g, err := h.meter.Float64Gauge("myapp_level")
			if err != nil {
				t.Fatal(err)
			}
			h.addRules(Rule{Name: "op", Condition: Threshold{Instrument: "myapp_level", Op: c.op, Value: 5}})
			for v := range c.vals {
				g.Record(ctx, v, metric.WithAttributes(attribute.Float64("v", v)))
			}
			h.eval()
			var got []string
			for v, want := range c.vals {
				if want {
					got = append(got, "v="+attribute.Float64Value(v).String())
				}
			}
			slices.Sort(got)
			if f := h.firing("op"); !slices.Equal(f, got) {
				t.Fatalf("firing %q, want %q", f, got)
			}
		})
	}
}

func TestSlowOperationBucketBoundary(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	bad := Rule{Name: "slow250", Condition: SlowOperation{Threshold: 250 * time.Second, Window: 5 * time.Minute}}
	h.addRules(bad, Rule{Name: "down", Condition: ServiceDown{}})
	h.duration.Record(ctx, 260, src("imdb"))
	h.up.Record(ctx, 0, svc("plex"))
	err := h.eng.Evaluate(ctx)
	var re *RuleError
	if !errors.Is(err, ErrNotBucketBoundary) || !errors.As(err, &re) || re.Rule != "slow250" {
		t.Fatalf("Evaluate = %v, want a RuleError wrapping ErrNotBucketBoundary", err)
	}
	if got := h.firing("down"); !slices.Equal(got, []string{"service=plex"}) {
		t.Fatalf("other rules must still be evaluated; down fires on %q", got)
	}
	if !h.logs.Contains("rule cannot be evaluated") {
		t.Fatalf("error not logged: %s", h.logs.String())
	}
	// Now that the histogram has been read, AddRule checks at once.
	bad.Name = "slow250b"
	if err := h.eng.AddRule(bad); !errors.Is(err, ErrNotBucketBoundary) {
		t.Fatalf("AddRule = %v, want ErrNotBucketBoundary", err)
	}
	good := bad
	good.Name, good.Condition = "slow300", SlowOperation{Threshold: 300 * time.Second, Window: 5 * time.Minute}
	if err := h.eng.AddRule(good); err != nil {
		t.Fatalf("AddRule(300 s) = %v", err)
	}
}

func TestSlowOperationOnGaugeIsUnsupported(t *testing.T) {
	h := newHarness(t, Config{}, WithNamespace("app", ""))
	g, err := h.meter.Float64Gauge("app_sync_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	h.addRules(Rule{Name: "slow", Condition: SlowOperation{Threshold: time.Minute, Window: time.Minute}})
	g.Record(context.Background(), 100)
	if err := h.eng.Evaluate(context.Background()); !errors.Is(err, ErrUnsupportedInstrument) {
		t.Fatalf("Evaluate = %v, want ErrUnsupportedInstrument", err)
	}
}

func TestNamespaceOption(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{}, WithNamespace("sonarr", "imports"))
	if h.eng.Prefix() != "sonarr_imports_" {
		t.Fatalf("Prefix = %q", h.eng.Prefix())
	}
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("tvdb")) // harness instruments follow the engine's prefix
	h.eval()
	if got := h.firing(RuleServiceDown); !slices.Equal(got, []string{"service=tvdb"}) {
		t.Fatalf("service_down fires on %q", got)
	}
}

func TestDisabledRuleIsNotEvaluated(t *testing.T) {
	h := newHarness(t, Config{})
	r := Rule{Name: "down", Condition: ServiceDown{}, Disabled: true}
	h.addRules(r)
	h.up.Record(context.Background(), 0, svc("plex"))
	h.eval()
	if got := h.firing("down"); len(got) != 0 {
		t.Fatalf("disabled rule fired on %q", got)
	}
	r.Disabled = false
	if err := h.eng.UpdateRule(r); err != nil {
		t.Fatal(err)
	}
	h.eval()
	if got := h.firing("down"); len(got) != 1 {
		t.Fatalf("enabled rule fires on %q", got)
	}
}

func TestFailingCallbackDoesNotStopEvaluation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	_, err := h.mp.Meter("broken").Int64ObservableGauge("host_broken", metric.WithInt64Callback(func(context.Context, metric.Int64Observer) error {
		return errors.New("database unreachable")
	}))
	if err != nil {
		t.Fatal(err)
	}
	h.up.Record(ctx, 0, svc("plex"))
	err = h.eng.Evaluate(ctx)
	if err == nil || !strings.Contains(err.Error(), "database unreachable") {
		t.Fatalf("Evaluate = %v, want the callback's error", err)
	}
	if got := h.firing(RuleServiceDown); !slices.Equal(got, []string{"service=plex"}) {
		t.Fatalf("service_down fires on %q", got)
	}
}
