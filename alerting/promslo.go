package alerting

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/listsync/otelmon/internal/names"
)

// The Prometheus twins of BurnRate rules. They are Sloth's rules
// (github.com/slok/sloth, internal/prometheus: recording_rules.go and
// alert_rules.go), so Sloth's dashboards and tools read them:
//
//   - per objective and window, slo:sli_error:ratio_rate<window>, the error
//     ratio sum(rate(errors[w])) / sum(rate(total[w])), here summed by the
//     objective's By attribute, labelled sloth_id, sloth_service, sloth_slo,
//     sloth_window, and slo (the engine's label);
//   - per objective, the constants slo:objective:ratio,
//     slo:error_budget:ratio and slo:time_period:days, and
//     slo:current_burn_rate:ratio (over the shortest window),
//     slo:period_burn_rate:ratio and
//     slo:period_error_budget_remaining:ratio;
//   - per rule, the alert: Sloth's multiwindow, multi-burn-rate expression,
//     one branch per BurnWindow, "(long > factor × budget) and ignoring
//     (sloth_window) (short > factor × budget)", the branches joined by "or
//     ignoring (sloth_window)", and the objectives by "or". The Sloth labels
//     are aggregated away (max without), so that the twin's alerts carry
//     the engine's labels: slo and the By attribute.
//
// The recordings and the alerts are in one group, the alerts last, so that
// an alert reads the recordings of the same evaluation. Sloth computes the
// period's ratio from the 5 min ratios (an average of ratios); these twins
// use the events, as the engine does.
//
// rate() is not the engine's increase: it extrapolates each series to the
// window's ends and cannot see a new series' first sample. In a ratio of
// two counters scraped together the extrapolations mostly cancel; a new
// source's first sync is missed until its second. Windows longer than what
// Prometheus holds use the samples it has, as the engine uses its history.

// slothDuration writes d as Sloth names its windows: in days when it is a
// whole number of days ("1d", "30d"), as Prometheus writes durations
// otherwise ("5m", "1h").
func slothDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return promDuration(d)
}

// leMatcher matches the bucket bound b in both spellings of its le label,
// "300" and Prometheus 3's "300.0".
func leMatcher(b float64) string {
	le := regexp.QuoteMeta(promNumber(b))
	if b == math.Trunc(b) {
		le += `(\.0)?`
	}
	return "le=~`" + le + "`"
}

// sloTwins collects the objectives of the BurnRate rules, and their
// windows, for the recordings.
type sloTwins struct {
	objs    []*objective
	windows map[string][]time.Duration // by objective name: the alert windows and the period
}

// add notes the objectives of a BurnRate rule; an objective defined
// differently by another rule cannot be recorded twice.
func (tw *sloTwins) add(r *Rule, spec *burnSpec) error {
	for i := range spec.objectives {
		o := &spec.objectives[i]
		j := slices.IndexFunc(tw.objs, func(p *objective) bool { return p.name == o.name })
		switch {
		case j < 0:
			tw.objs = append(tw.objs, o)
		case tw.objs[j].key != o.key || tw.objs[j].target != o.target || tw.objs[j].period != o.period:
			return &RuleError{Rule: r.Name, Field: fmt.Sprintf("Condition.Objectives[%d]", i),
				Reason: fmt.Sprintf("objective %q is defined differently by another rule; its recordings would clash", o.name), Err: ErrNotExpressible}
		}
		ws := append(tw.windows[o.name], o.period)
		for _, w := range spec.windows {
			ws = append(ws, w.Long, w.Short)
		}
		slices.Sort(ws)
		tw.windows[o.name] = slices.Compact(ws)
	}
	return nil
}

// slothID is the sloth_id of objective o: its sloth_service and name.
func slothID(o *objective) string { return o.service + "-" + o.name }

// slothSelector selects the recordings of objective o.
func slothSelector(o *objective) string { return `{sloth_id="` + slothID(o) + `"}` }

// slothLabels are the labels of objective o's recordings, with
// sloth_window unless window is empty.
func slothLabels(o *objective, window string) *yaml.Node {
	n := yamlMap("slo", yamlString(o.name), "sloth_id", yamlString(slothID(o)), "sloth_service", yamlString(o.service), "sloth_slo", yamlString(o.name))
	if window != "" {
		n.Content = append(n.Content, yamlPlain("sloth_window"), yamlString(window))
	}
	return n
}

