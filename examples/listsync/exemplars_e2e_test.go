package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanSink is an OTLP/HTTP trace receiver that remembers the trace id and
// duration of every span by name.
type spanSink struct {
	mu    sync.Mutex // guards spans
	spans map[string]map[string]time.Duration
}

func startSpanSink(t *testing.T) (*spanSink, string) {
	t.Helper()
	s := &spanSink{spans: map[string]map[string]time.Duration{}}
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
						byID = map[string]time.Duration{}
						s.spans[sp.GetName()] = byID
					}
					byID[hex.EncodeToString(sp.GetTraceId())] = time.Duration(sp.GetEndTimeUnixNano() - sp.GetStartTimeUnixNano())
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

// duration returns how long the span name of trace id lasted, if received.
func (s *spanSink) duration(name, id string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.spans[name][id]
	return d, ok
}

// TestPrometheusExemplars runs the traced demo with imdb answering slowly
// (2 s a request) under a real Prometheus with exemplar storage: the
// exemplars Prometheus stores for imdb's sync duration name the traces of
// the slow syncs, as the spans the demo exported show.
func TestPrometheusExemplars(t *testing.T) {
	promtool := requireProgram(t, "promtool", "prometheus")
	prometheus := requireProgram(t, "prometheus", "prometheus")

	sink, endpoint := startSpanSink(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint+"/v1/traces")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	addr := demo(t, "-sync-interval", "100ms", "-slow", "imdb")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(testConfig(t, exampleConfig, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(exampleRules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	promtoolCheckConfig(t, promtool, cfg)
	p := &promServer{startServer(t, "prometheus", prometheus, func(listen string) []string {
		return []string{
			"--config.file=" + cfg,
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + listen,
			"--storage.tsdb.retention.time=1h",
			// Prometheus then scrapes OpenMetrics and keeps exemplars.
			"--enable-feature=exemplar-storage",
		}
	})}
	p.waitReady(t)
	p.waitTargetUp(t, exampleJob, addr)

	query := `radarr_list_sync_sync_duration_seconds_bucket{source="imdb"}`
	p.poll(t, 90*time.Second, "an exemplar of a slow imdb sync", func() error {
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
		body, err := p.api(path, &data)
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
				d, ok := sink.duration("sync imdb", id)
				if !ok {
					return fmt.Errorf("exemplar trace %s is no exported imdb sync (yet)", id)
				}
				if d < 2*time.Second || d.Seconds() < v*0.99 || d.Seconds() > v*1.01+0.01 {
					return fmt.Errorf("exemplar %s of %g s, its span lasted %v", id, v, d)
				}
				return nil
			}
		}
		return fmt.Errorf("no exemplar of 2 s or more with a trace id: %s", body)
	})
}
