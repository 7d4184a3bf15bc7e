package alerting

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestAddRuleRejects(t *testing.T) {
	ok := Rule{Name: "ok", Condition: ServiceDown{}}
	with := func(f func(*Rule)) Rule {
		r := ok
		f(&r)
		return r
	}
	var nilCF *ConsecutiveFailures
	cases := []struct {
		name  string
		rule  Rule
		field string
	}{
		{"empty name", with(func(r *Rule) { r.Name = " " }), "Name"},
		{"control character in name", with(func(r *Rule) { r.Name = "a\nb" }), "Name"},
		{"unknown level", with(func(r *Rule) { r.Level = Critical + 1 }), "Level"},
		{"nil condition", with(func(r *Rule) { r.Condition = nil }), "Condition"},
		{"typed nil condition", with(func(r *Rule) { r.Condition = nilCF }), "Condition"},
		{"negative rate limit", with(func(r *Rule) { r.RateLimit = -time.Second }), "RateLimit"},
		{"negative auto-resolve", with(func(r *Rule) { r.AutoResolveAfter = -time.Second }), "AutoResolveAfter"},
		{"negative for", with(func(r *Rule) { r.For = -time.Second }), "For"},
		{"negative resolve-after-clear", with(func(r *Rule) { r.ResolveAfterClear = -1 }), "ResolveAfterClear"},
		{"negative flap changes", with(func(r *Rule) { r.Flap.Changes = -1 }), "Flap.Changes"},
		{"negative flap window", with(func(r *Rule) { r.Flap.Window = -time.Second }), "Flap.Window"},
		{"flap window without flap changes", with(func(r *Rule) { r.Flap.Window = time.Hour }), "Flap.Window"},
		{"empty label name", with(func(r *Rule) { r.Labels = map[string]string{"": "x"} }), "Labels"},
		{"count below 1", with(func(r *Rule) { r.Condition = ConsecutiveFailures{Count: 0} }), "Condition.Count"},
		{"slow threshold zero", with(func(r *Rule) { r.Condition = SlowOperation{Window: time.Minute} }), "Condition.Threshold"},
		{"slow without window", with(func(r *Rule) { r.Condition = SlowOperation{Threshold: time.Minute} }), "Condition.Window"},
		{"slow negative window", with(func(r *Rule) { r.Condition = SlowOperation{Threshold: time.Minute, Window: -time.Minute} }), "Condition.Window"},
		{"rate without metric", with(func(r *Rule) { r.Condition = RateAbove{Window: time.Hour} }), "Condition.Metric"},
		{"rate without window", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total"} }), "Condition.Window"},
		{"rate negative threshold", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Threshold: -1} }), "Condition.Threshold"},
		{"rate NaN threshold", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Threshold: math.NaN()} }), "Condition.Threshold"},
		{"rate infinite threshold", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Threshold: math.Inf(1)} }), "Condition.Threshold"},
		{"rate service disagrees with attributes", with(func(r *Rule) {
			r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Service: "tmdb", Attributes: map[string]string{"service": "plex"}}
		}), "Condition.Service"},
		{"rate empty attribute key", with(func(r *Rule) {
			r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Attributes: map[string]string{"": "a"}}
		}), "Condition.Attributes"},
		{"threshold without instrument", with(func(r *Rule) { r.Condition = Threshold{} }), "Condition.Instrument"},
		{"unknown operator", with(func(r *Rule) { r.Condition = Threshold{Instrument: "x", Op: 42} }), "Condition.Op"},
		{"threshold NaN value", with(func(r *Rule) { r.Condition = Threshold{Instrument: "x", Value: math.NaN()} }), "Condition.Value"},
		{"threshold infinite value", with(func(r *Rule) { r.Condition = Threshold{Instrument: "x", Value: math.Inf(-1)} }), "Condition.Value"},
		{"threshold negative window", with(func(r *Rule) { r.Condition = Threshold{Instrument: "x", Window: -1} }), "Condition.Window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			err := h.eng.AddRule(c.rule)
			var re *RuleError
			if !errors.Is(err, ErrInvalidRule) || !errors.As(err, &re) {
				t.Fatalf("AddRule = %v, want a *RuleError wrapping ErrInvalidRule", err)
			}
			if re.Field != c.field {
				t.Fatalf("Field = %q, want %q (%v)", re.Field, c.field, err)
			}
			if len(h.eng.Rules()) != 0 {
				t.Fatal("rejected rule was registered")
			}
		})
	}
}

