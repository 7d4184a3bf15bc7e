package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanSink is an OTLP/HTTP trace receiver that remembers, by span name and
// trace id, how long each span lasted and whether its status was an error.
type spanSink struct {
	mu    sync.Mutex // guards spans
	spans map[string]map[string]spanSeen
}

type spanSeen struct {
	d      time.Duration
	failed bool
}

func startSpanSink(t *testing.T) (*spanSink, string) {
	t.Helper()
	s := &spanSink{spans: map[string]map[string]spanSeen{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					byID := s.spans[sp.GetName()]
					if byID == nil {
						byID = map[string]spanSeen{}
						s.spans[sp.GetName()] = byID
					}
					byID[hex.EncodeToString(sp.GetTraceId())] = spanSeen{
						d:      time.Duration(sp.GetEndTimeUnixNano() - sp.GetStartTimeUnixNano()),
						failed: sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
					}
				}
			}
		}
		s.mu.Unlock()
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// span returns what was received of the span name of trace id.
func (s *spanSink) span(name, id string) (spanSeen, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, ok := s.spans[name][id]
	return sp, ok
}

// traceDemo makes the demo that the test starts next export its spans to
// a new sink, batched every 100 ms.
func traceDemo(t *testing.T) *spanSink {
	t.Helper()
	sink, endpoint := startSpanSink(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint+"/v1/traces")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	return sink
}

// TestPrometheusExemplars runs the traced demo with imdb answering slowly
// (2 s a request) under a real Prometheus with exemplar storage: the
// exemplars Prometheus stores for imdb's sync duration name the traces of
// the slow syncs, as the spans the demo exported show.
func TestPrometheusExemplars(t *testing.T) {
	promtool := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	prometheus := e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")

	sink := traceDemo(t)
	addr := demo(t, "-sync-interval", "100ms", "-slow", "imdb")

	dir := t.TempDir()
	cfg := writeTestConfig(t, promtool, dir, addr)
	p := startPrometheus(t, prometheus, cfg, filepath.Join(dir, "data"),
		// Prometheus then scrapes OpenMetrics and keeps exemplars.
		"--enable-feature=exemplar-storage")
	p.WaitReady(t, "/-/ready", 30*time.Second)
	p.WaitTargetUp(t, 30*time.Second, exampleJob, addr)

	query := `radarr_list_sync_sync_duration_seconds_bucket{source="imdb"}`
	p.Poll(t, 90*time.Second, "an exemplar of a slow imdb sync", func() error {
		now := time.Now()
		var data []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		}
		path := "/api/v1/query_exemplars?query=" + url.QueryEscape(query) +
			"&start=" + strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10) + "&end=" + strconv.FormatInt(now.Unix(), 10)
		body, err := p.API(path, &data)
		if err != nil {
			return err
		}
		for _, series := range data {
			for _, ex := range series.Exemplars {
				v, _ := strconv.ParseFloat(ex.Value, 64)
				id := ex.Labels["trace_id"]
				if v < 2 || id == "" {
					continue
				}
				// The exemplar's trace is a sync of imdb that the span
				// backend saw take as long as the exemplar says.
				sp, ok := sink.span("sync imdb", id)
				if !ok {
					return fmt.Errorf("exemplar trace %s is no exported imdb sync (yet)", id)
				}
				if d := sp.d; d < 2*time.Second || d.Seconds() < v*0.99 || d.Seconds() > v*1.01+0.01 {
					return fmt.Errorf("exemplar %s of %g s, its span lasted %v", id, v, d)
				}
				return nil
			}
		}
		return fmt.Errorf("no exemplar of 2 s or more with a trace id: %s", body)
	})
}

// TestAlertTraceIDsEndToEnd runs the traced demo with imdb down, sending
// its alerts to a real Alertmanager: the consecutive_sync_failures alert
// for imdb names, in the demo's API and in Alertmanager's traceIds
// annotation, traces of imdb syncs that failed.
func TestAlertTraceIDsEndToEnd(t *testing.T) {
	bin := e2etest.RequireProgram(t, "prometheus-alertmanager", "Debian package prometheus-alertmanager")
	hook := e2etest.StartWebhookReceiver(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, alertmanagerConfig, hook.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	am := startAlertmanager(t, bin, cfg, filepath.Join(dir, "data"))
	am.WaitReady(t, "/-/ready", 30*time.Second)

	sink := traceDemo(t)
	const key = "e2e-key"
	addr := demo(t, "-api-key", key, "-alertmanager", am.Base, "-fail", "imdb",
		"-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-trace-url", "http://127.0.0.1:16686/trace/{traceId}")

	// failedSyncs checks that every id is the trace of a failed imdb sync.
	failedSyncs := func(ids []string) error {
		if len(ids) == 0 {
			return errors.New("no trace ids")
		}
		for _, id := range ids {
			sp, ok := sink.span("sync imdb", id)
			if !ok {
				return fmt.Errorf("trace %s is no exported imdb sync (yet)", id)
			}
			if !sp.failed {
				return fmt.Errorf("trace %s is an imdb sync that did not fail", id)
			}
		}
		return nil
	}
	client := &http.Client{Timeout: 5 * time.Second}
	am.Poll(t, 60*time.Second, "the demo's alert names failed imdb syncs", func() error {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v3/monitoring/alerts", nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var alerts []struct {
			Rule     string            `json:"rule"`
			Labels   map[string]string `json:"labels"`
			TraceIDs []string          `json:"traceIds"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
			return fmt.Errorf("alerts API: %d: %w", resp.StatusCode, err)
		}
		for _, a := range alerts {
			if a.Rule == "consecutive_sync_failures" && a.Labels["source"] == "imdb" {
				return failedSyncs(a.TraceIDs)
			}
		}
		return fmt.Errorf("no consecutive_sync_failures alert for imdb in %+v", alerts)
	})
	am.Poll(t, 60*time.Second, "Alertmanager's traceIds annotation names failed imdb syncs", func() error {
		code, body, err := am.Get("/api/v2/alerts?active=true")
		if err != nil {
			return err
		}
		var alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(body, &alerts); err != nil {
			return fmt.Errorf("%d: %w: %s", code, err, body)
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "consecutive_sync_failures" && a.Labels["source"] == "imdb" {
				return failedSyncs(strings.Split(a.Annotations["traceIds"], ","))
			}
		}
		return fmt.Errorf("no consecutive_sync_failures alert for imdb: %s", body)
	})
	status, err := client.Get("http://" + addr + "/api/v3/monitoring/status?apikey=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer status.Body.Close()
	var st struct {
		TraceURLTemplate string `json:"traceUrlTemplate"`
	}
	if err := json.NewDecoder(status.Body).Decode(&st); err != nil || st.TraceURLTemplate != "http://127.0.0.1:16686/trace/{traceId}" {
		t.Errorf("status traceUrlTemplate %q, %v", st.TraceURLTemplate, err)
	}
}

// writeTestConfig writes into dir the example's Prometheus configuration
// for the demo at addr (see testConfig) and its rule file, checks it with
// promtool, and returns the configuration's path.
func writeTestConfig(t *testing.T, promtool, dir, addr string) string {
	t.Helper()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(testConfig(t, exampleConfig, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	e2etest.CopyFile(t, exampleRules, filepath.Join(dir, "alerts.yml"))
	e2etest.Check(t, promtool, "check", "config", cfg)
	return cfg
}
