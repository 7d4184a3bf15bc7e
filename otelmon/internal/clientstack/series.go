package clientstack

import (
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Series holds one service label's readings and the attributes every
// per-service instrument shares.
type Series struct {
	// Name is the label: the sanitized service name, or labels.Overflow.
	Name    string
	set     attribute.Set
	obs     []metric.ObserveOption
	labeler *otelhttp.Labeler // adds service=<name> to otelhttp's duration

	requests, rateLimited atomic.Uint64
	failed                atomic.Uint64 // 5xx, transport errors and timeouts
	retries               atomic.Uint64 // attempts after the first

	probes probeSeries // health checks, apart from the API's requests
}

func newSeries(label string, set attribute.Set) *Series {
	l := &otelhttp.Labeler{}
	l.Add(set.ToSlice()...)
	s := &Series{Name: label, set: set, obs: []metric.ObserveOption{metric.WithAttributeSet(set)}, labeler: l}
	s.probes.init(set)
	return s
}
