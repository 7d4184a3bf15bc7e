package otelmon

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/listsync/otelmon/alerting"
)

// SLOConfig configures the service level objectives: the share of events
// that must be good over a rolling period, per source or service, whose
// error budget the alert rules slo_burn_rate_page and slo_burn_rate_ticket
// watch (alerting.SLORules; see docs/slos.md). Its zero value is the
// default: the sync success objective alone (unless
// Config.DisableDefaultSLOs), over 30 days.
type SLOConfig struct {
	// Period is the rolling period of every objective, over which its
	// error budget is counted. Default 30 days.
	Period time.Duration
	// SyncSuccessTarget is the share of each source's syncs that must
	// succeed. Default 0.99.
	SyncSuccessTarget float64
	// APIAvailability turns on the availability objective: the share of
	// each service's API requests answered without a 5xx, a transport error
	// or a timeout (api_request_errors_total over api_requests_total).
	// Default false.
	APIAvailability bool
	// APIAvailabilityTarget is that share. Default 0.99.
	APIAvailabilityTarget float64
	// APILatency turns on the latency objective: the share of each
	// service's API requests whose response headers arrive within
	// APILatencyThreshold (from api_request_duration_seconds; it needs the
	// timing histograms). Default false.
	APILatency bool
	// APILatencyTarget is that share. Default 0.95.
	APILatencyTarget float64
	// APILatencyThreshold is the latency a request must stay within; it
	// must be one of APIDurationBuckets. Default 1 s.
	APILatencyThreshold time.Duration
}

// withDefaults fills the zero fields of c and reports each invalid one as
// a *ConfigError; timing says whether the timing histograms are recorded.
func (c SLOConfig) withDefaults(timing bool) (SLOConfig, error) {
	var errs []error
	if err := orDefault("SLOs.Period", &c.Period, alerting.DefaultSLOPeriod); err != nil {
		errs = append(errs, err)
	}
	fillZero(&c.SyncSuccessTarget, alerting.DefaultSyncSuccessTarget)
	fillZero(&c.APIAvailabilityTarget, alerting.DefaultAPIAvailabilityTarget)
	fillZero(&c.APILatencyTarget, alerting.DefaultAPILatencyTarget)
	fillZero(&c.APILatencyThreshold, alerting.DefaultAPILatencyThreshold)
	for _, t := range []struct {
		field string
		v     float64
	}{
		{"SLOs.SyncSuccessTarget", c.SyncSuccessTarget},
		{"SLOs.APIAvailabilityTarget", c.APIAvailabilityTarget},
		{"SLOs.APILatencyTarget", c.APILatencyTarget},
	} {
		errs = append(errs, validTarget(t.field, t.v))
	}
	if c.APILatency {
		if timing && !slices.Contains(APIDurationBuckets(), c.APILatencyThreshold.Seconds()) {
			errs = append(errs, invalid("SLOs.APILatencyThreshold", c.APILatencyThreshold.String(),
				fmt.Sprintf("must be one of the API duration buckets %v (seconds)", APIDurationBuckets())))
		}
		if !timing {
			errs = append(errs, invalid("SLOs.APILatency", "true", "needs the timing histograms: Metrics.DisableTimingHistograms is set"))
		}
	}
	return c, errors.Join(errs...)
}

// validTarget reports a target that is not strictly between 0 and 1, or
// whose budget is too large for a burn-rate window to ever hold: the
// error ratio, at most 1, must be able to exceed factor × (1 - target).
func validTarget(field string, target float64) error {
	v := strconv.FormatFloat(target, 'g', -1, 64)
	if !(target > 0 && target < 1) {
		return invalid(field, v, "must be strictly between 0 and 1")
	}
	for _, w := range append(alerting.PageWindows(), alerting.TicketWindows()...) {
		if w.Factor*(1-target) >= 1 {
			return invalid(field, v, fmt.Sprintf("must be above %.4f: a %g× burn of a larger budget is more than every event failing",
				1-1/w.Factor, w.Factor))
		}
	}
	return nil
}

