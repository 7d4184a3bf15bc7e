package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// BenchmarkEvaluateSilenced measures an evaluation of the default rules
// over 10,000 series (about 100 alerts firing) without silences and with
// 100 active silences, half equality and half regular expressions, on the
// 25 failing sources and services (so about 75 alerts are muted): the cost
// of muting is the difference, in the same run.
func BenchmarkEvaluateSilenced(b *testing.B) {
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("silences=%d", n), func(b *testing.B) {
			ctx := context.Background()
			eng, clk := benchEngine(b, DefaultRules())
			for i := range n {
				m := Matcher{Name: "source", Value: fmt.Sprintf("source-%d", i%25*100)}
				if i%2 == 1 {
					m = Matcher{Name: "service", Value: fmt.Sprintf("service-%d|nothing-%d", i%25*100, i), Type: MatchRegexp}
				}
				if _, err := eng.CreateSilence(Silence{Matchers: []Matcher{m}, EndsAt: clk.Now().Add(24 * time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clk.Advance(time.Minute)
				if err := eng.Evaluate(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			muted := 0
			for _, a := range eng.Active() {
				if a.SilencedBy != nil {
					muted++
				}
			}
			if n > 0 && muted < 50 {
				b.Fatalf("%d alerts muted, want at least 50", muted)
			}
		})
	}
}

// BenchmarkCreateLargestSilence measures creating a silence at the largest
// the default bounds accept, of the shape that costs the most compiled
// (then expiring it, so that the engine stays below MaxSilences).
func BenchmarkCreateLargestSilence(b *testing.B) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	for _, shape := range silenceShapes {
		b.Run(shape.name, func(b *testing.B) {
			largest := largestSilence(cfg.Silences, shape.ms)
			if largest == nil {
				b.Skip("the bounds refuse every silence of this shape")
			}
			clk := clock.NewFake(t0)
			eng, err := New(Config{}, WithClock(clk))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := largest(i % 1_000_000)
				i++
				s.EndsAt = clk.Now().Add(time.Hour)
				got, err := eng.CreateSilence(s)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := eng.ExpireSilence(got.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcknowledgeFullState measures an acknowledgement, which rewrites
// the state file, when the file holds MaxSilences active and as many
// expired silences at the largest MaxSize allows.
func BenchmarkAcknowledgeFullState(b *testing.B) {
	ctx := context.Background()
	cfg, err := Config{}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	bounds := cfg.Silences
	path := filepath.Join(b.TempDir(), "alerts.json")
	sf := stateFile{Version: stateVersion}
	largest := largestSilence(bounds, silenceShapes[0].ms) // text alone: the most bytes to write
	for i := range 2 * bounds.MaxSilences {
		s := largest(i)
		end := t0.Add(time.Hour)
		if i%2 == 1 {
			end = t0.Add(-time.Minute) // expired
		}
		sf.Silences = append(sf.Silences, savedSilence{ID: fmt.Sprintf("s-%06d", i), Matchers: toSaved(s.Matchers),
			StartsAt: t0.Add(-time.Hour), EndsAt: end, UpdatedAt: t0, CreatedBy: s.CreatedBy, Comment: s.Comment})
	}
	data, err := json.Marshal(sf)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(t0)
	eng, err := New(Config{StatePath: path}, WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	b.Cleanup(func() {
		_ = eng.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	})
	if got := len(eng.Silences()); got != 2*bounds.MaxSilences {
		b.Fatalf("%d silences read, want %d", got, 2*bounds.MaxSilences)
	}
	up, _ := mp.Meter("bench").Int64Gauge(names.Default.Name(names.ServiceUp))
	up.Record(ctx, 0, metric.WithAttributes(attribute.String(names.AttrService, "imdb")))
	var rule Rule
	for _, r := range DefaultRules() {
		if r.Name == RuleServiceDown {
			rule = r
		}
	}
	if err := eng.AddRule(rule); err != nil {
		b.Fatal(err)
	}
	if err := eng.Evaluate(ctx); err != nil {
		b.Fatal(err)
	}
	active := eng.Active()
	if len(active) != 1 {
		b.Fatalf("%d alerts active, want 1", len(active))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Acknowledge(active[0].ID, "alice", "looking"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data))/(1<<20), "MiB-state")
}
