// Package history keeps the last 24 hours of what the status page plots:
// per-minute and per-five-minute buckets of each sync source's outcomes and
// durations, and of each API service's requests, 429 answers, latency
// quantiles, health and breaker state. It serves them as the body of
// GET /api/v3/monitoring/history.
//
// The history is read from the Monitor's own instruments through a
// ManualReader (the alert engine's): it is a view of the metrics, not a
// second bookkeeping. Each collection reads the cumulative counters and
// histograms and adds their increase since the previous collection to the
// bucket of its time (a drop is a restart from zero, as Prometheus'
// increase() counts it); gauges are read as they are. Quantiles come from
// the increase of the histogram's buckets, within the smallest and largest
// value the histogram has seen.
//
// A service's health and breaker state are not only read: the Monitor
// tells the history of every health transition and breaker transition as
// it happens ([History.NoteHealth], [History.NoteBreaker]), and each bucket
// keeps the worst state it saw, starting from the state the previous
// bucket ended in. A 30-second outage inside a minute is down in that
// minute even though the readings at the minute's start and end are up.
//
// Two resolutions keep memory small: 1-minute buckets for the last 6 hours
// (1h and 6h ranges) and 5-minute buckets for the last 24 hours (24h
// range), each a fixed ring per series, fed independently by every
// collection. The bucket in progress is shown too: a collection runs at
// every minute's end, and a query may top it up with a fresh collection
// (at most one a second, [History.Refresh]), so the page follows a sync
// within seconds.
//
// The error budgets of the service level objectives are kept too: each
// collection asks the alert engine for every objective series' budget
// ([History.SampleSLOs]) and each bucket keeps the last one it read.
//
// The files: history.go holds the History, its sampler and the
// transitions it is told of; read.go picks its instruments out of a
// collection; buckets.go holds the buckets and rings and how readings feed
// them; slos.go holds the error budgets; json.go builds the API's body
// from them.
package history