// recordings returns the recording rules of every objective.
func (tw *sloTwins) recordings() []*yaml.Node {
	var out []*yaml.Node
	for _, o := range tw.objs {
		ws := tw.windows[o.name]
		for _, w := range ws {
			out = append(out, yamlMap(
				"record", yamlString("slo:sli_error:ratio_rate"+slothDuration(w)),
				"expr", yamlExpr(sloRatioExpr(o, slothDuration(w))),
				"labels", slothLabels(o, slothDuration(w)),
			))
		}
		sel := slothSelector(o)
		burn := func(w time.Duration) string {
			return fmt.Sprintf("slo:sli_error:ratio_rate%s%s\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio%s", slothDuration(w), sel, sel)
		}
		for _, r := range []struct{ name, expr string }{
			{"slo:objective:ratio", "vector(" + promNumber(o.target) + ")"},
			{"slo:error_budget:ratio", "vector(" + promNumber(o.budget) + ")"},
			{"slo:time_period:days", "vector(" + promNumber(o.period.Hours()/24) + ")"},
			{"slo:current_burn_rate:ratio", burn(ws[0])},
			{"slo:period_burn_rate:ratio", burn(o.period)},
			{"slo:period_error_budget_remaining:ratio", "1 - slo:period_burn_rate:ratio" + sel},
		} {
			out = append(out, yamlMap("record", yamlString(r.name), "expr", yamlExpr(r.expr), "labels", slothLabels(o, "")))
		}
	}
	return out
}

// sloRatioExpr is an objective's error ratio over w: Sloth's events SLI,
// summed by the objective's By attribute. A series of events without a
// series of errors (nothing failed yet) reads 0 errors.
func sloRatioExpr(o *objective, w string) string {
	by := ""
	if o.by != "" {
		by = " by (" + promLabelName(string(o.by)) + ")"
	}
	rate := func(ev *events, suffix, extra string) string {
		return fmt.Sprintf("sum%s (rate(%s[%s]))", by, promSelector(ev.metric+suffix, ev.matchers, extra), w)
	}
	// Events are read as counters, but those of a histogram that one of
	// the objective's Events reads with SlowerThan: its _count.
	counted := func(ev *events) string {
		switch {
		case ev.bound > 0:
			return fmt.Sprintf("(%s - %s)", rate(ev, "_count", ""), rate(ev, "_bucket", leMatcher(ev.bound)))
		case o.errors.bound > 0 && ev.metric == o.errors.metric:
			return rate(ev, "_count", "")
		}
		return rate(ev, "", "")
	}
	total := counted(&o.total)
	return fmt.Sprintf("(\n  %s\n  or\n  0 * %s\n)\n/\n(\n  %s\n)", counted(&o.errors), total, total)
}

// burnExpr is the alert expression of a BurnRate rule (see the file's
// comment).
func burnExpr(spec *burnSpec) string {
	var objs []string
	for i := range spec.objectives {
		o := &spec.objectives[i]
		sel := slothSelector(o)
		var pairs []string
		for _, w := range spec.windows {
			limit := fmt.Sprintf("(%s * %s)", promNumber(w.Factor), promNumber(o.budget))
			pairs = append(pairs, fmt.Sprintf("    (\n      (slo:sli_error:ratio_rate%s%s > %s)\n      and ignoring (sloth_window)\n      (slo:sli_error:ratio_rate%s%s > %s)\n    )",
				slothDuration(w.Long), sel, limit, slothDuration(w.Short), sel, limit))
		}
		objs = append(objs, "  # "+o.name+"\n  (\n"+strings.Join(pairs, "\n    or ignoring (sloth_window)\n")+"\n  )")
	}
	return "max without (sloth_id, sloth_service, sloth_slo, sloth_window) (\n" + strings.Join(objs, "\n  or\n") + "\n)"
}

// sloService is the sloth_service of the twins: the metric prefix without
// its final "_", or "otelmon".
func sloService(prefix names.Prefix) string {
	if prefix == "" {
		return "otelmon"
	}
	return strings.TrimSuffix(string(prefix), "_")
}
