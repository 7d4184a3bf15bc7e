// Package prometheus holds the Prometheus configuration of otelmon's demo
// (prometheus.yml), the Prometheus twins of the default alert rules
// (alerts.yml, written by alerting.PrometheusRules) and the differential
// test of those twins: one scripted workload on loopback, the in-process
// engine and a real Prometheus evaluating the twins side by side, each
// rule's alerts firing and resolving on both within two evaluation
// intervals. See README.md.
//
// The package has no API: it is here so that go test ./... runs the test.
package prometheus
