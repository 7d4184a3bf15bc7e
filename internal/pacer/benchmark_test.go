package pacer

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

// BenchmarkWaitObserve measures one request's way through the pacer: Wait
// for a slot, then Observe its answer. Time is real, so a paced limiter
// refills; its rate is far above what a benchmark reaches, so nothing
// sleeps and what is measured is the bookkeeping.
func BenchmarkWaitObserve(b *testing.B) {
	ctx := context.Background()
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for _, bc := range []struct {
		name string
		cfg  Config
		h    http.Header
	}{
		{"unpaced", Config{}, http.Header{}},
		{"paced", Config{Rate: 1e9, Burst: 1 << 20}, http.Header{}},
		{"budget headers", Config{Rate: 1e9, Burst: 1 << 20},
			header("X-RateLimit-Remaining", "1000000000000000", "X-RateLimit-Reset", reset)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := New(bc.cfg, clock.Real{})
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Wait(ctx, false); err != nil {
					b.Fatal(err)
				}
				p.Observe(false, http.StatusOK, bc.h)
			}
		})
	}
}

// BenchmarkWaitObserveParallel is the unpaced hot path from every core.
func BenchmarkWaitObserveParallel(b *testing.B) {
	p := New(Config{}, clock.Real{})
	h := http.Header{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.Wait(context.Background(), false); err != nil {
				b.Error(err)
				return
			}
			p.Observe(false, http.StatusOK, h)
		}
	})
}