// objectives returns the objectives cfg turns on, in a fixed order.
func (cfg Config) objectives() []alerting.Objective {
	c := cfg.SLOs
	var out []alerting.Objective
	if !cfg.DisableDefaultSLOs {
		o := alerting.SyncSuccessObjective()
		o.Target = c.SyncSuccessTarget
		out = append(out, o)
	}
	if c.APIAvailability {
		o := alerting.APIAvailabilityObjective()
		o.Target = c.APIAvailabilityTarget
		out = append(out, o)
	}
	if c.APILatency {
		o := alerting.APILatencyObjective(c.APILatencyThreshold)
		o.Target = c.APILatencyTarget
		out = append(out, o)
	}
	for i := range out {
		out[i].Period = c.Period
	}
	return out
}

// SLOStatus is the error budget of one objective for one source or
// service, as of the last alert evaluation.
type SLOStatus struct {
	// Name is the objective's name: sync_success, api_availability or
	// api_latency (the "slo" label of its alerts).
	Name string `json:"name"`
	// Labels name the series: {"source": "imdb"} or {"service": "tmdb"}.
	Labels map[string]string `json:"labels"`
	// Objective is the share of good events promised, e.g. 0.99.
	Objective float64 `json:"objective"`
	// Window is the rolling period of the objective, as Prometheus writes
	// durations ("30d").
	Window string `json:"window"`
	// ErrorBudgetRemaining is the share of the error budget left over the
	// window: 1 untouched, 0 spent, negative overspent.
	ErrorBudgetRemaining float64 `json:"errorBudgetRemaining"`
	// Errors and Events are what was counted over the window.
	Errors float64 `json:"errors"`
	Events float64 `json:"events"`
	// CoveredSeconds is how much of the window the figures cover: less
	// than the window while the process is younger than it.
	CoveredSeconds float64 `json:"coveredSeconds"`
	// BurnRates are the burn rates over the alert windows, shortest first:
	// the error ratio over the window divided by the error budget (at 1
	// the budget lasts the period; the page fires above 14.4 over 1h and
	// 5m).
	BurnRates []SLOBurnRate `json:"burnRates"`
	// Alerts are the window pairs of the burn-rate rules that watch the
	// objective: a rule fires for the series when the burn rates over both
	// windows of one of its pairs are above the pair's factor.
	Alerts []SLOBurnAlert `json:"alerts"`
}

// SLOBurnAlert is a window pair of a burn-rate rule: slo_burn_rate_page
// (critical) has 1h and 5m at 14.4, and 6h and 30m at 6, by default.
type SLOBurnAlert struct {
	Rule   string  `json:"rule"`
	Level  string  `json:"level"`
	Long   string  `json:"long"`  // "1h"
	Short  string  `json:"short"` // "5m"
	Factor float64 `json:"factor"`
}

// SLOBurnRate is an objective's burn rate over one alert window.
type SLOBurnRate struct {
	Window   string  `json:"window"` // "5m", "1h", ... "3d"
	BurnRate float64 `json:"burnRate"`
}

// sloStatuses converts the engine's readings for the status.
func sloStatuses(in []alerting.SLOStatus) []SLOStatus {
	out := make([]SLOStatus, 0, len(in))
	for _, s := range in {
		st := SLOStatus{
			Name:                 s.Name,
			Labels:               s.Labels,
			Objective:            s.Objective,
			Window:               model.Duration(s.Window).String(),
			ErrorBudgetRemaining: s.ErrorBudgetRemaining,
			Errors:               s.Errors,
			Events:               s.Events,
			CoveredSeconds:       s.Covered.Seconds(),
			BurnRates:            make([]SLOBurnRate, 0, len(s.BurnRates)),
			Alerts:               make([]SLOBurnAlert, 0, len(s.Alerts)),
		}
		if st.Labels == nil {
			st.Labels = map[string]string{}
		}
		for _, b := range s.BurnRates {
			st.BurnRates = append(st.BurnRates, SLOBurnRate{Window: model.Duration(b.Window).String(), BurnRate: b.BurnRate})
		}
		for _, a := range s.Alerts {
			st.Alerts = append(st.Alerts, SLOBurnAlert{Rule: a.Rule, Level: a.Level.String(),
				Long: model.Duration(a.Long).String(), Short: model.Duration(a.Short).String(), Factor: a.Factor})
		}
		out = append(out, st)
	}
	return out
}
