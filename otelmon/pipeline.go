package otelmon

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/exporters"
)

// pipeline is where the Monitor's metrics go: the provider it records on,
// the Prometheus exporter when metrics are scraped, and the callbacks its
// parts registered on the provider.
type pipeline struct {
	mp         metric.MeterProvider
	owned      *sdkmetric.MeterProvider // nil when the host owns mp
	prometheus *exporters.Prometheus    // nil when not exporting to Prometheus
	regs       []registration           // removed by unregister
}

// registration is a callback registered on the provider: a
// metric.Registration, or a part's set of them.
type registration interface{ Unregister() error }

// newPipeline builds the Monitor's own provider: the exporters o and the
// environment select (exporters.New), otelmon's Views for cfg, and the
// alert engine's reader.
func newPipeline(cfg Config, o options, alertReader sdkmetric.Reader) (pipeline, error) {
	ctx := context.Background()
	exp, err := exporters.New(ctx, o.pushExporters)
	if err != nil {
		return pipeline{}, err
	}
	res, err := exporters.Resource(ctx, o.serviceName, o.serviceVersion)
	if err != nil {
		return pipeline{}, errors.Join(err, exp.Reader.Shutdown(ctx))
	}
	popts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(exp.Reader), sdkmetric.WithReader(alertReader)}
	for _, v := range Views(cfg) {
		popts = append(popts, sdkmetric.WithView(v))
	}
	mp := sdkmetric.NewMeterProvider(popts...)
	return pipeline{mp: mp, owned: mp, prometheus: exp.Prometheus}, nil
}

// unregister removes the parts' callbacks from the provider.
func (p *pipeline) unregister() error {
	var errs []error
	for _, r := range p.regs {
		errs = append(errs, r.Unregister())
	}
	p.regs = nil
	return errors.Join(errs...)
}

// shutdown flushes and shuts down a provider the Monitor built.
func (p *pipeline) shutdown(ctx context.Context) error {
	if p.owned == nil {
		return nil
	}
	return shutdownOwned(ctx, "meter provider", p.owned)
}

// shutdownOwned shuts down a provider the Monitor built.
func shutdownOwned(ctx context.Context, what string, p interface{ Shutdown(context.Context) error }) error {
	if err := p.Shutdown(ctx); err != nil {
		return fmt.Errorf("otelmon: shut down %s: %w", what, err)
	}
	return nil
}
