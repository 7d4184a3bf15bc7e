package alerting

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/names"
)

// Condition is what a rule watches: one instrument, a selection of its
// series (attribute matchers) and a test on each selected series. A rule
// raises one alert per series on which its condition holds.
//
// The set of conditions is sealed: ConsecutiveFailures, SlowOperation,
// RateAbove, ServiceDown, CircuitOpen and Threshold. The engine must be
// able to index a condition on its metric snapshot, validate it before it
// runs, and translate it to PromQL (see PrometheusRules), which an arbitrary
// callback would not allow. Threshold is the open end: it reads any
// instrument of the process by its full name, so hosts write rules on their
// own instruments with it.
//
// Conditions are plain values; both T and *T are accepted by AddRule.
type Condition interface {
	fmt.Stringer
	isCondition()
}

// ConsecutiveFailures holds for a source whose consecutive_failures gauge
// reads Count or more. RecordSyncOperation raises the gauge on every failed
// sync and sets it to 0 on a success, so the alert resolves with the next
// successful sync.
type ConsecutiveFailures struct {
	// Source selects one source ("imdb"); empty means every source, one
	// alert each. Optional.
	Source string
	// Count is the number of consecutive failures that raises the alert.
	// Required; at least 1.
	Count int
}

// SlowOperation holds for a source when a sync slower than Threshold ended
// within Window: the increase of the
// sync_duration_seconds histogram's count minus the increase of its
// cumulative bucket count at le=Threshold, over the window, is above zero.
// Threshold must be one of the histogram's bucket boundaries (300 s is one
// in the default buckets); AddRule checks it when the histogram has already
// been read, Evaluate otherwise. When timing histograms are disabled the
// histogram is absent and the condition never holds.
type SlowOperation struct {
	// Source selects one source; empty means every source. Optional.
	Source string
	// Threshold is the duration above which a sync is slow. Required;
	// positive.
	Threshold time.Duration
	// Window is how far back a slow sync counts: the alert holds while a
	// slow sync ended within the last Window. Required; positive.
	Window time.Duration
}

// RateAbove holds for a series of a counter whose increase over Window is
// above Threshold ("more than 10 rate-limit hits per hour").
// The increase counts real increments: cumulative values are sampled at
// each evaluation, and the increase is the value now minus the value at
// the window's start (that of the newest evaluation at or before it), a
// drop in value taken as a counter reset, as Prometheus' increase() takes
// it, but without its extrapolation to the window's ends. On non-monotonic
// sums and gauges the change over the window is used instead (Prometheus'
// delta, without extrapolation).
type RateAbove struct {
	// Metric is the counter's name suffix ("api_rate_limit_hits_total"),
	// prefixed with the engine's namespace; a name that already carries the
	// prefix is used as is. To target an instrument outside the namespace,
	// use Threshold with a Window. Required.
	Metric string
	// Service selects the series whose "service" attribute equals it;
	// empty means every series. Optional.
	Service string
	// Attributes are further equality matchers on the series' attributes.
	// Optional; a "service" entry that disagrees with Service is an error.
	Attributes map[string]string
	// Threshold is the increase over Window that must be exceeded. Optional;
	// zero holds on any increase; it must not be negative (the condition
	// would always hold) and must be finite.
	Threshold float64
	// Window is the period over which the increase is taken. Required;
	// positive.
	Window time.Duration
}

// ServiceDown holds for a service whose service_up gauge reads 0. The alert
// resolves when the gauge reads 1 again (or the series disappears).
type ServiceDown struct {
	// Service selects one service; empty means every service. Optional.
	Service string
}

// CircuitOpen holds for a service whose circuit_breaker_state gauge reads
// 1 (open). Half-open (2) does not raise an alert; but it does not resolve
// a firing one either, since the breaker is still probing: a firing alert
// resolves only when the gauge reads 0 (closed) or the series disappears.
type CircuitOpen struct {
	// Service selects one service; empty means every service. Optional.
	Service string
}

