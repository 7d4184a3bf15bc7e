package alertmanager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/alertmanager"
	"github.com/listsync/otelmon/internal/clock"
)

func Example() {
	// A stand-in for Alertmanager's POST /api/v2/alerts.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path)
		fmt.Println(string(body))
	}))
	defer srv.Close()

	now := time.Date(2025, 3, 1, 12, 5, 0, 0, time.UTC)
	n, err := alertmanager.New(srv.URL,
		alertmanager.WithGeneratorURL("https://status.example.com/alerts"),
		alertmanager.WithResendWindow(4*time.Minute),
		alertmanager.WithClock(clock.NewFake(now)),
		// The name given to otelmon.WithServiceName, so that job is the
		// job of the Monitor's series.
		alertmanager.WithServiceName("listsync"),
		// Without this, instance is the process's service.instance.id.
		alertmanager.WithExternalLabels(map[string]string{"instance": "listsync-0"}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Notify(context.Background(), alerting.Alert{
		Rule:     "service-down",
		Level:    alerting.Critical,
		State:    alerting.Firing,
		Title:    "Service imdb is down",
		Labels:   map[string]string{"service": "imdb", "k8s.namespace": "media"},
		StartsAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	fmt.Println("error:", err)
	// Output:
	// POST /api/v2/alerts
	// [{"labels":{"alertname":"service-down","instance":"listsync-0","job":"listsync","k8s_namespace":"media","service":"imdb","severity":"critical"},"annotations":{"summary":"Service imdb is down","value":"0"},"startsAt":"2025-03-01T12:00:00Z","endsAt":"2025-03-01T12:09:00Z","generatorURL":"https://status.example.com/alerts"}]
	// error: <nil>
}

// A host that builds its own MeterProvider gives the notifier the same
// resource, so that alerts carry the job and instance of its series.
func ExampleWithResource() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []struct {
			Labels map[string]string `json:"labels"`
		}
		_ = json.NewDecoder(r.Body).Decode(&alerts)
		fmt.Println(alerts[0].Labels)
	}))
	defer srv.Close()

	res := resource.NewSchemaless(
		attribute.String("service.namespace", "media"),
		attribute.String("service.name", "listsync"),
		attribute.String("service.instance.id", "listsync-0"))
	// The host's provider: sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), ...)
	n, err := alertmanager.New(srv.URL, alertmanager.WithResource(res))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Notify(context.Background(), alerting.Alert{
		Rule: "service-down", Level: alerting.Critical, State: alerting.Firing,
		Title: "Service imdb is down", Labels: map[string]string{"service": "imdb"},
	})
	fmt.Println("error:", err)
	// Output:
	// map[alertname:service-down instance:listsync-0 job:media/listsync service:imdb severity:critical]
	// error: <nil>
}

func ExampleNotifier_String() {
	n, _ := alertmanager.New("https://admin:s3cret@alertmanager.example.com")
	fmt.Println(n)
	// Output:
	// alertmanager(https://alertmanager.example.com)
}

// New reports every option it cannot use, each as a *ConfigError.
func ExampleNew_invalidOptions() {
	_, err := alertmanager.New("http://alertmanager:9093",
		alertmanager.WithResendWindow(-time.Minute),
		alertmanager.WithName(""))
	var ce *alertmanager.ConfigError
	if errors.As(err, &ce) {
		fmt.Printf("%s %s: %s\n", ce.Field, ce.Value, ce.Reason)
	}
	fmt.Println(err)
	// Output:
	// WithResendWindow -1m0s: must not be negative
	// alertmanager: invalid config: WithResendWindow = -1m0s: must not be negative
	// alertmanager: invalid config: WithName: must not be empty
}
