package alerting

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"go.yaml.in/yaml/v3"

	"github.com/listsync/otelmon/internal/names"
)

// ErrNotExpressible is returned (wrapped in a *RuleError) by
// PrometheusRules for a rule that a Prometheus rule file cannot express.
var ErrNotExpressible = errors.New("alerting: rule not expressible as a Prometheus alerting rule")

// PrometheusRules returns a Prometheus rule file (YAML, one group) with the
// twin of each enabled rule, for when one process is no longer the whole
// picture. Metric names use the default namespace and subsystem; see
// PrometheusRulesWithNamespace for others.
//
// Each rule becomes an alerting rule named after it, whose expression holds
// on the same series as the in-process condition, with label severity (the
// level, unless the rule's labels set it) and the rule's labels, and
// annotations summary and description. For becomes "for", AutoResolveAfter
// becomes "keep_firing_for" (Prometheus 2.42 or later).
//
// What belongs to notification routing rather than rules is left out:
// RateLimit is Alertmanager's repeat_interval, acknowledgement its
// silences. Rules that a rule file cannot express make PrometheusRules fail
// with ErrNotExpressible: ResolveAfterClear above 1 and flap detection.
// Disabled rules are skipped.
//
// Windowed twins (SlowOperation, RateAbove, Threshold with a Window) read
// the increase as the engine does: the value now minus the value a window
// ago (the newest sample at or before it), counting real increments, not
// increase(), which extrapolates to the window's ends (ten hits read 10.07
// against "more than 10") and cannot see a new series' first sample. Each
// is one PromQL expression with a commented branch per case: no restart
// within the window (exact); a restart within it (a counter dropped): the
// value since the restart, as the engine, which restarts with the process,
// counts; a series absent a window ago while Prometheus scraped its target
// (the up series with the same job and instance): a new series, counted
// from zero, so a source whose first sync is slow alerts.
//
// Differences to know, which PromQL cannot remove: within a window of
// Prometheus' first scrape of a target, and for series that do not come
// from a scrape of their own target (remote write, a collector scraped
// with honor_labels), a series absent a window ago is read from its first
// sample within the window, a lower bound, so a new series' first
// increments are missed there; a restart after which a counter is back
// above its value before the restart by the first scrape is invisible, as
// to increase(); increments a process made before it restarted are not
// counted, as the engine, which restarted with it, does not count them;
// the twin sees what the scrapes saw, so readings move at the scrape after
// the engine's evaluation. keep_firing_for counts from the first
// evaluation that finds the condition clear, AutoResolveAfter from the
// last that found it holding: the twin resolves one evaluation interval
// later. Windowed Threshold twins assume a counter (use a recording rule
// with delta() for gauges); Threshold instruments are assumed to be
// exposed under their own name (not histograms); attribute keys are
// written as legacy Prometheus label names (invalid characters become
// "_"). SlowOperation twins match both bucket label spellings, le="300"
// and Prometheus 3's le="300.0".
func PrometheusRules(rules []Rule) ([]byte, error) {
	return PrometheusRulesWithNamespace(names.DefaultNamespace, names.DefaultSubsystem, rules)
}

