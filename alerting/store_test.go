package alerting

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

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
