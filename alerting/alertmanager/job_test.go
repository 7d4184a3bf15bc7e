package alertmanager_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/alertmanager"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/otelmon"
)

// TestJobMatchesMonitorMetrics checks that an alert's job label is the job
// of the Monitor's series, by default and with a service name, with and
// without the environment overriding it: otherwise an in-process alert and
// its Prometheus twin differ and Alertmanager does not deduplicate them.
// The metrics' job is what the collector's Prometheus exporters make of
// the resource the Monitor exposes as target_info: service.namespace/
// service.name, or service.name alone.
func TestJobMatchesMonitorMetrics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		service string // given to both WithServiceName options; "" gives neither
		want    string
	}{
		{"defaults", nil, "", "otelmon"},
		{"service name", nil, "listsync-demo", "listsync-demo"},
		{"OTEL_SERVICE_NAME over the default", map[string]string{"OTEL_SERVICE_NAME": "fleet"}, "", "fleet"},
		{"OTEL_SERVICE_NAME over the service name", map[string]string{"OTEL_SERVICE_NAME": "fleet"}, "listsync-demo", "fleet"},
		{"namespace from OTEL_RESOURCE_ATTRIBUTES", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.namespace=media"}, "listsync-demo", "media/listsync-demo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", "")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
			t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var mopts []otelmon.Option
			var nopts []alertmanager.Option
			if tc.service != "" {
				mopts = append(mopts, otelmon.WithServiceName(tc.service, ""))
				nopts = append(nopts, alertmanager.WithServiceName(tc.service))
			}
			metricsJob := monitorJob(t, mopts...)
			alertJob := notifiedLabels(t, nopts...)["job"]
			if metricsJob != tc.want || alertJob != tc.want {
				t.Errorf("metrics' job %q, alert's job %q, want both %q", metricsJob, alertJob, tc.want)
			}
		})
	}
}

// monitorJob returns the job the collector gives the series of a Monitor
// made with opts, from its target_info.
func monitorJob(t *testing.T, opts ...otelmon.Option) string {
	t.Helper()
	quiet := []otelmon.Option{otelmon.WithLogger(slog.New(slog.DiscardHandler)), otelmon.WithAPIKey("test-key")}
	m, err := otelmon.New(otelmon.DefaultConfig(), append(quiet, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	info := families["target_info"]
	if info == nil || len(info.GetMetric()) != 1 {
		t.Fatalf("no single target_info in the exposition: %v", info)
	}
	var name, namespace string
	for _, lp := range info.GetMetric()[0].GetLabel() {
		switch lp.GetName() {
		case "service_name":
			name = lp.GetValue()
		case "service_namespace":
			namespace = lp.GetValue()
		}
	}
	if namespace != "" {
		return namespace + "/" + name
	}
	return name
}

// notifiedLabels returns the labels of an alert that a Notifier made with
// opts posts.
func notifiedLabels(t *testing.T, opts ...alertmanager.Option) map[string]string {
	t.Helper()
	rcv := notifytest.NewReceiver(t, nil)
	n := notifytest.MustNew(t, alertmanager.New, rcv.URL, opts...)
	if err := n.Notify(context.Background(), notifytest.Firing(alerting.Critical)); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(rcv.Next(t).Body, &got); err != nil || len(got) != 1 {
		t.Fatalf("payload %v: %v", got, err)
	}
	return got[0].Labels
}
