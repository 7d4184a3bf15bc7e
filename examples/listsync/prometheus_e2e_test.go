package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
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

// TestPrometheusEndToEnd runs a real Prometheus with the example
// configuration against the demo and requires every recommended query and
// every query of the example dashboard to return data. The dashboard must
// carry each of the integration guide's queries.
func TestPrometheusEndToEnd(t *testing.T) {
	promtool := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	prometheus := e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")

	e2etest.Check(t, promtool, "check", "config", exampleConfig)
	panels := dashboardQueries(t, exampleDashboard)
	guide := e2etest.GuideQueries()
	for _, q := range guide {
		found := false
		for _, p := range panels {
			found = found || normalizeExpr(p.Expr) == normalizeExpr(q.Expr)
		}
		if !found {
			t.Errorf("%s: no panel queries %s (%s)", exampleDashboard, q.Expr, q.Name)
		}
	}

	// imdb fails throughout, so the service_down twin must fire.
	addr := demo(t, "-sync-interval", "100ms", "-health-interval", "200ms", "-fail", "imdb")
	dir := t.TempDir()
	cfg := writeTestConfig(t, promtool, dir, addr)

	p := startPrometheus(t, prometheus, cfg, filepath.Join(dir, "data"))
	p.WaitReady(t, "/-/ready", 30*time.Second)
	p.waitTargetUp(t, exampleJob, addr)

	for _, q := range guide {
		t.Run("guide/"+q.Name, func(t *testing.T) { p.waitForData(t, q.Expr) })
	}
	for _, q := range panels {
		t.Run("dashboard/"+q.Name, func(t *testing.T) { p.waitForData(t, q.Expr) })
	}
	// The rule twins load and evaluate: service_down fires for imdb as the
	// in-process rule does.
	t.Run("rules/service_down", func(t *testing.T) {
		p.waitForData(t, `ALERTS{alertname="service_down",service="imdb",alertstate="firing"}`)
	})
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

// dashboardQueries returns the queries of every panel of the Grafana
// dashboard at path (see e2etest.ReadDashboard), and fails the test
// without a uid or title or with a target without an expr.
func dashboardQueries(t *testing.T, path string) []e2etest.Query {
	t.Helper()
	d := e2etest.ReadDashboard(t, path)
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: uid %q, title %q: both are required", path, d.UID, d.Title)
	}
	for _, b := range d.Blank {
		t.Errorf("%s: %s has no expr", path, b)
	}
	return d.Queries
}

func normalizeExpr(s string) string { return strings.Join(strings.Fields(s), " ") }

// promServer is a prometheus process started by a test.
type promServer struct{ *e2etest.Process }

// startPrometheus starts prometheus with cfg on a free loopback port,
// storing its data under dataDir, with the extra flags, and stops it when
// the test ends. Its output (info level: startup and scrape lines explain
// most failures) is logged when the test fails.
func startPrometheus(t *testing.T, bin, cfg, dataDir string, extra ...string) *promServer {
	t.Helper()
	listen := e2etest.FreeAddr(t)
	return &promServer{e2etest.Start(t, "prometheus", listen, nil, bin, append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + listen,
		"--storage.tsdb.retention.time=1h",
	}, extra...)...)}
}

// waitTargetUp waits until job's target at addr has been scraped
// successfully.
func (p *promServer) waitTargetUp(t *testing.T, job, addr string) {
	t.Helper()
	p.Poll(t, 30*time.Second, "target "+addr+" up", func() error {
		var data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		}
		body, err := p.API("/api/v1/targets?state=active", &data)
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
	p.Poll(t, 60*time.Second, "query "+expr, func() error {
		res, err := p.Query(expr)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(res, e2etest.Series.Finite) {
			return nil
		}
		return fmt.Errorf("no series with a finite value; last result: %v", res)
	})
}
