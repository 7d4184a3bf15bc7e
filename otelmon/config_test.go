package otelmon

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
)

// A zero Config, or a literal that sets a few fields, gets the defaults of
// every field it leaves out: the default alert rules and both timing
// histograms included.
func TestConfigZeroValuesAreDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want func(*Config) // the effective config, from DefaultConfig
	}{
		{"zero", Config{}, func(*Config) {}},
		{"default", DefaultConfig(), func(*Config) {}},
		{
			"partial literal",
			Config{
				Metrics:                 MetricsConfig{Namespace: "radarr", Subsystem: "list_sync"},
				AlertEvaluationInterval: 30 * time.Second,
				CircuitBreakers:         map[string]breaker.Config{"tmdb": {FailureThreshold: 4}},
			},
			func(c *Config) {
				c.AlertEvaluationInterval = 30 * time.Second
				c.CircuitBreakers = map[string]breaker.Config{"tmdb": {FailureThreshold: 4}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMonitor(t, tc.cfg)
			want := DefaultConfig()
			tc.want(&want)
			if got := m.Config(); !reflect.DeepEqual(got, want) {
				t.Errorf("effective config\n got %+v\nwant %+v", got, want)
			}

			var rules, defaults []string
			for _, r := range m.Alerts().Rules() {
				rules = append(rules, r.Name)
			}
			for _, r := range append(alerting.DefaultRules(), alerting.SLORules()...) {
				defaults = append(defaults, r.Name)
			}
			if len(defaults) == 0 || !slices.Equal(rules, defaults) {
				t.Errorf("rules %v, want the default rules and the burn-rate rules %v", rules, defaults)
			}

			srv := statusServer(t)
			recordSample(m)
			doGet(t, m.HTTPClient("tmdb"), srv.URL+"/200")
			text, err := m.PrometheusMetrics(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"radarr_list_sync_sync_duration_seconds_bucket", "radarr_list_sync_api_request_duration_seconds_bucket"} {
				if !strings.Contains(text, h) {
					t.Errorf("no %s", h)
				}
			}
		})
	}
}

func TestConfigOptOuts(t *testing.T) {
	m, _ := newTestMonitor(t, Config{DisableDefaultAlerts: true, DisableDefaultSLOs: true, Metrics: MetricsConfig{DisableTimingHistograms: true}})
	if r := m.Alerts().Rules(); len(r) != 0 {
		t.Errorf("DisableDefaultAlerts and DisableDefaultSLOs: %d rules", len(r))
	}
	srv := statusServer(t)
	recordSample(m)
	doGet(t, m.HTTPClient("tmdb"), srv.URL+"/200")
	text, _ := m.PrometheusMetrics(context.Background())
	if strings.Contains(text, "_duration_seconds") {
		t.Errorf("DisableTimingHistograms: histograms exported:\n%s", text)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		field string
		cause error // a component's sentinel New's error must reach, or nil
	}{
		{"bad namespace", func(c *Config) { c.Metrics.Namespace = "no-dashes" }, "Metrics.Namespace", nil},
		{"digit first", func(c *Config) { c.Metrics.Subsystem = "9x" }, "Metrics.Subsystem", nil},
		{"negative limit", func(c *Config) { c.Metrics.CardinalityLimit = -1 }, "Metrics.CardinalityLimit", nil},
		{"negative interval", func(c *Config) { c.AlertEvaluationInterval = -time.Second }, "AlertEvaluationInterval", nil},
		{"negative retention", func(c *Config) { c.AlertRetention = -time.Hour }, "AlertRetention", nil},
		{"negative breaker limit", func(c *Config) { c.MaxCircuitBreakers = -1 }, "MaxCircuitBreakers", nil},
		{"negative breaker threshold", func(c *Config) {
			c.CircuitBreakers = map[string]breaker.Config{"imdb": {FailureThreshold: -1}}
		}, "CircuitBreakers[imdb]", breaker.ErrInvalidConfig},
		{"negative health interval", func(c *Config) { c.HealthChecks.CheckInterval = -time.Minute }, "HealthChecks", healthcheck.ErrInvalidConfig},
		{"negative max pause", func(c *Config) {
			c.RateLimits = map[string]RateLimit{"trakt": {MaxPause: -time.Second}}
		}, "RateLimits[trakt].MaxPause", nil},
		{"target above 1", func(c *Config) { c.SLOs.SyncSuccessTarget = 1.5 }, "SLOs.SyncSuccessTarget", nil},
		{"target 1", func(c *Config) { c.SLOs.APIAvailabilityTarget = 1 }, "SLOs.APIAvailabilityTarget", nil},
		// 14.4 × a 10 % budget is more than every sync failing.
		{"budget too large to page", func(c *Config) { c.SLOs.SyncSuccessTarget = 0.9 }, "SLOs.SyncSuccessTarget", nil},
		{"negative period", func(c *Config) { c.SLOs.Period = -time.Hour }, "SLOs.Period", nil},
		{"latency threshold off the buckets", func(c *Config) {
			c.SLOs.APILatency, c.SLOs.APILatencyThreshold = true, 300*time.Millisecond
		}, "SLOs.APILatencyThreshold", nil},
		{"latency without histograms", func(c *Config) {
			c.SLOs.APILatency, c.Metrics.DisableTimingHistograms = true, true
		}, "SLOs.APILatency", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			_, err := New(cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("New = %v, want *ConfigError on %s", err, tc.field)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if tc.cause == nil && ce.Err != nil {
				t.Errorf("cause %v, want none", ce.Err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("%v does not reach %v", err, tc.cause)
			}
		})
	}
}

// The breaker's own typed error survives New.
func TestConfigErrorReachesBreakerError(t *testing.T) {
	_, err := New(Config{CircuitBreakers: map[string]breaker.Config{"tmdb": {OpenTimeout: -time.Second}}})
	var be *breaker.ConfigError
	if !errors.As(err, &be) || be.Field != "OpenTimeout" {
		t.Fatalf("New = %v, want a *breaker.ConfigError on OpenTimeout", err)
	}
}

// The health checker's own typed error survives New too.
func TestConfigErrorReachesHealthcheckError(t *testing.T) {
	_, err := New(Config{HealthChecks: healthcheck.Config{CheckInterval: -time.Minute}})
	var he *healthcheck.ConfigError
	if !errors.As(err, &he) || he.Field != "CheckInterval" || !errors.Is(err, healthcheck.ErrInvalidConfig) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New = %v, want a *healthcheck.ConfigError on CheckInterval inside an otelmon one", err)
	}
}

