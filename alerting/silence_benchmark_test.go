package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// BenchmarkCreateSilence measures creating a silence through the engine
// (then expiring it), with 100 alerts firing: what the engine adds to the
// store's work (see silence.BenchmarkCreateLargest), the silence saved with
// the state and every active alert muted or unmuted at once.
func BenchmarkCreateSilence(b *testing.B) {
	ctx := context.Background()
	eng, clk := benchEngine(b, DefaultRules())
	if err := eng.Evaluate(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := eng.CreateSilence(Silence{Matchers: []Matcher{{Name: "service", Value: "service-100|service-200", Type: MatchRegexp}},
			EndsAt: clk.Now().Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.ExpireSilence(got.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// largestTextSilence returns silence i at the most text the bounds b allow,
// in MaxMatchers equality matchers and a comment: the most bytes of state
// file a silence can take.
func largestTextSilence(b SilenceConfig, i int) Silence {
	s := Silence{CreatedBy: fmt.Sprintf("user-%06d", i)}
	per := (b.MaxSize - len(s.CreatedBy) - 6) / b.MaxMatchers // bytes of text per matcher
	for j := range b.MaxMatchers {
		s.Matchers = append(s.Matchers, Matcher{Name: fmt.Sprintf("l%02d", j), Value: fmt.Sprintf("%06d", i) + strings.Repeat("v", per-9)})
	}
	used := len(s.CreatedBy) + b.MaxMatchers*per
	s.Comment = fmt.Sprintf("%06d", i) + strings.Repeat("c", b.MaxSize-used-6)
	return s
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
	for i := range 2 * bounds.MaxSilences {
		s := largestTextSilence(bounds, i)
		end := t0.Add(time.Hour)
		if i%2 == 1 {
			end = t0.Add(-time.Minute) // expired
		}
		s.ID, s.StartsAt, s.EndsAt, s.UpdatedAt = fmt.Sprintf("s-%06d", i), t0.Add(-time.Hour), end, t0
		sf.Silences = append(sf.Silences, saveSilence(&s))
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
