package otelmon

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/otelmon/internal/history"
)

// filledMonitor returns a Monitor whose history holds 24 hours of one sync
// a minute for each of n sources.
func filledMonitor(b *testing.B, n int) (*Monitor, *clock.Fake) {
	b.Helper()
	m, clk := newTestMonitor(b, DefaultConfig(), WithAPIKey(testKey))
	ctx := context.Background()
	sources := make([]string, n)
	for i := range sources {
		sources[i] = fmt.Sprintf("source-%03d", i)
	}
	for minute := range 24 * 60 {
		for i, s := range sources {
			m.RecordSyncOperation(ctx, s, (minute+i)%10 != 0, time.Duration(1+i%30)*time.Second, 1, 1, 10)
		}
		clk.Advance(time.Minute)
		m.hist.Collect(clk.Now().Add(-1))
	}
	return m, clk
}

// BenchmarkHistory24h measures GET /history?range=24h for 100 sources with
// 24 hours of one sync a minute each: the handler as served, and its JSON
// encoding against the obvious alternative, encoding/json on []*float64
// series (nil for null).
func BenchmarkHistory24h(b *testing.B) {
	m, _ := filledMonitor(b, 100)
	h := m.Handler()
	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/api/v3/monitoring/history?range=24h", nil)
		req.Header.Set("X-Api-Key", testKey)
		var size int
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
			size = rec.Body.Len()
		}
		b.ReportMetric(float64(size), "B/response")
	})
	rg, _ := history.ParseRange("24h")
	b.Run("encode-numbers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := m.hist.Snapshot("24h", rg, m.clock.Now())
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-pointers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := m.hist.Snapshot("24h", rg, m.clock.Now())
			if _, err := json.Marshal(pointerHistory(out)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// pointerHistory is history.JSON with []*float64 series, as encoding/json
// would have it without history.Numbers.
func pointerHistory(h history.JSON) any {
	ptrs := func(ns history.Numbers) []*float64 {
		out := make([]*float64, len(ns))
		for i, v := range ns {
			if !math.IsNaN(float64(v)) {
				f := float64(v)
				out[i] = &f
			}
		}
		return out
	}
	type src struct{ Succeeded, Failed, DurationSeconds []*float64 }
	type svc struct {
		Requests, RateLimited, LatencyP50Seconds, LatencyP95Seconds, Up []*float64
		Breaker                                                         []string
	}
	sources := map[string]src{}
	for k, s := range h.Sources {
		sources[k] = src{ptrs(s.Succeeded), ptrs(s.Failed), ptrs(s.DurationSeconds)}
	}
	services := map[string]svc{}
	for k, s := range h.Services {
		services[k] = svc{ptrs(s.Requests), ptrs(s.RateLimited), ptrs(s.LatencyP50Seconds), ptrs(s.LatencyP95Seconds), ptrs(s.Up), s.Breaker}
	}
	return struct {
		H        history.JSON
		Sources  map[string]src
		Services map[string]svc
	}{history.JSON{Range: h.Range, StepSeconds: h.StepSeconds, Start: h.Start, End: h.End, Alerts: h.Alerts}, sources, services}
}
