package otelmon

import (
	"context"
	"maps"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// The history keeps the last 24 hours of what the status page plots, read
// from the Monitor's own instruments through a ManualReader: it is a view
// of the metrics, not a second bookkeeping. Each collection reads the
// cumulative counters and histograms and adds their increase since the
// previous collection to the bucket of its time (a drop is a restart from
// zero, as Prometheus' increase() counts it); gauges are read as they are.
// Quantiles come from the increase of the histogram's buckets, within the
// smallest and largest value the histogram has seen.
//
// A service's health and breaker state are not only read: the Monitor
// tells the history of every health transition and breaker transition as
// it happens (noteHealth, noteBreaker), and each bucket keeps the worst
// state it saw, starting from the state the previous bucket ended in. A
// 30-second outage inside a minute is down in that minute even though the
// readings at the minute's start and end are up.
//
// Two resolutions keep memory small: 1-minute buckets for the last 6 hours
// (1h and 6h ranges) and 5-minute buckets for the last 24 hours (24h
// range), each a fixed ring per series, fed independently by every
// collection. The bucket in progress is shown too: a collection runs at
// every minute's end, and a query may top it up with a fresh collection
// (at most one a second), so the page follows a sync within seconds.

// History resolutions.
const (
	historyFineStep     = time.Minute
	historyFinePoints   = 360 // 6 h
	historyCoarseStep   = 5 * time.Minute
	historyCoarsePoints = 288 // 24 h
	// historyRefresh is how old the open bucket may be before a query
	// collects again.
	historyRefresh = time.Second
	// historyKeep is how long a series that is no longer reported stays.
	historyKeep = 24 * time.Hour
)

// historyLevels are the two resolutions, finest first.
var historyLevels = [2]struct {
	step   time.Duration
	points int
}{{historyFineStep, historyFinePoints}, {historyCoarseStep, historyCoarsePoints}}

// historyRange is one range the API serves: which level, how many points.
type historyRange struct {
	level  int
	points int
}

// historyRanges are the ranges of GET /history, by their query value.
var historyRanges = map[string]historyRange{
	"1h":  {0, 60},
	"6h":  {0, 360},
	"24h": {1, 288},
}

// sourceReading is what one collection read of a source, cumulative.
type sourceReading struct {
	succeeded, failed uint64
	durCount          uint64
	durSum            float64
}

// serviceReading is what one collection read of a service: cumulative
// counters and histogram, gauges as they are (0 when absent).
type serviceReading struct {
	requests, limited uint64
	latCount          uint64
	latBuckets        []uint64
	bounds            []float64
	lo, hi            float64 // NaN when the histogram keeps no extrema
	up, breaker       uint8
}

// metricNames are the instruments the history reads.
type metricNames struct {
	succeeded, failed, syncDuration string
	requests, limited, apiDuration  string
	up, breaker                     string
}

func newMetricNames(p names.Prefix) metricNames {
	return metricNames{
		succeeded: p.Name(names.SyncOperationsSuccessTotal), failed: p.Name(names.SyncOperationsFailedTotal),
		syncDuration: p.Name(names.SyncDurationSeconds),
		requests:     p.Name(names.APIRequestsTotal), limited: p.Name(names.APIRateLimitHitsTotal),
		apiDuration: p.Name(names.APIRequestDuration),
		up:          p.Name(names.ServiceUp), breaker: p.Name(names.CircuitBreakerState),
	}
}

// history is the Monitor's bounded in-memory history. collect may run
// from the sampler and from queries; collectMu serializes collections,
// mu guards the series.
type history struct {
	reader sdkmetric.Reader
	clock  clock.Clock
	names  metricNames

	collectMu   sync.Mutex
	rm          metricdata.ResourceMetrics // reused by every collection
	lastCollect time.Time

	mu       sync.Mutex
	sources  map[string]*sourceHistory
	services map[string]*serviceHistory
	notes    uint64 // transitions told so far

	stop chan struct{} // closed by shutdown; nil until start
	done chan struct{} // closed when the sampler exits
}

func newHistory(reader sdkmetric.Reader, clk clock.Clock, prefix names.Prefix) *history {
	return &history{
		reader: reader, clock: clk, names: newMetricNames(prefix),
		sources: map[string]*sourceHistory{}, services: map[string]*serviceHistory{},
	}
}

// start runs the sampler: a collection at the end of every minute.
func (h *history) start() {
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go h.run()
}

// shutdown stops the sampler and waits for it; safe when it never started.
func (h *history) shutdown() {
	if h.stop == nil {
		return
	}
	close(h.stop)
	<-h.done
}

func (h *history) run() {
	defer close(h.done)
	for {
		now := h.clock.Now()
		end := now.Truncate(historyFineStep).Add(historyFineStep)
		fired, stop := h.clock.NewTimer(end.Sub(now))
		select {
		case <-h.stop:
			stop()
			return
		case <-fired:
		}
		// The increase read now happened in the minute that just ended.
		h.collect(end.Add(-1))
	}
}

// refresh tops up the open bucket with a collection, unless one ran less
// than historyRefresh ago or is running now.
func (h *history) refresh(now time.Time) {
	if !h.collectMu.TryLock() {
		return // a collection is running: what it reads is fresh enough
	}
	fresh := !h.lastCollect.IsZero() && now.Sub(h.lastCollect) < historyRefresh
	h.collectMu.Unlock()
	if !fresh {
		h.collect(now)
	}
}

// collect reads the instruments and adds what they say to the buckets of
// time t.
func (h *history) collect(t time.Time) {
	h.collectMu.Lock()
	defer h.collectMu.Unlock()
	h.lastCollect = h.clock.Now()
	h.mu.Lock()
	notes := h.notes // transitions told after this are newer than what it reads
	h.mu.Unlock()
	// A reader the host has not registered, or one shut down, reads
	// nothing: the history then keeps what it has.
	if err := h.reader.Collect(context.Background(), &h.rm); err != nil {
		return
	}
	src, svc := h.read(&h.rm)
	h.mu.Lock()
	defer h.mu.Unlock()
	tn := t.UnixNano()
	for name, r := range src {
		h.source(name, tn).feed(r, tn)
	}
	for name, r := range svc {
		h.service(name, tn).feed(r, tn, notes)
	}
	h.forgetLocked(tn)
}

// noteHealth tells the history that service's health became up (or down)
// at t. The Monitor calls it from its health listener, for every
// transition.
func (h *history) noteHealth(service string, up bool, t time.Time) {
	code := upDown
	if up {
		code = upUp
	}
	h.note(service, t, func(s *serviceHistory) { s.up = code })
}

// noteBreaker tells the history that service's breaker moved to state at
// t. The Monitor calls it from its breaker listener, for every transition.
func (h *history) noteBreaker(service string, state breaker.State, t time.Time) {
	if state > breaker.HalfOpen {
		return
	}
	h.note(service, t, func(s *serviceHistory) { s.breaker = uint8(state) + 1 })
}

// note sets a service's state at t: the buckets in progress take it if it
// is worse than what they saw, and the buckets after them start in it.
func (h *history) note(service string, t time.Time, set func(*serviceHistory)) {
	tn := t.UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.service(service, tn)
	s.roll(tn)
	set(s)
	h.notes++
	s.noted = h.notes
	s.lastSeen = max(s.lastSeen, tn)
	for i := range s.levels {
		s.levels[i].mark(s.up, s.breaker)
	}
}

// limitedLastHour returns how many requests to service were answered 429
// in the last hour: those of the last 60 one-minute buckets, the one in
// progress included, and those since the last collection; cur is the
// service's cumulative count now.
func (h *history) limitedLastHour(service string, now time.Time, cur uint64) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.services[service]
	if s == nil {
		return cur // never collected: every 429 is recent
	}
	var n uint64
	nowB := now.UnixNano() / int64(historyFineStep)
	for b := nowB - 59; b <= nowB; b++ {
		if p, ok := s.levels[0].level.at(b); ok {
			n += uint64(p.limited)
		}
	}
	return n + increase(s.prev.limited, cur)
}

