// Command otelmon-collector is an OpenTelemetry Collector built from the
// official Go modules with the components an otelmon fleet needs and no
// others: the OTLP receiver, the batch processor, and the prometheus,
// prometheus_remote_write and debug exporters.
//
// Every collector module is pinned to one release (core v0.165.0 and its
// stable modules v1.71.0, contrib v0.165.1); upgrade them together. Build
// and run it from this directory:
//
//	go build -o otelmon-collector .
//	./otelmon-collector validate --config config.yaml
//	./otelmon-collector --config config.yaml
//
// It is what the collector builder (ocb) would generate from a manifest
// naming these components, written by hand so that it builds with the Go
// toolchain alone. See config.yaml for the settings that keep every
// otelmon metric name and label as the direct Prometheus exposition has
// them.
package main

import (
	"os"
	"runtime/debug"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// version is the collector release the components come from.
const version = "0.165.0"

func main() {
	info := component.BuildInfo{
		Command:     "otelmon-collector",
		Description: "OpenTelemetry Collector for otelmon fleets",
		Version:     version,
	}
	set := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	// The command prints its error itself.
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		os.Exit(1)
	}
}

// components returns the factories of the components this collector
// includes, with the module and version of each for the components
// subcommand.
func components() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	otlp := otlpreceiver.NewFactory()
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlp); err != nil {
		return f, err
	}
	batch := batchprocessor.NewFactory()
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](batch); err != nil {
		return f, err
	}
	debugExp, prom, prw := debugexporter.NewFactory(), prometheusexporter.NewFactory(), prometheusremotewriteexporter.NewFactory()
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](debugExp, prom, prw); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()

	f.ReceiverModules = map[component.Type]string{otlp.Type(): module("go.opentelemetry.io/collector/receiver/otlpreceiver")}
	f.ProcessorModules = map[component.Type]string{batch.Type(): module("go.opentelemetry.io/collector/processor/batchprocessor")}
	f.ExporterModules = map[component.Type]string{
		debugExp.Type(): module("go.opentelemetry.io/collector/exporter/debugexporter"),
		prom.Type():     module("github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"),
		prw.Type():      module("github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"),
	}
	return f, nil
}

// module returns "path version" for a module the binary was built with, as
// the collector builder writes it; just path when the build carries no
// module information.
func module(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return path
	}
	for _, m := range info.Deps {
		if m.Path == path {
			return path + " " + m.Version
		}
	}
	return path
}
