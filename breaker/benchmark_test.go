package breaker

import (
	"context"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// The benchmarks compare Execute with sony/gobreaker v2's Execute in the same
// run. Compare implementations with:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./breaker/ > bench.txt
//	benchstat -col /impl bench.txt

var (
	benchOK   = func(context.Context) error { return nil }
	benchGoOK = func() (struct{}, error) { return struct{}{}, nil }
)

func newBench(b *testing.B, cfg Config) *Breaker {
	br, err := New("bench", cfg)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

func newGoBench(tripped bool) *gobreaker.CircuitBreaker[struct{}] {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "bench",
		Timeout:     time.Hour,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
	})
	if tripped {
		cb.Execute(func() (struct{}, error) { return struct{}{}, errBoom })
	}
	return cb
}

// BenchmarkClosed is a successful call through a closed breaker, one
// goroutine.
func BenchmarkClosed(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, Config{})
		b.ReportAllocs()
		for b.Loop() {
			br.Execute(ctx, benchOK)
		}
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb := newGoBench(false)
		b.ReportAllocs()
		for b.Loop() {
			cb.Execute(benchGoOK)
		}
	})
}

// BenchmarkClosedParallel is BenchmarkClosed from GOMAXPROCS goroutines.
func BenchmarkClosedParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, Config{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(ctx, benchOK)
			}
		})
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb := newGoBench(false)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cb.Execute(benchGoOK)
			}
		})
	})
}

// BenchmarkClosedRequestTimeout is a closed call with a request timeout; the
// gobreaker case derives the same context inside its closure.
func BenchmarkClosedRequestTimeout(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, Config{RequestTimeout: 30 * time.Second})
		b.ReportAllocs()
		for b.Loop() {
			br.Execute(ctx, benchOK)
		}
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb := newGoBench(false)
		fn := func() (struct{}, error) {
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return struct{}{}, benchOK(c)
		}
		b.ReportAllocs()
		for b.Loop() {
			cb.Execute(fn)
		}
	})
}

// BenchmarkRejectOpen is a call rejected by an open breaker, from
// GOMAXPROCS goroutines.
func BenchmarkRejectOpen(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, Config{FailureThreshold: 1, OpenTimeout: time.Hour})
		br.Execute(ctx, fail)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(ctx, benchOK)
			}
		})
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb := newGoBench(true)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cb.Execute(benchGoOK)
			}
		})
	})
}

// BenchmarkTwoStep is Allow, Done and Release on a closed breaker, against
// gobreaker's TwoStepCircuitBreaker.
func BenchmarkTwoStep(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, Config{})
		b.ReportAllocs()
		for b.Loop() {
			t, _, err := br.Allow(ctx)
			if err == nil {
				t.Done(nil)
				t.Release()
			}
		}
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench"})
		b.ReportAllocs()
		for b.Loop() {
			done, err := cb.Allow()
			if err == nil {
				done(nil)
			}
		}
	})
}

// BenchmarkDo is the generic form on a closed breaker.
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	br := newBench(b, Config{})
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		Do(ctx, br, fn)
	}
}

// BenchmarkRegistryGet is the lookup of an existing breaker, from
// GOMAXPROCS goroutines.
func BenchmarkRegistryGet(b *testing.B) {
	r := NewRegistry(nil)
	for _, s := range []string{"imdb", "tmdb", "trakt", "plex"} {
		r.Get(s)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Get("trakt")
		}
	})
}
