package alerting

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/syncbuf"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// durationBuckets are the sync duration histogram's boundaries in the
// reference service (seconds).
var durationBuckets = []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// harness is an engine on a real MeterProvider with the project's
// instruments, a fake clock and a recording notifier whose queue tests read
// directly (the engine is not started unless a test starts it).
type harness struct {
	t     *testing.T
	clk   *clock.Fake
	eng   *Engine
	mp    *sdkmetric.MeterProvider
	other *sdkmetric.ManualReader // a second reader, to read the engine's own metrics
	rec   *recorder
	logs  *syncbuf.Buffer

	failures metric.Int64Gauge
	up       metric.Int64Gauge
	breaker  metric.Int64Gauge
	hits     metric.Int64Counter
	duration metric.Float64Histogram
	meter    metric.Meter
}

func newHarness(t *testing.T, cfg Config, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(t0), rec: newRecorder("rec"), logs: &syncbuf.Buffer{}}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]Option{WithClock(h.clk), WithLogger(logger), WithNotifier(h.rec)}, opts...)
	eng, err := New(cfg, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.eng = eng
	h.other = sdkmetric.NewManualReader()
	h.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()), sdkmetric.WithReader(h.other))
	if err := eng.Instrument(h.mp); err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A test that shut the engine down has checked the result, which a
		// second Shutdown repeats; here only a hang is an error.
		if err := eng.Shutdown(ctx); err != nil && ctx.Err() != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := h.mp.Shutdown(ctx); err != nil {
			t.Errorf("MeterProvider.Shutdown: %v", err)
		}
	})
	p := names.Prefix(eng.Prefix())
	h.meter = h.mp.Meter("test")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	h.failures, err = h.meter.Int64Gauge(p.Name(names.ConsecutiveFailures))
	must(err)
	h.up, err = h.meter.Int64Gauge(p.Name(names.ServiceUp))
	must(err)
	h.breaker, err = h.meter.Int64Gauge(p.Name(names.CircuitBreakerState))
	must(err)
	h.hits, err = h.meter.Int64Counter(p.Name(names.APIRateLimitHitsTotal))
	must(err)
	h.duration, err = h.meter.Float64Histogram(p.Name(names.SyncDurationSeconds), metric.WithExplicitBucketBoundaries(durationBuckets...))
	must(err)
	return h
}

func src(s string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(names.AttrSource, s))
}

func svc(s string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(names.AttrService, s))
}

func (h *harness) addRules(rules ...Rule) {
	h.t.Helper()
	for _, r := range rules {
		if err := h.eng.AddRule(r); err != nil {
			h.t.Fatalf("AddRule(%s): %v", r.Name, err)
		}
	}
}

func (h *harness) eval() {
	h.t.Helper()
	if err := h.eng.Evaluate(context.Background()); err != nil {
		h.t.Fatalf("Evaluate: %v", err)
	}
}

// step advances the clock by d and evaluates.
func (h *harness) step(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	h.eval()
}

// drain returns the notifications queued for the recorder (engine not
// started).
func (h *harness) drain() []Alert { return h.drainOf(0) }

// drainOf returns and empties what is queued for the i-th notifier
// (engine not started).
func (h *harness) drainOf(i int) []Alert {
	d := h.eng.dispatch.deliverers[i]
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.queue
	d.queue = nil
	return out
}

// firing returns the sorted label descriptions of rule's firing alerts.
func (h *harness) firing(rule string) []string {
	var out []string
	for _, a := range h.eng.Alerts(Filter{Rule: rule, States: []State{Firing}}) {
		out = append(out, describeLabels(a.Labels))
	}
	slices.Sort(out)
	return out
}

func (h *harness) only(rule string) Alert {
	h.t.Helper()
	as := h.eng.Alerts(Filter{Rule: rule, IncludeResolved: true})
	if len(as) != 1 {
		h.t.Fatalf("rule %s: %d alerts, want 1: %+v", rule, len(as), as)
	}
	return as[0]
}

// counter reads one of the engine's own counters for a notifier.
func (h *harness) counter(suffix, notifier string) int64 {
	h.t.Helper()
	return readInt(h.t, h.other, names.Default.Name(suffix), attribute.String(names.AttrNotifier, notifier))
}

func readInt(t *testing.T, r *sdkmetric.ManualReader, name string, kv attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var pts []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				pts = d.DataPoints
			case metricdata.Gauge[int64]:
				pts = d.DataPoints
			}
			for _, p := range pts {
				if v, ok := p.Attributes.Value(kv.Key); ok && v == kv.Value {
					return p.Value
				}
			}
		}
	}
	return 0
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// recorder is a Notifier that records what it gets and can be told how to
// answer.
type recorder struct {
	name string
	ch   chan Alert

	mu    sync.Mutex
	got   []Alert
	calls int
	reply func(call int, a Alert) error // nil: succeed
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, ch: make(chan Alert, 256)}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Notify(ctx context.Context, a Alert) error {
	r.mu.Lock()
	r.calls++
	call, reply := r.calls, r.reply
	r.mu.Unlock()
	if reply != nil {
		if err := reply(call, a); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.got = append(r.got, a)
	r.mu.Unlock()
	r.ch <- a
	return nil
}

func (r *recorder) setReply(f func(call int, a Alert) error) {
	r.mu.Lock()
	r.reply = f
	r.mu.Unlock()
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// next waits for the next delivered notification. The timeout only keeps a
// broken test from hanging; correctness never depends on it.
func (r *recorder) next(t *testing.T) Alert {
	t.Helper()
	select {
	case a := <-r.ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("notifier %s: no notification", r.name)
		return Alert{}
	}
}

func summary(as []Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Rule + ":" + a.State.String() + ":" + describeLabels(a.Labels)
	}
	return out
}