func TestConfigErrorsJoined(t *testing.T) {
	_, err := New(Config{AlertRetention: -1, Metrics: MetricsConfig{CardinalityLimit: -1}},
		WithBreakerOptions(breaker.WithJitter(2)))
	var fields []string
	var walk func(error)
	walk = func(err error) {
		if ce, ok := err.(*ConfigError); ok {
			fields = append(fields, ce.Field)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	if !slices.Equal(fields, []string{"Metrics.CardinalityLimit", "AlertRetention", "WithBreakerOptions"}) {
		t.Fatalf("New = %v: fields %v", err, fields)
	}
}

func TestInvalidBreakerOptions(t *testing.T) {
	_, err := New(Config{}, WithBreakerOptions(breaker.WithJitter(2)))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "WithBreakerOptions" || !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Fatalf("New = %v, want a *ConfigError on WithBreakerOptions wrapping breaker.ErrInvalidConfig", err)
	}
}

// Bucket boundaries are returned fresh: a caller cannot change them for
// everyone.
func TestBucketsAreCopies(t *testing.T) {
	for name, f := range map[string]func() []float64{"api": APIDurationBuckets, "sync": SyncDurationBuckets} {
		b := f()
		b[0] = -1
		if f()[0] == -1 {
			t.Errorf("%s buckets are shared", name)
		}
	}
}

// The Monitor keeps its own copies of the Config's maps: the caller's
// later changes do not reach it, and Config() hands out copies.
func TestConfigMapsAreCopied(t *testing.T) {
	rl := map[string]RateLimit{"tmdb": {RequestsPerSecond: 5}}
	cb := map[string]breaker.Config{"tmdb": {FailureThreshold: 7}}
	m, _ := newTestMonitor(t, Config{RateLimits: rl, CircuitBreakers: cb})
	rl["tmdb"] = RateLimit{RequestsPerSecond: 99}
	cb["tmdb"] = breaker.Config{FailureThreshold: 99}
	got := m.Config()
	if got.RateLimits["tmdb"].RequestsPerSecond != 5 || got.CircuitBreakers["tmdb"].FailureThreshold != 7 {
		t.Fatalf("the caller's changes reached the Monitor: %+v %+v", got.RateLimits, got.CircuitBreakers)
	}
	got.RateLimits["tmdb"] = RateLimit{RequestsPerSecond: 1}
	if m.Config().RateLimits["tmdb"].RequestsPerSecond != 5 {
		t.Fatal("Config() handed out the Monitor's own map")
	}
}
