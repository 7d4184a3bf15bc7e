package alerting

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestAddRuleRejects(t *testing.T) {
	ok := Rule{Name: "ok", Condition: ServiceDown{}, Enabled: true}
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
		{"NaN threshold", with(func(r *Rule) { r.Threshold = math.NaN() }), "Threshold"},
		{"infinite threshold", with(func(r *Rule) { r.Threshold = math.Inf(1) }), "Threshold"},
		{"negative window", with(func(r *Rule) { r.EvaluationWindow = -time.Second }), "EvaluationWindow"},
		{"negative rate limit", with(func(r *Rule) { r.RateLimit = -time.Second }), "RateLimit"},
		{"negative auto-resolve", with(func(r *Rule) { r.AutoResolve = true; r.AutoResolveAfter = -time.Second }), "AutoResolveAfter"},
		{"auto-resolve delay without auto-resolve", with(func(r *Rule) { r.AutoResolveAfter = time.Minute }), "AutoResolveAfter"},
		{"negative for", with(func(r *Rule) { r.For = -time.Second }), "For"},
		{"negative resolve-after-clear", with(func(r *Rule) { r.ResolveAfterClear = -1 }), "ResolveAfterClear"},
		{"negative flap changes", with(func(r *Rule) { r.Flap.Changes = -1 }), "Flap.Changes"},
		{"negative flap window", with(func(r *Rule) { r.Flap.Window = -time.Second }), "Flap.Window"},
		{"empty label name", with(func(r *Rule) { r.Labels = map[string]string{"": "x"} }), "Labels"},
		{"count below 1", with(func(r *Rule) { r.Condition = ConsecutiveFailures{Count: 0} }), "Condition.Count"},
		{"threshold disagrees with count", with(func(r *Rule) { r.Condition = ConsecutiveFailures{Count: 3}; r.Threshold = 4 }), "Threshold"},
		{"slow threshold zero", with(func(r *Rule) { r.Condition = SlowOperation{}; r.EvaluationWindow = time.Minute }), "Condition.Threshold"},
		{"slow without window", with(func(r *Rule) { r.Condition = SlowOperation{Threshold: time.Minute} }), "EvaluationWindow"},
		{"slow threshold disagrees", with(func(r *Rule) {
			r.Condition = SlowOperation{Threshold: time.Minute}
			r.EvaluationWindow = time.Minute
			r.Threshold = 30
		}), "Threshold"},
		{"rate without metric", with(func(r *Rule) { r.Condition = RateAbove{Window: time.Hour} }), "Condition.Metric"},
		{"rate without window", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total"} }), "Condition.Window"},
		{"rate windows disagree", with(func(r *Rule) {
			r.Condition = RateAbove{Metric: "x_total", Window: time.Hour}
			r.EvaluationWindow = time.Minute
		}), "Condition.Window"},
		{"rate negative threshold", with(func(r *Rule) { r.Condition = RateAbove{Metric: "x_total", Window: time.Hour}; r.Threshold = -1 }), "Threshold"},
		{"rate empty attribute key", with(func(r *Rule) {
			r.Condition = RateAbove{Metric: "x_total", Window: time.Hour, Attributes: map[string]string{"": "a"}}
		}), "Condition.Attributes"},
		{"threshold without instrument", with(func(r *Rule) { r.Condition = Threshold{} }), "Condition.Instrument"},
		{"unknown operator", with(func(r *Rule) { r.Condition = Threshold{Instrument: "x", Op: 42} }), "Condition.Op"},
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
	err := h.eng.AddRule(Rule{Name: RuleServiceDown, Condition: ServiceDown{}, Enabled: true})
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
	r := Rule{Name: "r", Labels: map[string]string{"team": "a"}, Condition: RateAbove{Metric: "x_total", Attributes: attrs, Window: time.Hour}, Enabled: true}
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
		if !r.Enabled {
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
		return r.Condition == ConsecutiveFailures{Count: 3} && r.RateLimit == 30*time.Minute
	})
	check(RuleSlowSyncOperation, Warning, func(r Rule) bool {
		return r.Condition == SlowOperation{Threshold: 300 * time.Second} && r.AutoResolve && r.AutoResolveAfter == 30*time.Minute
	})
	check(RuleHighRateLimitHits, Critical, func(r Rule) bool {
		c, ok := r.Condition.(RateAbove)
		return ok && c.Metric == "api_rate_limit_hits_total" && r.Threshold == 10 && r.EvaluationWindow == time.Hour && r.RateLimit == 2*time.Hour
	})
	check(RuleServiceDown, Critical, func(r Rule) bool { return r.Condition == ServiceDown{} })
	check(RuleCircuitBreakerOpen, Warning, func(r Rule) bool { return r.Condition == CircuitOpen{} })
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
		{SlowOperation{Threshold: 5 * time.Minute}, `sync_duration_seconds slower than 5m`},
		{RateAbove{Metric: "api_rate_limit_hits_total", Service: "tmdb", Window: time.Hour}, `increase(api_rate_limit_hits_total{service="tmdb"}[1h])`},
		{ServiceDown{Service: "plex"}, `service_up{service="plex"} == 0`},
		{CircuitOpen{}, `circuit_breaker_state == 1`},
		{Threshold{Instrument: "q", Op: OpLessEqual, Window: time.Minute}, `increase(q[1m]) <= threshold`},
	}
	for _, c := range cases {
		if got := c.c.String(); got != c.want {
			t.Errorf("%T.String() = %q, want %q", c.c, got, c.want)
		}
	}
}
