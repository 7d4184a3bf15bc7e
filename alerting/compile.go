package alerting

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/names"
)

// A condition compiled: what the series store reads of which instrument,
// and how a reading becomes a verdict.

// evalKind is how a compiled condition turns a series into a verdict.
type evalKind uint8

const (
	kindValue    evalKind = iota // current value op threshold
	kindIncrease                 // increase (or delta) over window op threshold
	kindAbove                    // histogram: observations above bound within window > 0
	kindCircuit                  // 1 holds; 2 keeps a firing alert; else clear
	kindBurn                     // BurnRate: read by the SLO store, not bound to series
)

// derive says which number of a data point a ring of samples keeps.
type derive struct {
	kind  uint8 // deriveValue, deriveAbove
	bound float64
}

const (
	deriveValue uint8 = iota // sums, gauges: the value; histograms: the count
	deriveAbove              // histograms: count of observations above bound
)

type matcher struct {
	key   attribute.Key
	value string
}

// compiled is a validated condition resolved against the engine's
// namespace: what Evaluate actually runs.
type compiled struct {
	metric    string
	matchers  []matcher // sorted by key
	kind      evalKind
	op        Operator
	threshold float64
	window    time.Duration
	bound     float64   // kindAbove, seconds
	burn      *burnSpec // kindBurn
}

func (c *compiled) derive() derive {
	if c.kind == kindAbove {
		return derive{kind: deriveAbove, bound: c.bound}
	}
	return derive{kind: deriveValue}
}

func (c *compiled) windowed() bool { return c.kind == kindIncrease || c.kind == kindAbove }

func sourceMatch(s string) map[string]string { return withKey(nil, names.AttrSource, s) }

func withKey(m map[string]string, k, v string) map[string]string {
	if v == "" {
		return m
	}
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

func selector(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func makeMatchers(rule, field string, m map[string]string) ([]matcher, error) {
	out := make([]matcher, 0, len(m))
	for k, v := range m {
		if k == "" {
			return nil, invalid(rule, field, "empty attribute key")
		}
		out = append(out, matcher{key: attribute.Key(k), value: v})
	}
	slices.SortFunc(out, func(a, b matcher) int { return strings.Compare(string(a.key), string(b.key)) })
	return out, nil
}

// conditionValue dereferences pointer conditions.
func conditionValue(c Condition) (Condition, bool) {
	switch v := c.(type) {
	case *ConsecutiveFailures:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *SlowOperation:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *RateAbove:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *ServiceDown:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *CircuitOpen:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *Threshold:
		if v == nil {
			return nil, false
		}
		return *v, true
	case *BurnRate:
		if v == nil {
			return nil, false
		}
		return *v, true
	case nil:
		return nil, false
	}
	return c, true
}

// positive checks a required window or threshold duration.
func positive(rule, field string, d time.Duration) error {
	if d <= 0 {
		return invalid(rule, field, "required: must be positive, got %s", d)
	}
	return nil
}

// finite checks a threshold value.
func finite(rule, field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid(rule, field, "%g can never be compared", v)
	}
	return nil
}

// compile validates the rule's condition and resolves it against prefix.
// The rule's own fields have been checked by validate.
func compile(r *Rule, prefix names.Prefix) (compiled, error) {
	cond, ok := conditionValue(r.Condition)
	if !ok {
		return compiled{}, invalid(r.Name, "Condition", "nil condition")
	}
	var c compiled
	switch v := cond.(type) {
	case ConsecutiveFailures:
		if v.Count < 1 {
			return c, invalid(r.Name, "Condition.Count", "%d can never be met; want at least 1", v.Count)
		}
		c = compiled{metric: prefix.Name(names.ConsecutiveFailures), kind: kindValue, op: OpGreaterEqual, threshold: float64(v.Count)}
		c.matchers, _ = makeMatchers(r.Name, "", sourceMatch(v.Source))
	case SlowOperation:
		if err := positive(r.Name, "Condition.Threshold", v.Threshold); err != nil {
			return c, err
		}
		if err := positive(r.Name, "Condition.Window", v.Window); err != nil {
			return c, err
		}
		c = compiled{metric: prefix.Name(names.SyncDurationSeconds), kind: kindAbove, op: OpGreater, bound: v.Threshold.Seconds(), window: v.Window}
		c.matchers, _ = makeMatchers(r.Name, "", sourceMatch(v.Source))
	case RateAbove:
		if strings.TrimSpace(v.Metric) == "" {
			return c, invalid(r.Name, "Condition.Metric", "empty metric name")
		}
		if err := finite(r.Name, "Condition.Threshold", v.Threshold); err != nil {
			return c, err
		}
		if v.Threshold < 0 {
			return c, invalid(r.Name, "Condition.Threshold", "negative threshold %g: the condition would always hold", v.Threshold)
		}
		if err := positive(r.Name, "Condition.Window", v.Window); err != nil {
			return c, err
		}
		if s, ok := v.Attributes[names.AttrService]; ok && v.Service != "" && s != v.Service {
			return c, invalid(r.Name, "Condition.Service", "%q disagrees with Attributes[%q] %q", v.Service, names.AttrService, s)
		}
		metric := qualify(prefix, v.Metric)
		m, err := makeMatchers(r.Name, "Condition.Attributes", withKey(v.Attributes, names.AttrService, v.Service))
		if err != nil {
			return c, err
		}
		c = compiled{metric: metric, matchers: m, kind: kindIncrease, op: OpGreater, threshold: v.Threshold, window: v.Window}
	case ServiceDown:
		c = compiled{metric: prefix.Name(names.ServiceUp), kind: kindValue, op: OpEqual, threshold: 0}
		c.matchers, _ = makeMatchers(r.Name, "", withKey(nil, names.AttrService, v.Service))
	case CircuitOpen:
		c = compiled{metric: prefix.Name(names.CircuitBreakerState), kind: kindCircuit, op: OpEqual, threshold: 1}
		c.matchers, _ = makeMatchers(r.Name, "", withKey(nil, names.AttrService, v.Service))
	case Threshold:
		if strings.TrimSpace(v.Instrument) == "" {
			return c, invalid(r.Name, "Condition.Instrument", "empty instrument name")
		}
		if !v.Op.valid() {
			return c, invalid(r.Name, "Condition.Op", "unknown operator %d", int(v.Op))
		}
		if err := finite(r.Name, "Condition.Value", v.Value); err != nil {
			return c, err
		}
		if v.Window < 0 {
			return c, invalid(r.Name, "Condition.Window", "negative window %s", v.Window)
		}
		m, err := makeMatchers(r.Name, "Condition.Attributes", v.Attributes)
		if err != nil {
			return c, err
		}
		c = compiled{metric: v.Instrument, matchers: m, kind: kindValue, op: v.Op, threshold: v.Value, window: v.Window}
		if v.Window > 0 {
			c.kind = kindIncrease
		}
	case BurnRate:
		spec, err := compileBurn(r.Name, v, prefix)
		if err != nil {
			return c, err
		}
		c = compiled{kind: kindBurn, op: OpGreater, burn: spec}
	default:
		return c, invalid(r.Name, "Condition", "unknown condition type %T", cond)
	}
	return c, nil
}

// boundIndex returns the index of b in bounds, or -1.
func boundIndex(bounds []float64, b float64) int {
	for i, x := range bounds {
		if x == b || math.Abs(x-b) <= 1e-9*math.Max(1, math.Abs(b)) {
			return i
		}
	}
	return -1
}
