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

// benchConfigs are the configurations every comparison runs with: none has
// no request timeout; tmdb is what the Monitor builds for TMDb (3 failures,
// 30 s open, 10 s request timeout), the shape of every breaker it builds.
var benchConfigs = []struct {
	name string
	cfg  Config
}{
	{"none", Config{FailureThreshold: 3, OpenTimeout: 30 * time.Second}},
	{"tmdb", tmdbConfig},
}

func newBench(b *testing.B, cfg Config) *Breaker {
	br, err := New("bench", cfg)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// newGoBench returns the gobreaker equivalent of cfg, and the function it
// executes: with a request timeout, the closure derives the same context as
// Execute does.
func newGoBench(cfg Config, tripped bool) (*gobreaker.CircuitBreaker[struct{}], func() (struct{}, error)) {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "bench",
		Timeout:     cfg.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(cfg.FailureThreshold) },
	})
	if tripped {
		for range cfg.FailureThreshold {
			cb.Execute(func() (struct{}, error) { return struct{}{}, errBoom })
		}
	}
	fn := benchGoOK
	if d := cfg.RequestTimeout; d > 0 {
		ctx := context.Background()
		fn = func() (struct{}, error) {
			c, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return struct{}{}, benchOK(c)
		}
	}
	return cb, fn
}

// BenchmarkClosed is a successful call through a closed breaker, one
// goroutine.
func BenchmarkClosed(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchConfigs {
		b.Run("cfg="+c.name+"/impl=otelmon", func(b *testing.B) {
			br := newBench(b, c.cfg)
			b.ReportAllocs()
			for b.Loop() {
				br.Execute(ctx, benchOK)
			}
		})
		b.Run("cfg="+c.name+"/impl=gobreaker", func(b *testing.B) {
			cb, fn := newGoBench(c.cfg, false)
			b.ReportAllocs()
			for b.Loop() {
				cb.Execute(fn)
			}
		})
	}
}

// BenchmarkClosedParallel is BenchmarkClosed from GOMAXPROCS goroutines.
func BenchmarkClosedParallel(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchConfigs {
		b.Run("cfg="+c.name+"/impl=otelmon", func(b *testing.B) {
			br := newBench(b, c.cfg)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					br.Execute(ctx, benchOK)
				}
			})
		})
		b.Run("cfg="+c.name+"/impl=gobreaker", func(b *testing.B) {
			cb, fn := newGoBench(c.cfg, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cb.Execute(fn)
				}
			})
		})
	}
}

// BenchmarkRejectOpen is a call rejected by an open breaker, from
// GOMAXPROCS goroutines.
func BenchmarkRejectOpen(b *testing.B) {
	ctx := context.Background()
	for _, c := range benchConfigs {
		b.Run("cfg="+c.name+"/impl=otelmon", func(b *testing.B) {
			br := newBench(b, c.cfg)
			for range c.cfg.FailureThreshold {
				br.Execute(ctx, fail)
			}
			if br.State() != Open {
				b.Fatal("breaker did not open")
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					br.Execute(ctx, benchOK)
				}
			})
		})
		b.Run("cfg="+c.name+"/impl=gobreaker", func(b *testing.B) {
			cb, fn := newGoBench(c.cfg, true)
			if cb.State() != gobreaker.StateOpen {
				b.Fatal("gobreaker did not open")
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cb.Execute(fn)
				}
			})
		})
	}
}

// BenchmarkCallerDeadline is a closed call with the tmdb request timeout
// (10 s) from a caller whose context ends sooner (5 s), as an http.Client
// with a shorter Timeout gives: no request-timeout timer is needed.
func BenchmarkCallerDeadline(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := tmdbConfig
	b.Run("impl=otelmon", func(b *testing.B) {
		br := newBench(b, cfg)
		b.ReportAllocs()
		for b.Loop() {
			br.Execute(ctx, benchOK)
		}
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		cb, _ := newGoBench(Config{FailureThreshold: cfg.FailureThreshold, OpenTimeout: cfg.OpenTimeout}, false)
		fn := func() (struct{}, error) {
			c, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
			defer cancel()
			return struct{}{}, benchOK(c)
		}
		b.ReportAllocs()
		for b.Loop() {
			cb.Execute(fn)
		}
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
	r := NewRegistry(RegistryConfig{})
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
