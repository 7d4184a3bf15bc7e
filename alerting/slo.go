package alerting

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/names"
)

// Service level objectives. A threshold rule misses the failure operators
// fear most: a source that fails every other sync never fails three times
// in a row, so consecutive_sync_failures stays quiet while half its syncs
// fail for days. An Objective says instead what share of events must be
// good over a period (99 % of a source's syncs over 30 days); what may go
// wrong (1 %) is its error budget, and a BurnRate rule alerts when the
// budget burns too fast, with the multiwindow, multi-burn-rate alerts of
// the Google SRE Workbook ("Alerting on SLOs").

// DefaultSLOPeriod is Objective.Period's default: 30 days.
const DefaultSLOPeriod = 30 * 24 * time.Hour

// Names of the objectives the constructors below return.
const (
	SLOSyncSuccess     = "sync_success"
	SLOAPIAvailability = "api_availability"
	SLOAPILatency      = "api_latency"
)

// Defaults of the objectives the constructors below return.
const (
	DefaultSyncSuccessTarget     = 0.99
	DefaultAPIAvailabilityTarget = 0.99
	DefaultAPILatencyTarget      = 0.95
	DefaultAPILatencyThreshold   = time.Second
)

// Objective is a service level objective: the share of events that must be
// good (Target) over a rolling period, per value of one attribute (By).
// Its indicator (SLI) is the error ratio: the increase of Errors over the
// increase of Total, over a window. Both are counters (or the counts of a
// histogram) that the engine reads from its ManualReader, as any rule does.
//
// Objectives are plain values; Validate checks one, and AddRule checks the
// objectives of a BurnRate condition.
type Objective struct {
	// Name identifies the objective: it is the "slo" label of its alerts
	// and of its Prometheus twins. Required; at most 64 letters, digits,
	// '_' or '-'.
	Name string
	// By is the attribute that splits the objective in series: one error
	// budget, and one alert, per value ("source", "service"). Optional;
	// empty makes one series of every event.
	By string
	// Errors selects the events that spend the budget. Required.
	Errors Events
	// Total selects every event, good or bad. Required; SlowerThan must be
	// zero.
	Total Events
	// Target is the share of good events promised, e.g. 0.99. Required;
	// strictly between 0 and 1.
	Target float64
	// Period is the rolling period of the objective, over which the error
	// budget is counted. Optional; default DefaultSLOPeriod (30 days).
	Period time.Duration
}

// Events selects events: the increments of a counter, or the observations
// of a histogram, on the series whose attributes match.
type Events struct {
	// Metric is the instrument's name suffix ("sync_operations_total"),
	// prefixed with the engine's namespace; a name that already carries the
	// prefix is used as is (see RateAbove.Metric). Required.
	Metric string
	// Attributes are equality matchers on the series' attributes.
	// Optional; empty selects every series.
	Attributes map[string]string
	// SlowerThan, when positive, counts the histogram's observations above
	// it only (the slow requests of a latency objective). It must be one
	// of the histogram's bucket boundaries; Evaluate reports
	// ErrNotBucketBoundary otherwise. Optional; zero counts every event.
	SlowerThan time.Duration
}

// SyncSuccessObjective returns the objective on syncs: 99 % of a source's
// syncs succeed (sync_operations_failed_total over
// sync_operations_total), per source, over 30 days.
func SyncSuccessObjective() Objective {
	return Objective{
		Name:   SLOSyncSuccess,
		By:     names.AttrSource,
		Errors: Events{Metric: names.SyncOperationsFailedTotal},
		Total:  Events{Metric: names.SyncOperationsTotal},
		Target: DefaultSyncSuccessTarget,
		Period: DefaultSLOPeriod,
	}
}

// APIAvailabilityObjective returns the objective on API availability: 99 %
// of a service's requests are answered, and not with a 5xx status
// (api_request_errors_total over api_requests_total), per service, over
// 30 days.
func APIAvailabilityObjective() Objective {
	return Objective{
		Name:   SLOAPIAvailability,
		By:     names.AttrService,
		Errors: Events{Metric: names.APIRequestErrorsTotal},
		Total:  Events{Metric: names.APIRequestsTotal},
		Target: DefaultAPIAvailabilityTarget,
		Period: DefaultSLOPeriod,
	}
}

// APILatencyObjective returns the objective on API latency: 95 % of a
// service's requests get their answer's headers within threshold (1 s when
// zero), per service, over 30 days, read from the
// api_request_duration_seconds histogram. threshold must be one of its
// bucket boundaries.
func APILatencyObjective(threshold time.Duration) Objective {
	if threshold == 0 {
		threshold = DefaultAPILatencyThreshold
	}
	return Objective{
		Name:   SLOAPILatency,
		By:     names.AttrService,
		Errors: Events{Metric: names.APIRequestDuration, SlowerThan: threshold},
		Total:  Events{Metric: names.APIRequestDuration},
		Target: DefaultAPILatencyTarget,
		Period: DefaultSLOPeriod,
	}
}

