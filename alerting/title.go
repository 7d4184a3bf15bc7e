package alerting

import (
	"fmt"
	"maps"
	"math"
	"strconv"

	"github.com/listsync/otelmon/internal/names"
)

// title is the alert's one-line summary. It states the value observed
// when the condition last held ("5 consecutive sync failures for imdb"),
// not the rule's threshold, which the rule's description and condition
// carry: a firing alert's title follows its reading at every evaluation on
// which the condition holds, and a resolved one keeps its last.
func title(r *Rule, c *compiled, labels map[string]string, v float64) string {
	cond, _ := conditionValue(r.Condition)
	val := formatValue(v)
	who := func(key string) string {
		if s := labels[key]; s != "" {
			return s
		}
		if len(labels) > 0 {
			return "{" + describeLabels(labels) + "}"
		}
		return "all"
	}
	switch cond := cond.(type) {
	case ConsecutiveFailures:
		return fmt.Sprintf("%s consecutive sync failures for %s", val, who(names.AttrSource))
	case SlowOperation:
		syncs := "syncs"
		if v == 1 {
			syncs = "sync"
		}
		return fmt.Sprintf("%s %s of %s slower than %s in the last %s", val, syncs, who(names.AttrSource), promDuration(cond.Threshold), promDuration(cond.Window))
	case RateAbove:
		return fmt.Sprintf("%s increased by %s in %s%s", c.metric, val, promDuration(c.window), forLabels(labels))
	case ServiceDown:
		return fmt.Sprintf("Service %s is down", who(names.AttrService))
	case CircuitOpen:
		return fmt.Sprintf("Circuit breaker for %s is open", who(names.AttrService))
	case Threshold:
		reading := c.metric
		if c.kind == kindIncrease {
			reading = fmt.Sprintf("increase(%s[%s])", reading, promDuration(c.window))
		}
		return fmt.Sprintf("%s is %s (%s %g)%s", reading, val, c.op, c.threshold, forLabels(labels))
	case BurnRate:
		series := maps.Clone(labels)
		delete(series, "slo")
		return fmt.Sprintf("Error budget of %s%s burns %s× as fast as the objective allows",
			labels["slo"], forLabels(series), strconv.FormatFloat(v, 'g', 3, 64))
	}
	return r.Name
}

// forLabels ends a title with the series it is about: " for k=v, ..." or,
// for a series without labels, nothing.
func forLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	return " for " + describeLabels(labels)
}

// formatValue writes a reading for a title: whole numbers without a
// fraction, others with six significant digits, so that float noise
// (0.30000000000000004) does not reach people.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
