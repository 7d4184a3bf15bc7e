package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

func TestRegistryGet(t *testing.T) {
	r := NewRegistry(map[string]Config{
		"tmdb":       {OpenTimeout: 5 * time.Second},
		"letterboxd": {FailureThreshold: 7, RequestTimeout: time.Second},
	})
	for _, tc := range []struct {
		service string
		want    Config // before defaults
	}{
		{"imdb", DefaultConfigFor("imdb")},
		{"tmdb", Config{FailureThreshold: 3, OpenTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second}},
		{"trakt", DefaultConfigFor("trakt")},
		{"plex", DefaultConfigFor("plex")},
		{"letterboxd", Config{FailureThreshold: 7, OpenTimeout: time.Minute, RequestTimeout: time.Second}},
		{"other", DefaultConfigFor("other")},
	} {
		t.Run(tc.service, func(t *testing.T) {
			b, err := r.Get(tc.service)
			if err != nil {
				t.Fatal(err)
			}
			if b.Name() != tc.service {
				t.Fatalf("Name() = %q", b.Name())
			}
			if got, want := b.Config(), tc.want.resolve(); got != want {
				t.Fatalf("Config() = %+v, want %+v", got, want)
			}
			again, _ := r.Get(tc.service)
			if again != b {
				t.Fatal("Get returned a new breaker for an existing name")
			}
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	r := NewRegistry(map[string]Config{"bad": {FailureThreshold: -1}}, WithMaxBreakers(2))
	if _, err := r.Get(""); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Get(\"\") = %v, want ErrInvalidConfig", err)
	}
	if _, err := r.Get("bad"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Get(bad) = %v, want ErrInvalidConfig", err)
	}
	for _, s := range []string{"a", "b"} {
		if _, err := r.Get(s); err != nil {
			t.Fatalf("Get(%q): %v (failed Gets must not count toward the limit)", s, err)
		}
	}
	_, err := r.Get("c")
	if !errors.Is(err, ErrRegistryFull) {
		t.Fatalf("Get beyond the limit = %v, want ErrRegistryFull", err)
	}
	if _, err := r.Get("a"); err != nil {
		t.Fatalf("existing breaker after the limit: %v", err)
	}
	if n := len(r.Breakers()); n != 2 {
		t.Fatalf("%d breakers, want 2", n)
	}
}

func TestRegistryDefaultLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"no option", nil},
		{"zero", []Option{WithMaxBreakers(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(nil, tc.opts...)
			for i := range DefaultMaxBreakers {
				if _, err := r.Get(fmt.Sprint("svc", i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := r.Get("one-more"); !errors.Is(err, ErrRegistryFull) {
				t.Fatalf("err = %v, want ErrRegistryFull", err)
			}
		})
	}
}

// Invalid options given to NewRegistry are reported by every Get, the
// registry-only WithMaxBreakers included.
func TestRegistryInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		opt   Option
		field string
	}{
		{WithMaxBreakers(-1), "WithMaxBreakers"},
		{WithOpenTimeoutOverride(-time.Second), "WithOpenTimeoutOverride"},
		{WithJitter(2), "WithJitter"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := NewRegistry(nil, tc.opt)
			b, err := r.Get("tmdb")
			var ce *ConfigError
			if b != nil || !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Get = %v, %v; want a *ConfigError for %s", b, err, tc.field)
			}
		})
	}
}

func TestRegistryBreakersSorted(t *testing.T) {
	r := NewRegistry(nil)
	for _, s := range []string{"trakt", "imdb", "plex", "tmdb"} {
		r.Get(s)
	}
	var names []string
	for _, b := range r.Breakers() {
		names = append(names, b.Name())
	}
	if fmt.Sprint(names) != "[imdb plex tmdb trakt]" {
		t.Fatalf("Breakers() = %v", names)
	}
	stats := r.Stats()
	if len(stats) != 4 || stats[0].Name != "imdb" || stats[3].State != Closed {
		t.Fatalf("Stats() = %+v", stats)
	}
}

func TestRegistrySetMode(t *testing.T) {
	r := NewRegistry(nil, WithMode(ModeMetricsOnly))
	imdb, _ := r.Get("imdb")
	if imdb.Mode() != ModeMetricsOnly || r.Mode() != ModeMetricsOnly {
		t.Fatalf("initial mode %v / %v", imdb.Mode(), r.Mode())
	}
	r.SetMode(ModeForcedOpen)
	tmdb, _ := r.Get("tmdb")
	for _, b := range []*Breaker{imdb, tmdb} {
		if b.Mode() != ModeForcedOpen || b.State() != Open {
			t.Fatalf("%s: mode %v state %v, want forced open", b.Name(), b.Mode(), b.State())
		}
	}
	r.SetMode(Mode(42))
	if r.Mode() != ModeForcedOpen {
		t.Fatalf("unknown mode accepted: %v", r.Mode())
	}
}

func TestRegistrySharedOptions(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var events []string
	r := NewRegistry(map[string]Config{"plex": {OpenTimeout: time.Hour}},
		WithClock(fc), WithJitter(0), WithOpenTimeoutOverride(3*time.Second),
		WithStateListener(func(ev StateChange) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev.Name+":"+ev.To.String())
		}))
	for _, s := range []string{"plex", "tmdb"} {
		b, _ := r.Get(s)
		if got := b.Config().OpenTimeout; got != 3*time.Second {
			t.Fatalf("%s OpenTimeout = %v, want the override", s, got)
		}
		run(b, b.Config().FailureThreshold, fail)
	}
	fc.Advance(3 * time.Second)
	for _, b := range r.Breakers() {
		wantState(t, b, HalfOpen)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != "[plex:open tmdb:open plex:half-open tmdb:half-open]" {
		t.Fatalf("events %v", events)
	}
}

func TestRegistryOverridesCopied(t *testing.T) {
	overrides := map[string]Config{"tmdb": {FailureThreshold: 9}}
	r := NewRegistry(overrides)
	overrides["tmdb"] = Config{FailureThreshold: 1}
	b, _ := r.Get("tmdb")
	if b.Config().FailureThreshold != 9 {
		t.Fatalf("FailureThreshold = %d: registry shares the caller's map", b.Config().FailureThreshold)
	}
}

func TestRegistryConcurrentGet(t *testing.T) {
	r := NewRegistry(nil)
	services := []string{"imdb", "tmdb", "trakt", "plex"}
	got := make([][]*Breaker, 16)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			for i := range 200 {
				b, err := r.Get(services[(g+i)%len(services)])
				if err != nil {
					t.Error(err)
					return
				}
				b.Execute(context.Background(), succeed)
				if i < len(services) {
					got[g] = append(got[g], b)
				}
			}
		})
	}
	wg.Go(func() { r.SetMode(ModeMetricsOnly) })
	wg.Wait()
	if n := len(r.Breakers()); n != 4 {
		t.Fatalf("%d breakers, want 4", n)
	}
	for g := range got {
		for _, b := range got[g] {
			if again, _ := r.Get(b.Name()); again != b {
				t.Fatalf("two breakers named %q", b.Name())
			}
		}
	}
}
