package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// exampleConfig is the Prometheus configuration shipped with the
	// examples, relative to this package.
	exampleConfig = "../prometheus/prometheus.yml"
	// exampleDashboard is the Grafana dashboard shipped with the examples.
	exampleDashboard = "../grafana/dashboard.json"
	// exampleJob is the scrape job prometheus.yml defines.
	exampleJob = "radarr-list-sync"
	// exampleTarget is the target prometheus.yml scrapes, the demo's
	// default address.
	exampleTarget = "localhost:7878"
)

// integrationQueries are the queries the integration guide recommends for
// Grafana; the dashboard must carry each of them.
var integrationQueries = []struct{ name, expr string }{
	{"sync success rate", `rate(radarr_list_sync_sync_operations_success_total[5m]) / rate(radarr_list_sync_sync_operations_total[5m])`},
	{"average sync duration", `rate(radarr_list_sync_sync_duration_seconds_sum[5m]) / rate(radarr_list_sync_sync_duration_seconds_count[5m])`},
	{"cache hit rate", `rate(radarr_list_sync_cache_hits_total[5m]) / (rate(radarr_list_sync_cache_hits_total[5m]) + rate(radarr_list_sync_cache_misses_total[5m]))`},
	{"service health", `radarr_list_sync_service_up`},
}

// TestPrometheusEndToEnd runs a real Prometheus with the example
// configuration against the demo and requires every recommended query and
// every query of the example dashboard to return data.
func TestPrometheusEndToEnd(t *testing.T) {
	promtool := requireProgram(t, "promtool", "prometheus")
	prometheus := requireProgram(t, "prometheus", "prometheus")

	promtoolCheckConfig(t, promtool, exampleConfig)
	panels := dashboardQueries(t, exampleDashboard)
	for _, q := range integrationQueries {
		found := false
		for _, p := range panels {
			found = found || normalizeExpr(p.expr) == normalizeExpr(q.expr)
		}
		if !found {
			t.Errorf("%s: no panel queries %s (%s)", exampleDashboard, q.expr, q.name)
		}
	}

	// imdb fails throughout, so the service_down twin must fire.
	addr := demo(t, "-sync-interval", "100ms", "-health-interval", "200ms", "-fail", "imdb")
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

	p := startPrometheus(t, prometheus, cfg, filepath.Join(dir, "data"))
	p.waitReady(t)
	p.waitTargetUp(t, exampleJob, addr)

	for _, q := range integrationQueries {
		t.Run("guide/"+q.name, func(t *testing.T) { p.waitForData(t, q.expr) })
	}
	for _, q := range panels {
		t.Run("dashboard/"+q.name, func(t *testing.T) { p.waitForData(t, q.expr) })
	}
	// The rule twins load and evaluate: service_down fires for imdb as the
	// in-process rule does.
	t.Run("rules/service_down", func(t *testing.T) {
		p.waitForData(t, `ALERTS{alertname="service_down",service="imdb",alertstate="firing"}`)
	})
}

func promtoolCheckConfig(t *testing.T, promtool, path string) {
	t.Helper()
	out, err := exec.Command(promtool, "check", "config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config %s: %v\n%s", path, err, out)
	}
}

// testConfig derives the test's configuration from the example: the same
// job, scraping the demo at addr every second.
func testConfig(t *testing.T, path, addr string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite configuration lines only, never comments.
	interval := regexp.MustCompile(`^(\s*(?:scrape|evaluation)_interval:).*$`)
	lines := strings.Split(string(b), "\n")
	var targets, intervals int
	hasEval, hasJob := false, false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		hasJob = hasJob || strings.Contains(l, "job_name") && strings.Contains(l, exampleJob)
		if strings.Contains(l, exampleTarget) {
			lines[i] = strings.Replace(l, exampleTarget, addr, 1)
			targets++
		}
		if interval.MatchString(l) {
			hasEval = hasEval || strings.Contains(l, "evaluation_interval")
			lines[i] = interval.ReplaceAllString(l, "${1} 1s")
			intervals++
		}
	}
	if !hasJob || targets != 1 || intervals == 0 {
		t.Fatalf("%s: want job %s with one target %s and a scrape_interval; found job %v, %d targets, %d intervals",
			path, exampleJob, exampleTarget, hasJob, targets, intervals)
	}
	cfg := strings.Join(lines, "\n")
	if !hasEval {
		cfg = "global:\n  evaluation_interval: 1s\n" + cfg
	}
	return cfg
}