// PrometheusRulesWithNamespace is PrometheusRules for metrics named with
// the given namespace and subsystem, as WithNamespace.
func PrometheusRulesWithNamespace(namespace, subsystem string, rules []Rule) ([]byte, error) {
	prefix := names.New(namespace, subsystem)
	group := string(prefix) + "alerts"
	if prefix == "" {
		group = "otelmon_alerts"
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	slos := &sloTwins{windows: map[string][]time.Duration{}}
	var sloAlerts []*yaml.Node
	var errs []error
	for i := range rules {
		r := rules[i].clone()
		if r.Disabled {
			continue
		}
		n, err := promRule(&r, prefix)
		if err == nil {
			if c, _ := r.validate(prefix); c.burn != nil {
				sloAlerts = append(sloAlerts, n)
				err = slos.add(&r, c.burn)
				n = nil
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n != nil {
			list.Content = append(list.Content, n)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(list.Content) == 0 {
		list.Style = yaml.FlowStyle // rules: []
	}
	groups := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{
		yamlMap("name", yamlString(group), "rules", list),
	}}
	if len(sloAlerts) > 0 {
		// The objectives' recordings and their alerts, last, in one group:
		// see promslo.go.
		groups.Content = append(groups.Content, yamlMap("name", yamlString(strings.TrimSuffix(group, "alerts")+"slos"),
			"rules", &yaml.Node{Kind: yaml.SequenceNode, Content: append(slos.recordings(), sloAlerts...)}))
	}
	doc := yamlMap("groups", groups)
	doc.HeadComment = "Prometheus twins of otelmon's in-process alert rules."
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("alerting: PrometheusRules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("alerting: PrometheusRules: %w", err)
	}
	return b.Bytes(), nil
}

// promRule returns the rule's Prometheus twin as a YAML mapping.
func promRule(r *Rule, prefix names.Prefix) (*yaml.Node, error) {
	c, err := r.validate(prefix)
	if err != nil {
		return nil, err
	}
	switch {
	case r.ResolveAfterClear > 1:
		return nil, &RuleError{Rule: r.Name, Field: "ResolveAfterClear", Reason: "a rule file cannot wait for several clear evaluations", Err: ErrNotExpressible}
	case r.Flap.Changes > 0:
		return nil, &RuleError{Rule: r.Name, Field: "Flap", Reason: "a rule file has no flap detection", Err: ErrNotExpressible}
	}
	for _, s := range append([]string{r.Name, r.Description}, slices.Collect(maps.Values(r.Labels))...) {
		if !utf8.ValidString(s) {
			return nil, &RuleError{Rule: r.Name, Reason: "text is not valid UTF-8", Err: ErrNotExpressible}
		}
	}
	expr, summary := promExpr(r, &c)
	n := yamlMap("alert", yamlString(r.Name), "expr", yamlExpr(expr))
	if c.windowed() {
		w := promDuration(c.window)
		n.HeadComment = "The increase over " + w + " as the in-process engine reads it: the value now\n" +
			"minus the value " + w + " ago, real increments. Within " + w + " of Prometheus' first\n" +
			"scrape of the target, and for series that come through remote write or\n" +
			"honor_labels (no up of their own target), a series absent " + w + " ago is\n" +
			"read from its first sample, so its first increments are missed there."
	}
	if r.For > 0 {
		n.Content = append(n.Content, yamlPlain("for"), yamlPlain(promDuration(r.For)))
	}
	if r.AutoResolveAfter > 0 {
		n.Content = append(n.Content, yamlPlain("keep_firing_for"), yamlPlain(promDuration(r.AutoResolveAfter)))
	}
	labels := map[string]string{"severity": r.Level.String()}
	for k, v := range r.Labels {
		labels[promLabelName(k)] = v
	}
	ln := yamlMap()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		ln.Content = append(ln.Content, yamlPlain(k), yamlString(labels[k]))
	}
	n.Content = append(n.Content,
		yamlPlain("labels"), ln,
		yamlPlain("annotations"), yamlMap(
			"summary", yamlString(summary),
			"description", yamlString(escapeTemplate(r.Description)),
		),
	)
	return n, nil
}

// yamlMap returns a block mapping of plain keys to the given values:
// key, value, key, value...
func yamlMap(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, yamlPlain(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

// yamlString is a double-quoted string scalar: names, expressions and texts
// are written quoted, whatever they contain.
func yamlString(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// yamlExpr is an expression: quoted when it is one line, a literal block
// (its lines as written, comments included) when it is several.
func yamlExpr(s string) *yaml.Node {
	if !strings.Contains(s, "\n") {
		return yamlString(s)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.LiteralStyle}
}

// yamlPlain is a string scalar written plain where YAML allows it (keys,
// durations).
func yamlPlain(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// promExpr returns the PromQL expression of a compiled condition and a
// templated summary.
func promExpr(r *Rule, c *compiled) (expr, summary string) {
	cond, _ := conditionValue(r.Condition)
	sel := promSelector(c.metric, c.matchers, "")
	thr := promNumber(c.threshold)
	switch v := cond.(type) {
	case ConsecutiveFailures:
		return sel + " >= " + thr, "{{ $value }} consecutive sync failures for {{ $labels.source }}"
	case SlowOperation:
		w := promDuration(c.window)
		count := promSelector(c.metric+"_count", c.matchers, "")
		bucket := promSelector(c.metric+"_bucket", c.matchers, leMatcher(c.bound))
		above := promCounter{
			at: func(off string) string {
				return fmt.Sprintf("(%s%s - ignoring(le) %s%s)", count, off, bucket, off)
			},
			first:   fmt.Sprintf("(min_over_time(%s[%s]) - ignoring(le) min_over_time(%s[%s]))", count, w, bucket, w),
			restart: count,
		}
		return promIncrease(above, w) + " > 0",
			fmt.Sprintf("Sync of {{ $labels.source }} slower than %s", promDuration(v.Threshold))
	case RateAbove:
		w := promDuration(c.window)
		return promIncrease(plainCounter(sel, w), w) + " > " + thr,
			fmt.Sprintf("%s increased by {{ $value | humanize }} in %s (threshold %s)", c.metric, w, thr)
	case ServiceDown:
		return sel + " == 0", "Service {{ $labels.service }} is down"
	case CircuitOpen:
		ignoring := []string{"alertname", "alertstate", "severity"}
		for k := range r.Labels {
			ignoring = append(ignoring, promLabelName(k))
		}
		slices.Sort(ignoring)
		ignoring = slices.Compact(ignoring)
		alerts := fmt.Sprintf("ALERTS{alertname=%s, alertstate=\"firing\"}", strconv.Quote(r.Name))
		return fmt.Sprintf("%s == 1 or (%s == 2 and ignoring(%s) %s)", sel, sel, strings.Join(ignoring, ", "), alerts),
			"Circuit breaker for {{ $labels.service }} is open"
	case Threshold:
		reading := sel
		if c.kind == kindIncrease {
			w := promDuration(c.window)
			reading = promIncrease(plainCounter(sel, w), w)
		}
		return fmt.Sprintf("%s %s %s", reading, c.op, thr),
			fmt.Sprintf("%s is {{ $value }} (%s %s)", promMetricName(c.metric), c.op, thr)
	case BurnRate:
		return burnExpr(c.burn), "Error budget of {{ $labels.slo }} burns too fast{{ with $labels.source }} for source {{ . }}{{ end }}{{ with $labels.service }} for service {{ . }}{{ end }}"
	}
	return "", ""
}

// promCounter is a cumulative reading a windowed twin takes the increase
// of: a counter, or the count of a histogram's observations above a bound.
type promCounter struct {
	at      func(offset string) string // the reading now (offset "") or at " offset <window>"
	first   string                     // its first value within the window, when it did not restart
	restart string                     // the counter whose resets() say the process restarted
}

// plainCounter is the promCounter of a counter's selector.
func plainCounter(sel, w string) promCounter {
	return promCounter{
		at:      func(off string) string { return sel + off },
		first:   fmt.Sprintf("min_over_time(%s[%s])", sel, w),
		restart: sel,
	}
}

// promIncrease returns the twin of the engine's increase of x over the
// window w (see ring.increase): the reading now minus the reading at the
// window's start, the newest sample at or before it. Prometheus' increase()
// is not that: it extrapolates the samples within the window to its ends
// (ten hits read 10.07 and exceed a threshold of 10) and cannot see a new
// series' first sample. The expression is one branch per case, the first
// that has a series decides, each commented in the rule file:
//
//   - no restart within the window: now minus a window ago, exact;
//   - the process restarted within the window (the counter dropped, within
//     the window or below its value a window ago): the reading since the
//     restart, as the engine, which restarted with the process, counts;
//   - absent a window ago while Prometheus scraped the series' target
//     (up with the same job and instance): a new series, counted from
//     zero as the engine counts it;
//   - absent a window ago and no scrape of the target then (Prometheus
//     started within the window, or the series does not come from a
//     scrape, e.g. through remote write or with honor_labels): the
//     increase since the first sample within the window, a lower bound,
//     as the engine's for a series older than its history.
func promIncrease(x promCounter, w string) string {
	off := " offset " + w
	now, then := x.at(""), x.at(off)
	restarted := fmt.Sprintf("(resets(%s[%s]) > 0 or min_over_time(%s[%s]) < %s%s)", x.restart, w, x.restart, w, x.restart, off)
	return strings.Join([]string{
		"(",
		"    # since " + w + " ago, with no restart since",
		fmt.Sprintf("    (%s - %s unless %s)", now, then, restarted),
		"  or",
		"    # restarted within " + w + ": since the restart",
		fmt.Sprintf("    %s and %s", now, restarted),
		"  or",
		"    # a new series: absent " + w + " ago while its target was scraped",
		fmt.Sprintf("    (%s unless %s) and on(instance, job) up%s", now, then, off),
		"  or",
		"    # absent " + w + " ago, target not scraped then: since the first sample (a lower bound)",
		fmt.Sprintf("    %s - %s", now, x.first),
		")",
	}, "\n")
}

func promSelector(metric string, ms []matcher, extra string) string {
	parts := make([]string, 0, len(ms)+1)
	for _, m := range ms {
		parts = append(parts, promLabelName(string(m.key))+"="+strconv.Quote(m.value))
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	s := promMetricName(metric)
	if len(parts) > 0 {
		s += "{" + strings.Join(parts, ", ") + "}"
	}
	return s
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)
var invalidMetricChars = regexp.MustCompile(`[^a-zA-Z0-9_:]`)

func promLabelName(k string) string {
	k = invalidLabelChars.ReplaceAllString(k, "_")
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		k = "_" + k
	}
	return k
}

func promMetricName(n string) string {
	n = invalidMetricChars.ReplaceAllString(n, "_")
	if n == "" || (n[0] >= '0' && n[0] <= '9') {
		n = "_" + n
	}
	return n
}

func promNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// promDuration formats d as Prometheus writes durations ("1h30m", "5m",
// "250ms", "1d", "1w"), rounding up to the millisecond, Prometheus's
// resolution.
func promDuration(d time.Duration) string {
	d = (d + time.Millisecond - 1).Truncate(time.Millisecond)
	return model.Duration(max(d, 0)).String()
}

// escapeTemplate keeps Prometheus from reading "{{" in a description as a
// template action.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}