// ErrInvalidObjective is wrapped by every *ObjectiveError.
var ErrInvalidObjective = errors.New("alerting: invalid objective")

// ObjectiveError reports one invalid field of an Objective. It wraps
// ErrInvalidObjective. Inside a rule, AddRule reports it as a *RuleError
// wrapping ErrInvalidRule whose Field is
// "Condition.Objectives[i]." followed by this Field.
type ObjectiveError struct {
	// Objective is the objective's name (possibly empty when the name is
	// the problem).
	Objective string
	// Field is the Objective field at fault, e.g. "Target" or
	// "Errors.Metric".
	Field string
	// Reason says what the value must be.
	Reason string
}

// Error names the objective, the field and the reason.
func (e *ObjectiveError) Error() string {
	return fmt.Sprintf("alerting: objective %q: %s: %s", e.Objective, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidObjective.
func (e *ObjectiveError) Unwrap() error { return ErrInvalidObjective }

var objectiveName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Validate reports every invalid field of o, each an *ObjectiveError,
// joined; nil when a BurnRate condition would accept it.
func (o Objective) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ObjectiveError{Objective: o.Name, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !objectiveName.MatchString(o.Name) {
		bad("Name", "%q: want 1 to 64 letters, digits, '_' or '-'", o.Name)
	}
	for _, ev := range []struct {
		field string
		e     *Events
	}{{"Errors", &o.Errors}, {"Total", &o.Total}} {
		if strings.TrimSpace(ev.e.Metric) == "" {
			bad(ev.field+".Metric", "empty metric name")
		}
		if _, ok := ev.e.Attributes[""]; ok {
			bad(ev.field+".Attributes", "empty attribute key")
		}
		if ev.e.SlowerThan < 0 {
			bad(ev.field+".SlowerThan", "negative duration %s", ev.e.SlowerThan)
		}
	}
	if o.Total.SlowerThan != 0 {
		bad("Total.SlowerThan", "set to %s: Total counts every event", o.Total.SlowerThan)
	}
	if math.IsNaN(o.Target) || o.Target <= 0 || o.Target >= 1 {
		bad("Target", "%g: want a share strictly between 0 and 1, e.g. 0.99", o.Target)
	}
	if o.Period < 0 {
		bad("Period", "negative duration %s", o.Period)
	}
	return errors.Join(errs...)
}

// errorBudget is 1 - target rounded to 12 significant digits, so that a
// target of 0.99 has a budget of 0.01, not 0.010000000000000009: the engine
// and the Prometheus twins compare with the same numbers.
func errorBudget(target float64) float64 {
	b, _ := strconv.ParseFloat(strconv.FormatFloat(1-target, 'g', 12, 64), 64)
	return b
}

// BurnWindow is one pair of windows of a multiwindow, multi-burn-rate
// alert: it holds when the error budget burns more than Factor times as
// fast as the objective allows over both the Long window and the Short
// one. The long window makes the alert significant (2 % of a 30-day
// budget spent in an hour at 14.4×), the short one makes it resolve soon
// after the burn stops.
type BurnWindow struct {
	// Long is the long window. Required; longer than Short.
	Long time.Duration
	// Short is the short window. Required; positive.
	Short time.Duration
	// Factor is the burn rate that must be exceeded over both windows: 1
	// spends the budget in exactly the objective's period. Required;
	// positive, and such that Factor × (1 - Target) is below 1 for every
	// objective (an error ratio can never exceed 1).
	Factor float64
}

// PageWindows returns the Workbook's windows for a page: 1 h and 5 min at
// 14.4× (2 % of a 30-day budget in an hour), or 6 h and 30 min at 6× (5 %
// in six hours).
func PageWindows() []BurnWindow {
	return []BurnWindow{
		{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
		{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
	}
}

// TicketWindows returns the Workbook's windows for a ticket: 1 d and 2 h at
// 3× (10 % of a 30-day budget in a day), or 3 d and 6 h at 1× (10 % in
// three days).
func TicketWindows() []BurnWindow {
	return []BurnWindow{
		{Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3},
		{Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1},
	}
}

// Names of the SLO rules SLORules returns.
const (
	RuleSLOBurnRatePage   = "slo_burn_rate_page"
	RuleSLOBurnRateTicket = "slo_burn_rate_ticket"
)

// SLORules returns the two burn-rate rules of objectives, as fresh values
// the caller may change before adding them:
//
//   - slo_burn_rate_page: the budget burns at 14.4× over 1 h and 5 min, or
//     at 6× over 6 h and 30 min (PageWindows); Critical; notified again
//     at most every hour.
//   - slo_burn_rate_ticket: the budget burns at 3× over 1 d and 2 h, or at
//     1× over 3 d and 6 h (TicketWindows); Warning; notified again at most
//     every 12 hours.
//
// Each raises one alert per objective and series, labelled slo (the
// objective's name) and its By attribute (source, service). With no
// objectives the rules are those of SyncSuccessObjective.
func SLORules(objectives ...Objective) []Rule {
	if len(objectives) == 0 {
		objectives = []Objective{SyncSuccessObjective()}
	}
	return []Rule{
		{
			Name:        RuleSLOBurnRatePage,
			Level:       Critical,
			Description: "The error budget burns fast enough to be spent within days: page.",
			Condition:   BurnRate{Objectives: cloneObjectives(objectives), Windows: PageWindows()},
			RateLimit:   time.Hour,
		},
		{
			Name:        RuleSLOBurnRateTicket,
			Level:       Warning,
			Description: "The error budget burns faster than the objective allows: open a ticket.",
			Condition:   BurnRate{Objectives: cloneObjectives(objectives), Windows: TicketWindows()},
			RateLimit:   12 * time.Hour,
		},
	}
}

func cloneObjectives(os []Objective) []Objective {
	out := slices.Clone(os)
	for i := range out {
		out[i].Errors.Attributes = maps.Clone(out[i].Errors.Attributes)
		out[i].Total.Attributes = maps.Clone(out[i].Total.Attributes)
	}
	return out
}

// burnSpec is a compiled BurnRate condition.
type burnSpec struct {
	objectives []objective
	windows    []BurnWindow
}

// objective is a validated Objective resolved against the engine's
// namespace.
type objective struct {
	name   string
	by     attribute.Key
	errors events
	total  events
	target float64
	budget float64 // errorBudget(target)
	period time.Duration
	// service is the sloth_service of its Prometheus twins: the metric
	// prefix without its final "_" (see sloService).
	service string
	// key identifies what the objective counts (name, by, errors, total):
	// objectives of the same key share their history, whatever their
	// target and period.
	key string
}

// events is compiled Events.
type events struct {
	metric   string
	matchers []matcher
	bound    float64 // seconds; 0: every event
}

func (ev *events) String() string {
	s := promSelector(ev.metric, ev.matchers, "")
	if ev.bound > 0 {
		s += " slower than " + promNumber(ev.bound) + "s"
	}
	return s
}

// compileBurn validates a BurnRate condition of rule.
func compileBurn(rule string, v BurnRate, prefix names.Prefix) (*burnSpec, error) {
	if len(v.Objectives) == 0 {
		return nil, invalid(rule, "Condition.Objectives", "no objective")
	}
	if len(v.Windows) == 0 {
		return nil, invalid(rule, "Condition.Windows", "no window; PageWindows and TicketWindows are the Workbook's")
	}
	spec := &burnSpec{windows: slices.Clone(v.Windows)}
	seen := map[string]bool{}
	for i, o := range v.Objectives {
		field := fmt.Sprintf("Condition.Objectives[%d]", i)
		if err := o.Validate(); err != nil {
			var oe *ObjectiveError
			errors.As(err, &oe)
			return nil, invalid(rule, field+"."+oe.Field, "%s", oe.Reason)
		}
		if seen[o.Name] {
			return nil, invalid(rule, field+".Name", "objective %q twice", o.Name)
		}
		seen[o.Name] = true
		c := objective{name: o.Name, by: attribute.Key(o.By), target: o.Target, budget: errorBudget(o.Target), period: o.Period, service: sloService(prefix)}
		if c.period == 0 {
			c.period = DefaultSLOPeriod
		}
		c.errors = compileEvents(o.Errors, prefix)
		c.total = compileEvents(o.Total, prefix)
		c.key = strings.Join([]string{o.Name, o.By, c.errors.String(), c.total.String()}, "\x00")
		spec.objectives = append(spec.objectives, c)
	}
	for i, w := range v.Windows {
		field := fmt.Sprintf("Condition.Windows[%d]", i)
		switch {
		case w.Short <= 0:
			return nil, invalid(rule, field+".Short", "required: must be positive, got %s", w.Short)
		case w.Long <= w.Short:
			return nil, invalid(rule, field+".Long", "%s: must be longer than Short %s", w.Long, w.Short)
		case math.IsNaN(w.Factor) || math.IsInf(w.Factor, 0) || w.Factor <= 0:
			return nil, invalid(rule, field+".Factor", "%g: want a positive burn rate", w.Factor)
		}
		for _, o := range spec.objectives {
			if w.Factor*o.budget >= 1 {
				return nil, invalid(rule, field+".Factor", "%g × the error budget %g of %q is %g: an error ratio never exceeds 1, the alert could never fire",
					w.Factor, o.budget, o.name, w.Factor*o.budget)
			}
		}
	}
	return spec, nil
}

func compileEvents(e Events, prefix names.Prefix) events {
	m, _ := makeMatchers("", "", e.Attributes) // keys checked by Validate
	return events{metric: qualify(prefix, e.Metric), matchers: m, bound: e.SlowerThan.Seconds()}
}

// qualify prefixes a metric name suffix with the namespace, unless it
// already carries it.
func qualify(prefix names.Prefix, metric string) string {
	if strings.HasPrefix(metric, string(prefix)) {
		return metric
	}
	return prefix.Name(metric)
}
