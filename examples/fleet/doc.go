// Package fleet holds the fleet layout of otelmon's demo and its end-to-end
// test: several instances of examples/listsync push OTLP to an OpenTelemetry
// Collector built from examples/collector; two Prometheus servers scrape the
// collector and receive its remote write, evaluate the rule twins of
// examples/prometheus/alerts.yml and send alerts to two clustered
// Alertmanagers, which also receive the instances' own alerts and notify a
// webhook once per alert group.
//
// The configuration files of this directory (collector.yaml,
// prometheus.yml, alertmanager.yml, docker-compose.yml) are what the test
// runs, with addresses and intervals rewritten for loopback; see README.md.
// The package has no API: it is here so that go test ./... runs the test.
package fleet