type panelQuery struct{ name, expr string }

// dashboardQueries returns the expr of every target of every panel (rows'
// nested panels included) of a Grafana dashboard.
func dashboardQueries(t *testing.T, path string) []panelQuery {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		UID    string            `json:"uid"`
		Title  string            `json:"title"`
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: uid %q, title %q: both are required", path, d.UID, d.Title)
	}
	var out []panelQuery
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q target %s has no expr", path, p.Title, tg.RefID)
					continue
				}
				name := p.Title
				if len(p.Targets) > 1 {
					name += " " + tg.RefID
				}
				out = append(out, panelQuery{name, grafanaVars.Replace(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		t.Fatalf("%s: no panel queries", path)
	}
	return out
}

// grafanaVars replaces the interval variables Grafana fills in with a
// window Prometheus accepts.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"${__rate_interval}", "5m",
	"$__interval", "5m",
	"${__interval}", "5m",
	"$__range", "5m",
	"${__range}", "5m",
)

func normalizeExpr(s string) string { return strings.Join(strings.Fields(s), " ") }

// promServer is a prometheus process started by a test.
type promServer struct{ *server }

// startPrometheus starts prometheus with cfg on a free loopback port,
// storing its data under dataDir, and stops it when the test ends. Its
// output (info level: startup and scrape lines explain most failures) is
// logged when the test fails.
func startPrometheus(t *testing.T, bin, cfg, dataDir string) *promServer {
	t.Helper()
	return &promServer{startServer(t, "prometheus", bin, func(listen string) []string {
		return []string{
			"--config.file=" + cfg,
			"--storage.tsdb.path=" + dataDir,
			"--web.listen-address=" + listen,
			"--storage.tsdb.retention.time=1h",
		}
	})}
}

// api fetches path and decodes a successful API response's data into v.
func (p *promServer) api(path string, v any) ([]byte, error) {
	code, body, err := p.get(path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return body, fmt.Errorf("GET %s: %d: %w: %s", path, code, err, body)
	}
	if code != http.StatusOK || r.Status != "success" {
		return body, fmt.Errorf("GET %s: %d %s: %s", path, code, r.Status, r.Error)
	}
	return body, json.Unmarshal(r.Data, v)
}

// waitTargetUp waits until job's target at addr has been scraped
// successfully.
func (p *promServer) waitTargetUp(t *testing.T, job, addr string) {
	t.Helper()
	p.poll(t, 30*time.Second, "target "+addr+" up", func() error {
		var data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		}
		body, err := p.api("/api/v1/targets?state=active", &data)
		if err != nil {
			return err
		}
		for _, tg := range data.ActiveTargets {
			if tg.Labels["job"] != job || tg.Labels["instance"] != addr {
				continue
			}
			if want := "http://" + addr + "/metrics"; tg.ScrapeURL != want {
				return fmt.Errorf("scrape URL %s, want %s", tg.ScrapeURL, want)
			}
			if tg.Health != "up" {
				return fmt.Errorf("health %q, last error %q", tg.Health, tg.LastError)
			}
			return nil
		}
		return fmt.Errorf("no target job=%q instance=%q in %s", job, addr, body)
	})
}

// waitForData waits until an instant query of expr returns at least one
// series with a finite value.
func (p *promServer) waitForData(t *testing.T, expr string) {
	t.Helper()
	p.poll(t, 60*time.Second, "query "+expr, func() error {
		var data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		}
		body, err := p.api("/api/v1/query?query="+url.QueryEscape(expr), &data)
		if err != nil {
			return err
		}
		if data.ResultType != "vector" {
			return fmt.Errorf("result type %q, want vector", data.ResultType)
		}
		for _, r := range data.Result {
			s, _ := r.Value[1].(string)
			if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
				return nil
			}
		}
		return errors.New("no series with a finite value; last response: " + string(body))
	})
}