func TestRuleRegistry(t *testing.T) {
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	err := h.eng.AddRule(Rule{Name: RuleServiceDown, Condition: ServiceDown{}})
	if !errors.Is(err, ErrDuplicateRule) {
		t.Fatalf("duplicate AddRule = %v, want ErrDuplicateRule", err)
	}
	var got []string
	for _, r := range h.eng.Rules() {
		got = append(got, r.Name)
	}
	want := []string{RuleConsecutiveSyncFailures, RuleSlowSyncOperation, RuleHighRateLimitHits, RuleServiceDown, RuleCircuitBreakerOpen}
	if !slices.Equal(got, want) {
		t.Fatalf("Rules = %q, want %q", got, want)
	}
	if err := h.eng.RemoveRule(RuleSlowSyncOperation); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.RemoveRule(RuleSlowSyncOperation); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("second RemoveRule = %v, want ErrRuleNotFound", err)
	}
	if err := h.eng.UpdateRule(Rule{Name: "nope", Condition: ServiceDown{}}); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("UpdateRule of unknown = %v, want ErrRuleNotFound", err)
	}
	if n := len(h.eng.Rules()); n != 4 {
		t.Fatalf("%d rules after removal", n)
	}
}

func TestRulesAreCopies(t *testing.T) {
	h := newHarness(t, Config{})
	attrs := map[string]string{"service": "tmdb"}
	r := Rule{Name: "r", Labels: map[string]string{"team": "a"}, Condition: RateAbove{Metric: "x_total", Attributes: attrs, Window: time.Hour}}
	h.addRules(r)
	r.Labels["team"] = "b"
	attrs["service"] = "plex"
	got := h.eng.Rules()[0]
	if got.Labels["team"] != "a" || got.Condition.(RateAbove).Attributes["service"] != "tmdb" {
		t.Fatalf("engine's rule changed with the caller's maps: %+v", got)
	}
	got.Labels["team"] = "c"
	if h.eng.Rules()[0].Labels["team"] != "a" {
		t.Fatal("Rules returned the engine's own map")
	}
}

func TestDefaultRules(t *testing.T) {
	rules := DefaultRules()
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Name] = r
		if r.Disabled {
			t.Errorf("%s disabled", r.Name)
		}
	}
	check := func(name string, level Level, f func(Rule) bool) {
		t.Helper()
		r, ok := byName[name]
		if !ok {
			t.Fatalf("missing %s", name)
		}
		if r.Level != level || !f(r) {
			t.Errorf("%s = %+v", name, r)
		}
	}
	check(RuleConsecutiveSyncFailures, Warning, func(r Rule) bool {
		return r.Condition == ConsecutiveFailures{Count: 3} && r.RateLimit == 30*time.Minute && r.AutoResolveAfter == 0
	})
	check(RuleSlowSyncOperation, Warning, func(r Rule) bool {
		return r.Condition == SlowOperation{Threshold: 300 * time.Second, Window: 5 * time.Minute} && r.AutoResolveAfter == 30*time.Minute
	})
	check(RuleHighRateLimitHits, Critical, func(r Rule) bool {
		c, ok := r.Condition.(RateAbove)
		return ok && c.Metric == "api_rate_limit_hits_total" && c.Threshold == 10 && c.Window == time.Hour && r.RateLimit == 2*time.Hour
	})
	check(RuleServiceDown, Critical, func(r Rule) bool { return r.Condition == ServiceDown{} && r.AutoResolveAfter == 0 })
	check(RuleCircuitBreakerOpen, Warning, func(r Rule) bool { return r.Condition == CircuitOpen{} && r.AutoResolveAfter == 0 })
	if len(rules) != 5 {
		t.Fatalf("%d default rules", len(rules))
	}
}

func TestConditionStrings(t *testing.T) {
	cases := []struct {
		c    Condition
		want string
	}{
		{ConsecutiveFailures{Source: "imdb", Count: 3}, `consecutive_failures{source="imdb"} >= 3`},
		{SlowOperation{Threshold: 5 * time.Minute, Window: 10 * time.Minute}, `sync_duration_seconds slower than 5m within 10m`},
		{RateAbove{Metric: "api_rate_limit_hits_total", Service: "tmdb", Threshold: 10, Window: time.Hour}, `increase(api_rate_limit_hits_total{service="tmdb"}[1h]) > 10`},
		{ServiceDown{Service: "plex"}, `service_up{service="plex"} == 0`},
		{CircuitOpen{}, `circuit_breaker_state == 1`},
		{Threshold{Instrument: "q", Op: OpLessEqual, Value: 2.5, Window: time.Minute}, `increase(q[1m]) <= 2.5`},
	}
	for _, c := range cases {
		if got := c.c.String(); got != c.want {
			t.Errorf("%T.String() = %q, want %q", c.c, got, c.want)
		}
	}
}
