package otelmon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/exporters"
)

// hostProvider returns a provider built as a host builds it: the
// Embedding's options, then the host's readers.
func hostProvider(tb testing.TB, readers ...sdkmetric.Reader) (*sdkmetric.MeterProvider, *Embedding) {
	tb.Helper()
	emb := NewEmbedding()
	opts := emb.ProviderOptions()
	for _, r := range readers {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, emb
}

// A host's provider built with an Embedding feeds the alert engine, which
// evaluates the default rules and a rule on the host's own instrument; the
// Views follow the Config given to New, and leave the host's own otelhttp
// metrics alone.
func TestEmbedding(t *testing.T) {
	ctx := context.Background()
	prom, err := exporters.NewPrometheus()
	if err != nil {
		t.Fatal(err)
	}
	mp, emb := hostProvider(t, prom.Reader())
	cfg := DefaultConfig()
	cfg.Metrics.Namespace = "host"
	m, err := New(cfg, WithMeterProvider(mp), WithEmbedding(emb), WithPrometheus(prom), WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(ctx) })

	eng := m.Alerts()
	if eng == nil {
		t.Fatal("Alerts() is nil on a host's provider")
	}
	if got, want := len(eng.Rules()), len(alerting.DefaultRules())+len(alerting.SLORules()); got != want {
		t.Fatalf("%d rules on the host's engine, want the %d default and burn-rate ones", got, want)
	}
	queue, err := mp.Meter("host").Int64UpDownCounter("host_queue_depth")
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.AddRule(alerting.Rule{
		Name: "deep_queue", Level: alerting.Critical,
		Condition: alerting.Threshold{Instrument: "host_queue_depth", Op: alerting.OpGreater, Value: 100},
	}); err != nil {
		t.Fatal(err)
	}
	queue.Add(ctx, 150)
	if err := eng.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if act := eng.Active(); len(act) != 1 || act[0].Rule != "deep_queue" || act[0].Value != 150 {
		t.Fatalf("host rule: %+v", act)
	}

	srv := statusServer(t)
	hostClient := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithMeterProvider(mp))}
	doGet(t, hostClient, srv.URL+"/200")
	doGet(t, m.HTTPClient("trakt"), srv.URL+"/200")
	text, err := prom.Text(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "http_client_request_duration_count{") {
		t.Errorf("host's otelhttp metric was renamed or dropped:\n%s", text)
	}
	if !strings.Contains(text, `host_list_sync_api_request_duration_seconds_count{service="trakt"} 1`) {
		t.Errorf("otelmon's API duration missing under the Config's namespace:\n%s", text)
	}
}

// Every wiring that cannot feed the alert engine is a *ConfigError from New
// that names the option at fault and says what to add.
func TestEmbeddingMiswired(t *testing.T) {
	bareProvider := func(t *testing.T) *sdkmetric.MeterProvider {
		mp := sdkmetric.NewMeterProvider()
		t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		return mp
	}
	for _, tc := range []struct {
		name      string
		opts      func(t *testing.T) []Option
		field     string
		wantWords string
	}{
		{
			name:      "provider without an embedding",
			opts:      func(t *testing.T) []Option { return []Option{WithMeterProvider(bareProvider(t))} },
			field:     "WithMeterProvider",
			wantWords: "NewEmbedding().ProviderOptions()",
		},
		{
			name: "embedding not in the provider",
			opts: func(t *testing.T) []Option {
				return []Option{WithMeterProvider(bareProvider(t)), WithEmbedding(NewEmbedding())}
			},
			field:     "WithMeterProvider",
			wantWords: "emb.ProviderOptions()",
		},
		{
			name:      "embedding without a provider",
			opts:      func(*testing.T) []Option { return []Option{WithEmbedding(NewEmbedding())} },
			field:     "WithEmbedding",
			wantWords: "needs WithMeterProvider",
		},
		{
			name: "embedding and engine",
			opts: func(t *testing.T) []Option {
				mp, emb := hostProvider(t)
				eng, err := NewAlertEngine(DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
				return []Option{WithMeterProvider(mp), WithEmbedding(emb), WithAlertEngine(eng)}
			},
			field:     "WithAlertEngine",
			wantWords: "cannot be combined with WithEmbedding",
		},
		{
			name: "engine whose reader is not registered",
			opts: func(t *testing.T) []Option {
				eng, err := NewAlertEngine(DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
				return []Option{WithMeterProvider(bareProvider(t)), WithAlertEngine(eng)}
			},
			field:     "WithMeterProvider",
			wantWords: "reader is not registered",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(DefaultConfig(), append(tc.opts(t), WithAPIKey(testKey))...)
			if err == nil {
				_ = m.Shutdown(context.Background())
				t.Fatal("New accepted a provider the alert engine cannot read")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || ce.Field != tc.field {
				t.Fatalf("New: %v, want a *ConfigError for %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.wantWords) {
				t.Errorf("New: %v, want it to say %q", err, tc.wantWords)
			}
		})
	}
}

// An Embedding serves one Monitor; a New that failed lets it go, so a
// corrected retry works.
func TestEmbeddingOneMonitor(t *testing.T) {
	ctx := context.Background()
	mp, emb := hostProvider(t)
	other := sdkmetric.NewMeterProvider()
	t.Cleanup(func() { _ = other.Shutdown(ctx) })
	if _, err := New(DefaultConfig(), WithMeterProvider(other), WithEmbedding(emb), WithAPIKey(testKey)); err == nil {
		t.Fatal("New accepted a provider built without the Embedding")
	}
	m, err := New(DefaultConfig(), WithMeterProvider(mp), WithEmbedding(emb), WithAPIKey(testKey))
	if err != nil {
		t.Fatalf("New after a failed New: %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown(ctx) })
	// The engine the failed New built and shut down left the reader
	// working for the next one.
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatalf("Evaluate after a failed New: %v", err)
	}
	_, err = New(DefaultConfig(), WithMeterProvider(mp), WithEmbedding(emb), WithAPIKey(testKey))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "WithEmbedding" || !strings.Contains(err.Error(), "already serves a Monitor") {
		t.Fatalf("second New with one Embedding: %v", err)
	}
}
