package alerting

import (
	"encoding/hex"
	"slices"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Exemplars. The SDK keeps a series' exemplars from one collection to the
// next until newer measurements replace them, for as long as the process
// runs, so the store tells the new ones apart. An exemplar is fresh when
// it was measured since the previous ingest:
//
//   - when the previous ingest noted the series' exemplars too, an
//     exemplar it lacked is fresh: the SDK replaces an exemplar only by a
//     later measurement, so this is exact. (Its time is not compared with
//     the previous data point's: the SDK stamps a data point when the
//     collection starts, and a measurement stamped just before that can
//     reach the reservoir after the collection read it.)
//   - otherwise (the series' first ingest with a rule bound to it, a rule
//     added at runtime, or the series back after missing from a
//     collection) there is nothing to compare with, and an exemplar is
//     fresh when it was measured within the evaluation interval before the
//     data point's time, as if the series had been read at the previous
//     evaluation. Older ones, days old perhaps, name traces the alert's
//     condition did not see.
//
// Times are the SDK's (the exemplar's and the data point's), never the
// engine's clock. The trace ids of the fresh exemplars whose measurement
// satisfied a rule's condition are what an alert of the rule on the
// series names (see binding.traceIDs).

// exemplarRef identifies an exemplar between ingests.
type exemplarRef struct {
	trace [16]byte
	span  [8]byte
	t     int64 // UnixNano of the measurement
}

type freshExemplar struct {
	ref   exemplarRef
	value float64
}

// noteExemplars records the exemplars of s's data point of time t for this
// ingest and finds the fresh ones. Exemplars without a trace id are
// ignored.
func noteExemplars[N int64 | float64](st *seriesStore, s *seriesEntry, t time.Time, ex []metricdata.Exemplar[N]) {
	s.fresh = s.fresh[:0]
	continuous := s.exSeq != 0 && s.exSeq == st.prevSeq
	s.exSeq = st.seq
	if len(ex) == 0 && len(s.exemplars) == 0 {
		return
	}
	since := t.Add(-st.interval).UnixNano() // for a series not noted at the previous ingest
	cur := s.exBuf[:0]
	for i := range ex {
		e := &ex[i]
		if len(e.TraceID) != 16 {
			continue
		}
		var r exemplarRef
		copy(r.trace[:], e.TraceID)
		copy(r.span[:], e.SpanID)
		r.t = e.Time.UnixNano()
		cur = append(cur, r)
		if !slices.Contains(s.exemplars, r) && (continuous || r.t > since) {
			s.fresh = append(s.fresh, freshExemplar{ref: r, value: float64(e.Value)})
		}
	}
	s.exemplars, s.exBuf = cur, s.exemplars[:0]
}

// maxTraceIDs bounds the trace ids an alert keeps: the newest.
const maxTraceIDs = 10

// traceIDs returns, in hex and without repeats, the trace ids of the fresh
// exemplars of s whose measurement satisfied b's condition: above the
// bound for a SlowOperation, satisfying the comparison for a value
// condition on a gauge or sum (a consecutive-failures gauge's exemplars of
// failures from the threshold on), any for the other conditions on
// histograms and sums.
func (b *binding) traceIDs(s *seriesEntry) []string {
	if len(s.fresh) == 0 {
		return nil
	}
	c := &b.re.c
	var out []string
	for _, f := range s.fresh {
		switch {
		case c.kind == kindCircuit:
			return nil
		case c.kind == kindAbove && f.value <= c.bound:
			continue
		case c.kind == kindValue && !s.hist && !c.op.cmp(f.value, c.threshold):
			continue
		}
		id := hex.EncodeToString(f.ref.trace[:])
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// mergeTraceIDs returns old followed by the ids of fresh it lacks, the
// newest maxTraceIDs at most, in a new slice (old is not changed); old
// itself when fresh adds nothing.
func mergeTraceIDs(old, fresh []string) []string {
	var out []string
	for _, id := range fresh {
		if slices.Contains(old, id) || slices.Contains(out, id) {
			continue
		}
		if out == nil {
			out = slices.Clone(old)
		}
		out = append(out, id)
	}
	if out == nil {
		return old
	}
	if len(out) > maxTraceIDs {
		out = slices.Clone(out[len(out)-maxTraceIDs:])
	}
	return out
}