// Threshold compares a reading of any instrument with Value using Op, per
// series. With Window zero the reading is the
// series' current value (for histograms, their count of observations);
// with Window positive it is the increase over the window (counters and
// histogram counts, reset-aware) or the change over it (gauges and
// non-monotonic sums).
type Threshold struct {
	// Instrument is the instrument's full name as registered
	// ("myapp_queue_depth"); the engine's namespace is not added. Required.
	Instrument string
	// Attributes are equality matchers on the series' attributes; empty
	// selects every series. Optional.
	Attributes map[string]string
	// Op compares the reading (left) with Value (right). Optional; the zero
	// value is OpGreater.
	Op Operator
	// Value is what the reading is compared with. Optional (zero compares
	// with 0); it must be finite.
	Value float64
	// Window, when positive, compares the increase over the window instead
	// of the current value. Optional; zero reads the current value.
	Window time.Duration
}

var (
	_ Condition = ConsecutiveFailures{}
	_ Condition = SlowOperation{}
	_ Condition = RateAbove{}
	_ Condition = ServiceDown{}
	_ Condition = CircuitOpen{}
	_ Condition = Threshold{}
	_ Notifier  = logNotifier{}
)

func (ConsecutiveFailures) isCondition() {}
func (SlowOperation) isCondition()       {}
func (RateAbove) isCondition()           {}
func (ServiceDown) isCondition()         {}
func (CircuitOpen) isCondition()         {}
func (Threshold) isCondition()           {}

// String describes the condition, e.g. `consecutive_failures{source="imdb"} >= 3`.
func (c ConsecutiveFailures) String() string {
	return fmt.Sprintf("%s%s >= %d", names.ConsecutiveFailures, selector(sourceMatch(c.Source)), c.Count)
}

// String describes the condition, e.g. `sync_duration_seconds slower than 5m within 5m`.
func (c SlowOperation) String() string {
	return fmt.Sprintf("%s%s slower than %s within %s", names.SyncDurationSeconds, selector(sourceMatch(c.Source)), promDuration(c.Threshold), promDuration(c.Window))
}

// String describes the condition.
func (c RateAbove) String() string {
	m := withKey(c.Attributes, names.AttrService, c.Service)
	return fmt.Sprintf("increase(%s%s[%s]) > %s", c.Metric, selector(m), promDuration(c.Window), promNumber(c.Threshold))
}

// String describes the condition.
func (c ServiceDown) String() string {
	return fmt.Sprintf("%s%s == 0", names.ServiceUp, selector(withKey(nil, names.AttrService, c.Service)))
}

// String describes the condition.
func (c CircuitOpen) String() string {
	return fmt.Sprintf("%s%s == 1", names.CircuitBreakerState, selector(withKey(nil, names.AttrService, c.Service)))
}

// String describes the condition.
func (c Threshold) String() string {
	s := c.Instrument + selector(c.Attributes)
	if c.Window > 0 {
		s = fmt.Sprintf("increase(%s[%s])", s, promDuration(c.Window))
	}
	return s + " " + c.Op.String() + " " + promNumber(c.Value)
}

// Operator compares a reading with a threshold. The zero value is
// OpGreater.
type Operator int

// Operators.
const (
	OpGreater      Operator = iota // >
	OpGreaterEqual                 // >=
	OpLess                         // <
	OpLessEqual                    // <=
	OpEqual                        // ==
	OpNotEqual                     // !=
)

// String returns the operator as PromQL writes it: ">", ">=", "<", "<=",
// "==" or "!=".
func (o Operator) String() string {
	switch o {
	case OpGreater:
		return ">"
	case OpGreaterEqual:
		return ">="
	case OpLess:
		return "<"
	case OpLessEqual:
		return "<="
	case OpEqual:
		return "=="
	case OpNotEqual:
		return "!="
	}
	return "Operator(" + strconv.Itoa(int(o)) + ")"
}

func (o Operator) valid() bool { return o >= OpGreater && o <= OpNotEqual }

func (o Operator) cmp(a, b float64) bool {
	switch o {
	case OpGreater:
		return a > b
	case OpGreaterEqual:
		return a >= b
	case OpLess:
		return a < b
	case OpLessEqual:
		return a <= b
	case OpEqual:
		return a == b
	case OpNotEqual:
		return a != b
	}
	return false
}

// evalKind is how a compiled condition turns a series into a verdict.
type evalKind uint8

const (
	kindValue    evalKind = iota // current value op threshold
	kindIncrease                 // increase (or delta) over window op threshold
	kindAbove                    // histogram: observations above bound within window > 0
	kindCircuit                  // 1 holds; 2 keeps a firing alert; else clear
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
	bound     float64 // kindAbove, seconds
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
		metric := v.Metric
		if !strings.HasPrefix(metric, string(prefix)) {
			metric = prefix.Name(metric)
		}
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
