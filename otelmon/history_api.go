package otelmon

import (
	"math"
	"strconv"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// historyJSON is the body of GET /api/v3/monitoring/history. Every series
// has one value per bucket, oldest first: bucket i covers
// [start + i·stepSeconds, start + (i+1)·stepSeconds), and the last bucket,
// the one in progress, ends at end. null marks a bucket the series has no
// value for (before it was first seen, no sync or request in the bucket for
// a mean or a quantile, a gauge not read).
type historyJSON struct {
	Range       string                        `json:"range"`
	StepSeconds int                           `json:"stepSeconds"`
	Start       time.Time                     `json:"start"`
	End         time.Time                     `json:"end"`
	Sources     map[string]sourceHistoryJSON  `json:"sources"`
	Services    map[string]serviceHistoryJSON `json:"services"`
	Alerts      []historyAlert                `json:"alerts"`
}

// sourceHistoryJSON is a source's series: syncs that succeeded and failed,
// and their mean duration, per bucket.
type sourceHistoryJSON struct {
	Succeeded       numbers `json:"succeeded"`
	Failed          numbers `json:"failed"`
	DurationSeconds numbers `json:"durationSeconds"`
}

// serviceHistoryJSON is a service's series: requests and 429 answers per
// bucket (divide by stepSeconds for a rate), latency quantiles of the
// bucket's requests, health (1 up, 0 down) and breaker state, the worst
// reading of the bucket.
type serviceHistoryJSON struct {
	Requests          numbers  `json:"requests"`
	RateLimited       numbers  `json:"rateLimited"`
	LatencyP50Seconds numbers  `json:"latencyP50Seconds"`
	LatencyP95Seconds numbers  `json:"latencyP95Seconds"`
	Up                numbers  `json:"up"`
	Breaker           []string `json:"breaker"`
}

// historyAlert is an alert that was active at some time in the range, for
// marking on the time axis.
type historyAlert struct {
	ID         string            `json:"id"`
	Rule       string            `json:"rule"`
	Level      alerting.Level    `json:"level"`
	State      alerting.State    `json:"state"`
	Title      string            `json:"title"`
	Labels     map[string]string `json:"labels,omitempty"`
	StartsAt   time.Time         `json:"startsAt"`
	ResolvedAt *time.Time        `json:"resolvedAt,omitempty"`
}

// numbers is a series of values, NaN for none: it marshals as a JSON array
// of numbers, NaN as null, each value in the shortest form that reads back
// as the same float32.
type numbers []float32

// MarshalJSON implements json.Marshaler.
func (ns numbers) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(ns)*4)
	b = append(b, '[')
	for i, v := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, ']'), nil
}

var nan32 = float32(math.NaN())

// breakerNames are the breaker codes of a servicePoint as JSON.
var breakerNames = [4]string{"", "closed", "open", "half-open"}

// newHistoryJSON returns the frame of range rg as of now, without series,
// and the number of its first bucket.
func newHistoryJSON(name string, rg historyRange, now time.Time) (historyJSON, int64) {
	step := historyLevels[rg.level].step
	endB := now.UnixNano() / int64(step)
	startB := endB - int64(rg.points) + 1
	return historyJSON{
		Range:       name,
		StepSeconds: int(step / time.Second),
		Start:       time.Unix(0, startB*int64(step)).UTC(),
		End:         time.Unix(0, (endB+1)*int64(step)).UTC(),
		Sources:     map[string]sourceHistoryJSON{},
		Services:    map[string]serviceHistoryJSON{},
		Alerts:      []historyAlert{},
	}, startB
}

// snapshot returns rg's series as of now.
func (h *history) snapshot(name string, rg historyRange, now time.Time) historyJSON {
	out, startB := newHistoryJSON(name, rg, now)
	h.mu.Lock()
	defer h.mu.Unlock()
	out.Sources = make(map[string]sourceHistoryJSON, len(h.sources))
	for label, s := range h.sources {
		l := &s.levels[rg.level]
		js := sourceHistoryJSON{
			Succeeded: make(numbers, rg.points), Failed: make(numbers, rg.points), DurationSeconds: make(numbers, rg.points),
		}
		for i := range rg.points {
			p, ok := l.at(startB + int64(i))
			js.Succeeded[i], js.Failed[i], js.DurationSeconds[i] = nan32, nan32, nan32
			if !ok {
				continue
			}
			js.Succeeded[i], js.Failed[i] = float32(p.succeeded), float32(p.failed)
			if p.durCount > 0 {
				js.DurationSeconds[i] = p.durSum / float32(p.durCount)
			}
		}
		out.Sources[label] = js
	}
	out.Services = make(map[string]serviceHistoryJSON, len(h.services))
	for label, s := range h.services {
		l := &s.levels[rg.level]
		js := serviceHistoryJSON{
			Requests: make(numbers, rg.points), RateLimited: make(numbers, rg.points),
			LatencyP50Seconds: make(numbers, rg.points), LatencyP95Seconds: make(numbers, rg.points),
			Up: make(numbers, rg.points), Breaker: make([]string, rg.points),
		}
		for i := range rg.points {
			p, ok := l.at(startB+int64(i), s.bounds, s.lo, s.hi)
			js.Requests[i], js.RateLimited[i], js.LatencyP50Seconds[i], js.LatencyP95Seconds[i], js.Up[i] = nan32, nan32, nan32, nan32, nan32
			if !ok {
				continue
			}
			js.Requests[i], js.RateLimited[i] = float32(p.requests), float32(p.limited)
			if p.latCount > 0 {
				js.LatencyP50Seconds[i], js.LatencyP95Seconds[i] = p.p50, p.p95
			}
			switch p.up {
			case upUp:
				js.Up[i] = 1
			case upDown:
				js.Up[i] = 0
			}
			js.Breaker[i] = breakerNames[p.breaker]
		}
		out.Services[label] = js
	}
	return out
}

// at is level.at with the open bucket's quantiles worked out; bounds are
// the service's latency buckets', lo and hi its extrema.
func (l *serviceLevel) at(b int64, bounds []float64, lo, hi float64) (servicePoint, bool) {
	if b == l.openB {
		return l.closed(bounds, lo, hi), true
	}
	return l.level.at(b)
}

// historyAlerts returns the alerts active at some time in [start, end).
func historyAlerts(eng *alerting.Engine, start, end time.Time) []historyAlert {
	out := []historyAlert{}
	if eng == nil {
		return out
	}
	for _, a := range eng.Alerts(alerting.Filter{IncludeResolved: true}) {
		if !a.StartsAt.Before(end) || (a.ResolvedAt != nil && a.ResolvedAt.Before(start)) {
			continue
		}
		out = append(out, historyAlert{ID: a.ID, Rule: a.Rule, Level: a.Level, State: a.State, Title: a.Title,
			Labels: a.Labels, StartsAt: a.StartsAt, ResolvedAt: a.ResolvedAt})
	}
	return out
}
