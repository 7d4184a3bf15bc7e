package otelmon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/otelmon/internal/labels"
)

// SyncDurationBuckets returns the boundaries, in seconds, of the sync
// duration histogram: from a quarter second to 30 minutes, with a boundary
// at 300 s, the slow-sync alert's threshold. Each call returns a new slice.
func SyncDurationBuckets() []float64 {
	return []float64{0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800}
}

// sourceSeries holds the readings of one source. Counters are cumulative.
type sourceSeries struct {
	set    attribute.Set
	record []metric.RecordOption  // for the duration histogram
	obs    []metric.ObserveOption // for every observable instrument

	operations, succeeded, failed atomic.Uint64
	added, updated, found         atomic.Uint64
	consecutiveFailures           atomic.Int64
	// gaugeMu orders the changes of consecutiveFailures with their records
	// on the gauge, so that its last value is the counter's.
	gaugeMu sync.Mutex
	// Times are nanoseconds since syncMetrics.epoch, plus one; 0 is never.
	lastSuccessNanos  atomic.Int64
	lastRunNanos      atomic.Int64
	lastDurationNanos atomic.Int64
	label             string
}

// cacheSeries holds the readings of one cache type.
type cacheSeries struct {
	obs          []metric.ObserveOption
	hits, misses atomic.Uint64
}

// syncMetrics records sync operations and cache lookups.
type syncMetrics struct {
	clock clock.Clock
	// epoch anchors the times kept in atomics: they are stored as
	// nanoseconds since epoch, read through the monotonic clock, which costs
	// one clock read instead of the two of a wall-clock time.Now.
	epoch    time.Time
	sources  *labels.Table[sourceSeries]
	caches   *labels.Table[cacheSeries]
	duration metric.Float64Histogram // nil when timing histograms are off
	// consecutive is recorded, not observed, when the Monitor traces, so
	// that its exemplars name the failed syncs' traces (alerts on it read
	// them); nil otherwise, and the gauge is observed from
	// consecutiveFailures at collection, at no cost per sync.
	consecutive metric.Int64Gauge

	reg metric.Registration
}

