package exporters

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Prometheus is an OpenTelemetry Prometheus exporter on a registry of its
// own. It never touches prometheus.DefaultRegisterer, so any number of them
// can live in one process (one per test, say).
type Prometheus struct {
	reader   *otelprom.Exporter
	registry *prometheus.Registry
	handler  http.Handler
}

// NewPrometheus returns a Prometheus exporter whose reader must be added to a
// MeterProvider (sdkmetric.WithReader(p.Reader())) before anything shows up.
//
// The translation strategy is set explicitly to UnderscoreEscapingWithoutSuffixes:
// instrument names already are full Prometheus names, so the exporter must not
// append unit or _total suffixes, and characters invalid in Prometheus names
// are escaped to underscores. Scope labels (otel_scope_*) are left out.
func NewPrometheus() (*Prometheus, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("exporters: prometheus exporter: %w", err)
	}
	// OpenMetrics when the scraper asks for it (Prometheus does, and keeps
	// the exemplars it carries with --enable-feature=exemplar-storage); the
	// classic text format for every other client.
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true})
	return &Prometheus{reader: exp, registry: reg, handler: h}, nil
}

// Reader returns the reader to register on a MeterProvider.
func (p *Prometheus) Reader() sdkmetric.Reader { return p.reader }

// Handler returns the http.Handler serving the exposition: in the
// OpenMetrics format, exemplars (trace and span ids) included, to a client
// whose Accept header asks for application/openmetrics-text; in the
// classic Prometheus text format, which has no exemplars, otherwise.
func (p *Prometheus) Handler() http.Handler { return p.handler }

// Gatherer returns the private registry, for promhttp or testutil.
func (p *Prometheus) Gatherer() prometheus.Gatherer { return p.registry }

// Text renders the current exposition in the Prometheus text format.
func (p *Prometheus) Text(_ context.Context) (string, error) {
	mfs, err := p.registry.Gather()
	if err != nil && len(mfs) == 0 {
		return "", fmt.Errorf("exporters: gather: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil {
			return "", fmt.Errorf("exporters: encode %s: %w", mf.GetName(), eerr)
		}
	}
	if err != nil {
		return buf.String(), fmt.Errorf("exporters: gather: %w", err)
	}
	return buf.String(), nil
}
