package history

import (
	"math"
	"strconv"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// The body of GET /api/v3/monitoring/history, built from the buckets: a
// contract the status page and scripts read, field by field.

// JSON is the body of GET /api/v3/monitoring/history. Every series
// has one value per bucket, oldest first: bucket i covers
// [start + i·stepSeconds, start + (i+1)·stepSeconds), and the last bucket,
// the one in progress, ends at end. null marks a bucket the series has no
// value for (before it was first seen, no sync or request in the bucket for
// a mean or a quantile, a gauge not read).
type JSON struct {
	Range       string                   `json:"range"`
	StepSeconds int                      `json:"stepSeconds"`
	Start       time.Time                `json:"start"`
	End         time.Time                `json:"end"`
	Sources     map[string]SourceSeries  `json:"sources"`
	Services    map[string]ServiceSeries `json:"services"`
	Alerts      []Alert                  `json:"alerts"`
	// SLOs are the error budgets of the objective series the history
	// keeps, those the alert engine listed in the last 24 hours (see
	// SampleSLOs); empty when none are sampled.
	SLOs []SLOSeries `json:"slos"`
}

// SourceSeries is a source's series: syncs that succeeded and failed,
// and their mean duration, per bucket.
type SourceSeries struct {
	Succeeded       Numbers `json:"succeeded"`
	Failed          Numbers `json:"failed"`
	DurationSeconds Numbers `json:"durationSeconds"`
}

// ServiceSeries is a service's series: requests and 429 answers per
// bucket (divide by stepSeconds for a rate), latency quantiles of the
// bucket's requests, health (1 up, 0 down) and breaker state, the worst
// reading of the bucket.
type ServiceSeries struct {
	Requests          Numbers  `json:"requests"`
	RateLimited       Numbers  `json:"rateLimited"`
	LatencyP50Seconds Numbers  `json:"latencyP50Seconds"`
	LatencyP95Seconds Numbers  `json:"latencyP95Seconds"`
	Up                Numbers  `json:"up"`
	Breaker           []string `json:"breaker"`
}

// Alert is an alert that was active at some time in the range, for
// marking on the time axis.
type Alert struct {
	ID         string            `json:"id"`
	Rule       string            `json:"rule"`
	Level      alerting.Level    `json:"level"`
	State      alerting.State    `json:"state"`
	Title      string            `json:"title"`
	Labels     map[string]string `json:"labels,omitempty"`
	StartsAt   time.Time         `json:"startsAt"`
	ResolvedAt *time.Time        `json:"resolvedAt,omitempty"`
}

// Numbers is a series of values, NaN for none: it marshals as a JSON array
// of numbers, NaN as null, each value in the shortest form that reads back
// as the same float32.
type Numbers []float32

// MarshalJSON implements json.Marshaler.
func (ns Numbers) MarshalJSON() ([]byte, error) {
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

// newJSON returns the frame of range rg as of now, without series, and
// the number of its first bucket.
func newJSON(name string, rg Range, now time.Time) (JSON, int64) {
	step := levels[rg.level].step
	endB := now.UnixNano() / int64(step)
	startB := endB - int64(rg.points) + 1
	return JSON{
		Range:       name,
		StepSeconds: int(step / time.Second),
		Start:       time.Unix(0, startB*int64(step)).UTC(),
		End:         time.Unix(0, (endB+1)*int64(step)).UTC(),
		Sources:     map[string]SourceSeries{},
		Services:    map[string]ServiceSeries{},
		Alerts:      []Alert{},
		SLOs:        []SLOSeries{},
	}, startB
}

// Snapshot returns the series of range rg as of now, its Range field set
// to name (the query's value); its Alerts are empty, for the caller to
// fill with [Alerts]. Refresh first to include what the instruments
// recorded since the last collection.
func (h *History) Snapshot(name string, rg Range, now time.Time) JSON {
	out, startB := newJSON(name, rg, now)
	h.mu.Lock()
	defer h.mu.Unlock()
	out.Sources = make(map[string]SourceSeries, len(h.sources))
	for label, s := range h.sources {
		l := &s.levels[rg.level]
		js := SourceSeries{
			Succeeded: make(Numbers, rg.points), Failed: make(Numbers, rg.points), DurationSeconds: make(Numbers, rg.points),
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
	out.Services = make(map[string]ServiceSeries, len(h.services))
	for label, s := range h.services {
		l := &s.levels[rg.level]
		js := ServiceSeries{
			Requests: make(Numbers, rg.points), RateLimited: make(Numbers, rg.points),
			LatencyP50Seconds: make(Numbers, rg.points), LatencyP95Seconds: make(Numbers, rg.points),
			Up: make(Numbers, rg.points), Breaker: make([]string, rg.points),
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
	out.SLOs = h.sloSnapshotLocked(rg, startB)
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

// AlertLister lists alerts, resolved ones included when the filter asks:
// the alert engine (*alerting.Engine) is one.
type AlertLister interface {
	Alerts(alerting.Filter) []alerting.Alert
}

// Alerts returns the alerts of al active at some time in [start, end): a
// JSON's Alerts. It returns an empty list, not nil, when there are none or
// al is nil.
func Alerts(al AlertLister, start, end time.Time) []Alert {
	out := []Alert{}
	if al == nil {
		return out
	}
	for _, a := range al.Alerts(alerting.Filter{IncludeResolved: true}) {
		if !a.StartsAt.Before(end) || (a.ResolvedAt != nil && a.ResolvedAt.Before(start)) {
			continue
		}
		out = append(out, Alert{ID: a.ID, Rule: a.Rule, Level: a.Level, State: a.State, Title: a.Title,
			Labels: a.Labels, StartsAt: a.StartsAt, ResolvedAt: a.ResolvedAt})
	}
	return out
}