// read picks the history's instruments out of rm, by source and service.
func (h *history) read(rm *metricdata.ResourceMetrics) (map[string]*sourceReading, map[string]*serviceReading) {
	src := map[string]*sourceReading{}
	svc := map[string]*serviceReading{}
	n := &h.names
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case n.succeeded:
				eachSum(m, names.AttrSource, func(l string, v uint64) { entry(src, l).succeeded = v })
			case n.failed:
				eachSum(m, names.AttrSource, func(l string, v uint64) { entry(src, l).failed = v })
			case n.syncDuration:
				eachHistogram(m, names.AttrSource, func(l string, dp *metricdata.HistogramDataPoint[float64]) {
					r := entry(src, l)
					r.durCount, r.durSum = dp.Count, dp.Sum
				})
			case n.requests:
				eachSum(m, names.AttrService, func(l string, v uint64) { entry(svc, l).requests = v })
			case n.limited:
				eachSum(m, names.AttrService, func(l string, v uint64) { entry(svc, l).limited = v })
			case n.apiDuration:
				eachHistogram(m, names.AttrService, func(l string, dp *metricdata.HistogramDataPoint[float64]) {
					r := entry(svc, l)
					r.latCount, r.latBuckets, r.bounds = dp.Count, dp.BucketCounts, dp.Bounds
					r.lo, r.hi = extremum(dp.Min), extremum(dp.Max)
				})
			case n.up:
				eachGauge(m, names.AttrService, func(l string, v int64) {
					entry(svc, l).up = upDown
					if v != 0 {
						entry(svc, l).up = upUp
					}
				})
			case n.breaker:
				eachGauge(m, names.AttrService, func(l string, v int64) {
					if v >= 0 && v <= 2 {
						entry(svc, l).breaker = uint8(v) + 1
					}
				})
			}
		}
	}
	return src, svc
}

