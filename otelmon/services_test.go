package otelmon

import (
	"testing"
	"time"

	"github.com/listsync/otelmon/breaker"
)

// The per-service breaker defaults are the reference service's; an
// override changes only the fields it sets.
func TestDefaultBreakerConfigFor(t *testing.T) {
	for _, tc := range []struct {
		service       string
		failures      int
		open, request time.Duration
	}{
		{"imdb", 5, 60 * time.Second, 30 * time.Second},
		{"tmdb", 3, 30 * time.Second, 10 * time.Second},
		{"trakt", 3, 45 * time.Second, 15 * time.Second},
		{"plex", 2, 30 * time.Second, 20 * time.Second},
		{"letterboxd", 5, 60 * time.Second, 30 * time.Second},
		{"", 5, 60 * time.Second, 30 * time.Second},
	} {
		t.Run(tc.service, func(t *testing.T) {
			want := breaker.Config{FailureThreshold: tc.failures, OpenTimeout: tc.open, RequestTimeout: tc.request}
			if got := DefaultBreakerConfigFor(tc.service); got != want {
				t.Fatalf("DefaultBreakerConfigFor(%q) = %+v, want %+v", tc.service, got, want)
			}
		})
	}

	cfg := DefaultConfig()
	cfg.CircuitBreakers = map[string]breaker.Config{"tmdb": {OpenTimeout: 5 * time.Second}}
	m, _ := newTestMonitor(t, cfg, WithAPIKey(testKey))
	b, err := m.Breaker("tmdb")
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Config(); c.FailureThreshold != 3 || c.OpenTimeout != 5*time.Second || c.RequestTimeout != 10*time.Second {
		t.Errorf("tmdb with an OpenTimeout override: %+v, want tmdb's defaults but a 5 s open timeout", c)
	}
}
