package otelmon

import (
	"context"
	"errors"
	"sync/atomic"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Embedding is otelmon's part of a MeterProvider that a host owns: the
// reader through which the alert engine and the history read every
// instrument of the provider (otelmon's and the host's), and the Views that
// give otelmon's metrics their documented names and buckets. A host that
// builds its own provider adds otelmon like this, with its Config written
// once:
//
//	emb := otelmon.NewEmbedding()
//	mp := sdkmetric.NewMeterProvider(append(emb.ProviderOptions(),
//		sdkmetric.WithReader(hostExporter), sdkmetric.WithResource(res))...)
//	mon, err := otelmon.New(cfg, otelmon.WithMeterProvider(mp), otelmon.WithEmbedding(emb))
//
// The Views follow the Config that New is given (namespace, subsystem,
// histograms on or off): they match nothing until New binds them, and only
// otelmon's instruments then. New checks that mp was built with the
// Embedding's options and fails with a *ConfigError saying what to add
// when it was not, so a Monitor that New returns always evaluates alerts.
//
// An Embedding serves one Monitor at a time: a second New with it fails
// while the first Monitor lives, and a failed New releases it. It is safe
// for concurrent use.
type Embedding struct {
	reader *sdkmetric.ManualReader

	views   atomic.Pointer[[]sdkmetric.View] // bound by New from its Config
	matched atomic.Bool                      // the provider asked the views about an instrument of ScopeName
	taken   atomic.Bool                      // a Monitor uses the Embedding
}

// NewEmbedding returns an Embedding for one host MeterProvider and one
// Monitor.
func NewEmbedding() *Embedding {
	return &Embedding{reader: sdkmetric.NewManualReader()}
}

// ProviderOptions returns the options that add otelmon to a MeterProvider
// the host builds: the alert engine's reader and otelmon's Views. Append
// the host's own readers, resource and views to them. Each call returns a
// new slice.
func (e *Embedding) ProviderOptions() []sdkmetric.Option {
	return []sdkmetric.Option{sdkmetric.WithReader(e.reader), sdkmetric.WithView(e.view)}
}

// view applies the Views bound by New. The provider asks it about every
// instrument it creates; an instrument of otelmon's own scope asking shows
// New that the Monitor's provider has the Embedding's options.
func (e *Embedding) view(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if i.Scope.Name == ScopeName {
		e.matched.Store(true)
	}
	vs := e.views.Load()
	if vs == nil {
		return sdkmetric.Stream{}, false
	}
	for _, v := range *vs {
		if s, ok := v(i); ok {
			return s, true
		}
	}
	return sdkmetric.Stream{}, false
}

// take binds the Embedding to a Monitor with configuration cfg, or reports
// that another Monitor has it.
func (e *Embedding) take(cfg Config) error {
	if !e.taken.CompareAndSwap(false, true) {
		return &ConfigError{Field: "WithEmbedding", Reason: "the Embedding already serves a Monitor: make one Embedding, and one provider, per Monitor"}
	}
	views := Views(cfg)
	e.views.Store(&views)
	return nil
}

// release frees the Embedding after a failed New.
func (e *Embedding) release() {
	e.views.Store(nil)
	e.matched.Store(false)
	e.taken.Store(false)
}

// hostProviderError checks, once New has made its instruments on a host's
// provider, that the provider feeds the alert engine: built with emb's
// options when there is an Embedding, and in any case with the engine's
// reader registered. It returns nil for a provider the Monitor built.
func (m *Monitor) hostProviderError(emb *Embedding) error {
	if m.pipe.owned != nil {
		return nil
	}
	if emb != nil && !emb.matched.Load() {
		return &ConfigError{Field: "WithMeterProvider", Reason: "the provider was not built with the Embedding's options: " +
			"build it with sdkmetric.NewMeterProvider(append(emb.ProviderOptions(), ...)...)"}
	}
	var rm metricdata.ResourceMetrics
	if err := m.alerts.Reader().Collect(context.Background(), &rm); errors.Is(err, sdkmetric.ErrReaderNotRegistered) {
		return &ConfigError{Field: "WithMeterProvider", Reason: "the alert engine's reader is not registered on the provider: " +
			"build it with the options of an Embedding (NewEmbedding().ProviderOptions()) and pass WithEmbedding"}
	}
	return nil
}