import (
	"context"
	"maps"
	"math"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// The resolutions.
const (
	fineStep     = time.Minute
	finePoints   = 360 // 6 h
	coarseStep   = 5 * time.Minute
	coarsePoints = 288 // 24 h
	// refreshAfter is how old the open bucket may be before a query
	// collects again.
	refreshAfter = time.Second
	// keepFor is how long a series that is no longer reported stays.
	keepFor = 24 * time.Hour
)

// levels are the two resolutions, finest first.
var levels = [2]struct {
	step   time.Duration
	points int
}{{fineStep, finePoints}, {coarseStep, coarsePoints}}

// Range is one range the API serves: which level, how many points. The
// zero Range is not one; [ParseRange] returns them.
type Range struct {
	level  int
	points int
}

// ranges are the ranges of GET /history, by their query value.
var ranges = map[string]Range{
	"1h":  {0, 60},
	"6h":  {0, 360},
	"24h": {1, 288},
}

// ParseRange returns the range of a GET /history query's range value:
// "1h", "6h" or "24h"; false for any other.
func ParseRange(name string) (Range, bool) {
	rg, ok := ranges[name]
	return rg, ok
}

// History is the Monitor's bounded in-memory history. Collect may run
// from the sampler and from queries; collectMu serializes collections,
// mu guards the series. Its methods are safe for concurrent use.
type History struct {
	reader sdkmetric.Reader
	clock  clock.Clock
	names  metricNames

	collectMu   sync.Mutex
	rm          metricdata.ResourceMetrics // reused by every collection
	lastCollect time.Time

	mu       sync.Mutex
	sources  map[string]*sourceHistory
	services map[string]*serviceHistory
	slos     sloSampler
	notes    uint64 // transitions told so far

	stop chan struct{} // closed by Shutdown; nil until Start
	done chan struct{} // closed when the sampler exits
}

// New returns a History that reads the instruments named with prefix
// through reader, a cumulative one, and tells time by clk. It collects
// nothing until it is started or asked to.
func New(reader sdkmetric.Reader, clk clock.Clock, prefix names.Prefix) *History {
	return &History{
		reader: reader, clock: clk, names: newMetricNames(prefix),
		sources: map[string]*sourceHistory{}, services: map[string]*serviceHistory{},
	}
}

// Start runs the sampler: a collection at the end of every minute.
func (h *History) Start() {
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go h.run()
}

// Shutdown stops the sampler and waits for it; safe when it never started.
func (h *History) Shutdown() {
	if h.stop == nil {
		return
	}
	close(h.stop)
	<-h.done
}

func (h *History) run() {
	defer close(h.done)
	for {
		now := h.clock.Now()
		end := now.Truncate(fineStep).Add(fineStep)
		fired, stop := h.clock.NewTimer(end.Sub(now))
		select {
		case <-h.stop:
			stop()
			return
		case <-fired:
		}
		// The increase read now happened in the minute that just ended.
		h.Collect(end.Add(-1))
	}
}

// Refresh tops up the open bucket with a collection, unless one ran less
// than a second (refreshAfter) ago or is running now. A query calls it
// before its Snapshot.
func (h *History) Refresh(now time.Time) {
	if !h.collectMu.TryLock() {
		return // a collection is running: what it reads is fresh enough
	}
	fresh := !h.lastCollect.IsZero() && now.Sub(h.lastCollect) < refreshAfter
	h.collectMu.Unlock()
	if !fresh {
		h.Collect(now)
	}
}

// Collect reads the instruments and adds what they say to the buckets of
// time t. The sampler calls it at each minute's end with a time inside the
// minute that ended; Refresh calls it with the time of the query.
func (h *History) Collect(t time.Time) {
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
	budgets := h.readSLOs()
	h.mu.Lock()
	defer h.mu.Unlock()
	tn := t.UnixNano()
	for name, r := range src {
		h.source(name, tn).feed(r, tn)
	}
	for name, r := range svc {
		h.service(name, tn).feed(r, tn, notes)
	}
	h.feedSLOsLocked(budgets, tn)
	h.forgetLocked(tn)
}

// NoteHealth tells the history that service's health became up (or down)
// at t. The Monitor calls it from its health listener, for every
// transition.
func (h *History) NoteHealth(service string, up bool, t time.Time) {
	code := upDown
	if up {
		code = upUp
	}
	h.note(service, t, func(s *serviceHistory) { s.up = code })
}

// NoteBreaker tells the history that service's breaker moved to state at
// t. The Monitor calls it from its breaker listener, for every transition.
// A state other than closed, open or half-open is ignored.
func (h *History) NoteBreaker(service string, state breaker.State, t time.Time) {
	if state > breaker.HalfOpen {
		return
	}
	h.note(service, t, func(s *serviceHistory) { s.breaker = uint8(state) + 1 })
}

// note sets a service's state at t: the buckets in progress take it if it
// is worse than what they saw, and the buckets after them start in it.
func (h *History) note(service string, t time.Time, set func(*serviceHistory)) {
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

// LimitedLastHour returns how many requests to service were answered 429
// in the last hour: those of the last 60 one-minute buckets, the one in
// progress included, and those since the last collection; cur is the
// service's cumulative count now.
func (h *History) LimitedLastHour(service string, now time.Time, cur uint64) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.services[service]
	if s == nil {
		return cur // never collected: every 429 is recent
	}
	var n uint64
	nowB := now.UnixNano() / int64(fineStep)
	for b := nowB - 59; b <= nowB; b++ {
		if p, ok := s.levels[0].level.at(b); ok {
			n += uint64(p.limited)
		}
	}
	return n + increase(s.prev.limited, cur)
}

func (h *History) source(name string, tn int64) *sourceHistory {
	s := h.sources[name]
	if s == nil {
		s = &sourceHistory{levels: newLevels[sourcePoint](tn)}
		h.sources[name] = s
	}
	return s
}

func (h *History) service(name string, tn int64) *serviceHistory {
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

// forgetLocked drops the series no collection reported for keepFor:
// all their buckets have left the rings.
func (h *History) forgetLocked(tn int64) {
	cut := tn - int64(keepFor)
	maps.DeleteFunc(h.sources, func(_ string, s *sourceHistory) bool { return s.lastSeen < cut })
	maps.DeleteFunc(h.services, func(_ string, s *serviceHistory) bool { return s.lastSeen < cut })
	h.forgetSLOsLocked(cut)
}
