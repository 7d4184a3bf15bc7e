package alerting

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

// Condition is what a rule watches: one instrument, a selection of its
// series (attribute matchers) and a test on each selected series. A rule
// raises one alert per series on which its condition holds.
//
// The set of conditions is sealed: ConsecutiveFailures, SlowOperation,
// RateAbove, ServiceDown, CircuitOpen, Threshold and BurnRate. The engine must be
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

// BurnRate holds for a series of an objective whose error budget burns
// too fast: for one of Windows, the error ratio over both its long and its
// short window exceeds the window's Factor times the objective's error
// budget (1 - Target), as the Workbook's multiwindow, multi-burn-rate
// alerts do. Its alerts are labelled slo (the objective's name) and the
// objective's By attribute; their value is the burn rate over the long
// window of the first pair that holds.
//
// Windows are read from the process's own history: a window longer than
// the history uses what there is (the error ratio since the series was
// first read, or since its counters started when that is within the
// window), as Prometheus' rate() does with the samples it has. The history
// of each series is kept per window at a resolution of a hundredth of the
// window (never finer than the evaluation interval), in a fixed number of
// slots, so memory is bounded whatever the windows: see docs/slos.md.
type BurnRate struct {
	// Objectives are the objectives watched, each with its own series,
	// budget and alerts. Required; their names are unique.
	Objectives []Objective
	// Windows are the pairs of windows and their burn rates; any pair
	// that holds raises the alert. Required; PageWindows and TicketWindows
	// are the Workbook's.
	Windows []BurnWindow
}

var (
	_ Condition = BurnRate{}
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
func (BurnRate) isCondition()            {}

// String describes the condition, e.g. `burn rate of sync_success > 14.4 over 1h and 5m, or > 6 over 6h and 30m`.
func (c BurnRate) String() string {
	objs := make([]string, len(c.Objectives))
	for i, o := range c.Objectives {
		objs[i] = o.Name
	}
	pairs := make([]string, len(c.Windows))
	for i, w := range c.Windows {
		pairs[i] = fmt.Sprintf("> %s over %s and %s", promNumber(w.Factor), promDuration(w.Long), promDuration(w.Short))
	}
	return "burn rate of " + strings.Join(objs, ", ") + " " + strings.Join(pairs, ", or ")
}

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
