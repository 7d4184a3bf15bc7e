package alerting

import (
	"context"
	"fmt"
	"testing"
	"time"
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