func newSyncMetrics(meter metric.Meter, prefix names.Prefix, cfg MetricsConfig, clk clock.Clock, traced bool) (*syncMetrics, error) {
	m := &syncMetrics{
		clock: clk,
		epoch: clk.Now(),
		sources: labels.NewTable(names.AttrSource, cfg.CardinalityLimit, func(label string, set attribute.Set) *sourceSeries {
			return &sourceSeries{
				label:  label,
				set:    set,
				record: []metric.RecordOption{metric.WithAttributeSet(set)},
				obs:    []metric.ObserveOption{metric.WithAttributeSet(set)},
			}
		}),
		caches: labels.NewTable(names.AttrType, cfg.CardinalityLimit, func(_ string, set attribute.Set) *cacheSeries {
			return &cacheSeries{obs: []metric.ObserveOption{metric.WithAttributeSet(set)}}
		}),
	}
	var errs []error
	counter := func(suffix, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(prefix.Name(suffix), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	ops := counter(names.SyncOperationsTotal, "Sync operations started, per source.")
	okOps := counter(names.SyncOperationsSuccessTotal, "Sync operations that succeeded, per source.")
	failedOps := counter(names.SyncOperationsFailedTotal, "Sync operations that failed, per source.")
	added := counter(names.ItemsAddedTotal, "Items added by sync operations, per source.")
	updated := counter(names.ItemsUpdatedTotal, "Items updated by sync operations, per source.")
	found := counter(names.ItemsFoundTotal, "Items found in source lists by sync operations, per source.")
	hits := counter(names.CacheHitsTotal, "Cache lookups that hit, per cache type.")
	misses := counter(names.CacheMissesTotal, "Cache lookups that missed, per cache type.")
	observed := []metric.Observable{ops, okOps, failedOps, added, updated, found, hits, misses}
	var consecutive metric.Int64ObservableGauge
	consecutiveName := prefix.Name(names.ConsecutiveFailures)
	const consecutiveDesc = "Failed sync operations since the last successful one, per source."
	var err error
	if traced {
		m.consecutive, err = meter.Int64Gauge(consecutiveName, metric.WithDescription(consecutiveDesc))
	} else {
		consecutive, err = meter.Int64ObservableGauge(consecutiveName, metric.WithDescription(consecutiveDesc))
		observed = append(observed, consecutive)
	}
	errs = append(errs, err)
	// No unit: "s" would make a suffixing Prometheus exporter (a stock
	// OpenTelemetry Collector's) name it ..._timestamp_seconds; the seed's
	// name is ..._timestamp (Unix time in seconds, as the description says).
	lastSuccess, err := meter.Float64ObservableGauge(prefix.Name(names.LastSuccessfulSync),
		metric.WithDescription("Unix time of the last successful sync operation, per source; absent until one succeeds."))
	errs = append(errs, err)
	observed = append(observed, lastSuccess)
	if !cfg.DisableTimingHistograms {
		m.duration, err = meter.Float64Histogram(prefix.Name(names.SyncDurationSeconds),
			metric.WithDescription("Duration of sync operations, per source."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(SyncDurationBuckets()...))
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelmon: sync instruments: %w", err)
	}

	m.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.sources.Each(func(s *sourceSeries) {
			o.ObserveInt64(ops, int64(s.operations.Load()), s.obs...)
			o.ObserveInt64(okOps, int64(s.succeeded.Load()), s.obs...)
			o.ObserveInt64(failedOps, int64(s.failed.Load()), s.obs...)
			o.ObserveInt64(added, int64(s.added.Load()), s.obs...)
			o.ObserveInt64(updated, int64(s.updated.Load()), s.obs...)
			o.ObserveInt64(found, int64(s.found.Load()), s.obs...)
			if consecutive != nil {
				o.ObserveInt64(consecutive, s.consecutiveFailures.Load(), s.obs...)
			}
			if t := m.wallTime(s.lastSuccessNanos.Load()); !t.IsZero() {
				o.ObserveFloat64(lastSuccess, float64(t.UnixNano())/1e9, s.obs...)
			}
		})
		m.caches.Each(func(c *cacheSeries) {
			o.ObserveInt64(hits, int64(c.hits.Load()), c.obs...)
			o.ObserveInt64(misses, int64(c.misses.Load()), c.obs...)
		})
		return nil
	}, observed...)
	if err != nil {
		return nil, fmt.Errorf("otelmon: register sync callback: %w", err)
	}
	return m, nil
}

// recordSync is the hot path of RecordSyncOperation: a lock-free lookup,
// atomic adds, and one histogram record with a prebuilt option.
func (m *syncMetrics) recordSync(ctx context.Context, source string, success bool, d time.Duration, added, updated, found uint64) {
	s := m.sources.Get(source)
	now := int64(m.clock.Now().Sub(m.epoch)) + 1 // +1: zero means "never"
	first := s.operations.Add(1) == 1
	s.lastRunNanos.Store(now)
	s.lastDurationNanos.Store(int64(d))
	switch {
	case success:
		s.succeeded.Add(1)
		// A recorded gauge is recorded when it changes only: a run of
		// successes costs nothing more.
		if m.consecutive == nil {
			if s.consecutiveFailures.Load() != 0 {
				s.consecutiveFailures.Store(0)
			}
		} else if s.consecutiveFailures.Load() != 0 || first {
			s.gaugeMu.Lock()
			s.consecutiveFailures.Store(0)
			m.consecutive.Record(ctx, 0, s.record...)
			s.gaugeMu.Unlock()
		}
		s.lastSuccessNanos.Store(now)
	case m.consecutive == nil:
		s.failed.Add(1)
		s.consecutiveFailures.Add(1)
	default:
		s.failed.Add(1)
		s.gaugeMu.Lock()
		m.consecutive.Record(ctx, s.consecutiveFailures.Add(1), s.record...)
		s.gaugeMu.Unlock()
	}
	if added != 0 {
		s.added.Add(added)
	}
	if updated != 0 {
		s.updated.Add(updated)
	}
	if found != 0 {
		s.found.Add(found)
	}
	if m.duration != nil {
		if d < 0 {
			d = 0
		}
		m.duration.Record(ctx, d.Seconds(), s.record...)
	}
}

func (m *syncMetrics) recordCache(cacheType string, hit bool) {
	c := m.caches.Get(cacheType)
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

// SyncStatus is the latest state of one source's syncs.
type SyncStatus struct {
	Source string `json:"source"`
	// LastResult is "success" or "failure".
	LastResult          string    `json:"lastResult"`
	LastRun             time.Time `json:"lastRun"`
	LastDurationSeconds float64   `json:"lastDurationSeconds"`
	// LastSuccess is zero if no sync of the source has succeeded.
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	ConsecutiveFailures int64     `json:"consecutiveFailures"`
	Succeeded           uint64    `json:"succeeded"`
	Failed              uint64    `json:"failed"`
	ItemsAdded          uint64    `json:"itemsAdded"`
	ItemsUpdated        uint64    `json:"itemsUpdated"`
	ItemsFound          uint64    `json:"itemsFound"`
}

// syncStatuses returns the state of every source seen, in first-seen order.
func (m *syncMetrics) syncStatuses() []SyncStatus {
	var out []SyncStatus
	m.sources.Each(func(s *sourceSeries) {
		st := SyncStatus{
			Source:              s.label,
			LastResult:          "success",
			LastDurationSeconds: time.Duration(s.lastDurationNanos.Load()).Seconds(),
			ConsecutiveFailures: s.consecutiveFailures.Load(),
			Succeeded:           s.succeeded.Load(),
			Failed:              s.failed.Load(),
			ItemsAdded:          s.added.Load(),
			ItemsUpdated:        s.updated.Load(),
			ItemsFound:          s.found.Load(),
		}
		if st.ConsecutiveFailures > 0 {
			st.LastResult = "failure"
		}
		st.LastRun = m.wallTime(s.lastRunNanos.Load())
		st.LastSuccess = m.wallTime(s.lastSuccessNanos.Load())
		out = append(out, st)
	})
	return out
}

// wallTime turns a stored time back into UTC wall-clock time; zero stays
// the zero Time.
func (m *syncMetrics) wallTime(stored int64) time.Time {
	if stored == 0 {
		return time.Time{}
	}
	return m.epoch.Add(time.Duration(stored - 1)).Round(0).UTC()
}