// extremum returns e's value, or NaN when the histogram keeps none.
func extremum(e metricdata.Extrema[float64]) float64 {
	if v, ok := e.Value(); ok {
		return v
	}
	return math.NaN()
}

// entry returns m[label], created when missing.
func entry[T any](m map[string]*T, label string) *T {
	r := m[label]
	if r == nil {
		r = new(T)
		m[label] = r
	}
	return r
}

// eachSum calls fn with each point of an int64 sum, by the label key;
// negative values count as 0. Data of another type is skipped.
func eachSum(m metricdata.Metrics, key string, fn func(label string, v uint64)) {
	if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
		for _, dp := range sum.DataPoints {
			fn(attr(dp.Attributes, key), uint64(max(dp.Value, 0)))
		}
	}
}

// eachHistogram calls fn with each point of a float64 histogram.
func eachHistogram(m metricdata.Metrics, key string, fn func(label string, dp *metricdata.HistogramDataPoint[float64])) {
	if hist, ok := m.Data.(metricdata.Histogram[float64]); ok {
		for i := range hist.DataPoints {
			fn(attr(hist.DataPoints[i].Attributes, key), &hist.DataPoints[i])
		}
	}
}

// eachGauge calls fn with each point of an int64 gauge.
func eachGauge(m metricdata.Metrics, key string, fn func(label string, v int64)) {
	if g, ok := m.Data.(metricdata.Gauge[int64]); ok {
		for _, dp := range g.DataPoints {
			fn(attr(dp.Attributes, key), dp.Value)
		}
	}
}

func (h *history) source(name string, tn int64) *sourceHistory {
	s := h.sources[name]
	if s == nil {
		s = &sourceHistory{levels: newLevels[sourcePoint](tn)}
		h.sources[name] = s
	}
	return s
}

func (h *history) service(name string, tn int64) *serviceHistory {
	s := h.services[name]
	if s == nil {
		s = &serviceHistory{lo: math.NaN(), hi: math.NaN()}
		for i, l := range newLevels[servicePoint](tn) {
			s.levels[i].level = l
		}
		h.services[name] = s
	}
	return s
}

// forgetLocked drops the series no collection reported for historyKeep:
// all their buckets have left the rings.
func (h *history) forgetLocked(tn int64) {
	cut := tn - int64(historyKeep)
	maps.DeleteFunc(h.sources, func(_ string, s *sourceHistory) bool { return s.lastSeen < cut })
	maps.DeleteFunc(h.services, func(_ string, s *serviceHistory) bool { return s.lastSeen < cut })
}

// attr returns the string attribute key of set, or "" when absent.
func attr(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.AsString()
}
