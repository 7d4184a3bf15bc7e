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

// tmdbConfig is otelmon's tmdb breaker: 3 failures, 30 s open, 10 s
// request timeout.
var tmdbConfig = Config{FailureThreshold: 3, OpenTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second}

// configs is a RegistryConfig.ConfigFor with one known name.
func configs(name string) Config {
	if name == "tmdb" {
		return tmdbConfig
	}
	return Config{}
}

// A new breaker gets the configuration ConfigFor gives its name; a
// registry without ConfigFor gives every name the zero Config.
func TestRegistryGet(t *testing.T) {
	r := NewRegistry(RegistryConfig{ConfigFor: configs})
	for _, tc := range []struct {
		service string
		want    Config // before defaults
	}{
		{"tmdb", tmdbConfig},
		{"letterboxd", Config{}},
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
	r := NewRegistry(RegistryConfig{MaxBreakers: 2, ConfigFor: func(name string) Config {
		if name == "bad" {
			return Config{FailureThreshold: -1}
		}
		return Config{}
	}})
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
	r := NewRegistry(RegistryConfig{})
	for _, tc := range []struct {
		name string
	}{
		{"zero MaxBreakers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
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

// Invalid options and a negative MaxBreakers given to NewRegistry are
// reported by every Get.
func TestRegistryInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		cfg   RegistryConfig
		opt   Option
		field string
	}{
		{RegistryConfig{MaxBreakers: -1}, nil, "MaxBreakers"},
		{RegistryConfig{}, WithOpenTimeoutOverride(-time.Second), "WithOpenTimeoutOverride"},
		{RegistryConfig{}, WithJitter(2), "WithJitter"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := NewRegistry(tc.cfg, tc.opt)
			b, err := r.Get("tmdb")
			var ce *ConfigError
			if b != nil || !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Get = %v, %v; want a *ConfigError for %s", b, err, tc.field)
			}
		})
	}
}

func TestRegistryBreakersSorted(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
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
	r := NewRegistry(RegistryConfig{}, WithMode(ModeMetricsOnly))
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
	r := NewRegistry(RegistryConfig{ConfigFor: func(string) Config { return Config{OpenTimeout: time.Hour} }},
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

func TestRegistryConcurrentGet(t *testing.T) {
	r := NewRegistry(RegistryConfig{})
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
