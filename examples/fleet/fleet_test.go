package fleet

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/listsync/otelmon/internal/e2etest"
)

// Files of the fleet layout, relative to this package.
const (
	collectorDir      = "../collector"
	collectorConfig   = "../collector/config.yaml"
	collectorOverlay  = "collector.yaml"
	prometheusConfig  = "prometheus.yml"
	alertmanagerCfg   = "alertmanager.yml"
	composeFile       = "docker-compose.yml"
	alertRules        = "../prometheus/alerts.yml"
	grafanaDashboard  = "../grafana/dashboard.json"
	demoPackage       = "./examples/listsync"
	repoRoot          = "../.."
	jobName           = "listsync-demo"
	failingInstance   = "listsync-2" // the instance whose imdb is down
	failingService    = "imdb"
	peerTimeout       = time.Second     // Alertmanager --cluster.peer-timeout
	groupInterval     = 5 * time.Second // group_interval in the test's Alertmanager configuration
	failFor           = 40 * time.Second
	collectorTelemetr = "service:\n  telemetry:\n    metrics:\n      level: none\n"
)

// seedQueries are the queries the integration guide recommends for
// Grafana (those examples/listsync's Prometheus test checks) and the time
// of the last successful sync.
var seedQueries = append(e2etest.GuideQueries(),
	e2etest.Query{Name: "last successful sync", Expr: `radarr_list_sync_last_successful_sync_timestamp`})

// pipelines are the values of the label that tells the collector's two
// paths into Prometheus apart (see collector.yaml and prometheus.yml).
var pipelines = []string{"scrape", "remote_write"}

// TestFleet runs the fleet layout on loopback: three demo instances (one
// with imdb down for a while, one with a stable service.instance.id, two
// with the default UUID) push OTLP to the collector; two Prometheus servers
// get their metrics by scraping the collector and by remote write; two
// clustered Alertmanagers receive the alerts of both Prometheus servers and
// of the failing instance itself. It checks that every seed and dashboard
// query answers one series per instance on both paths and on both
// Prometheus servers, that the rules fire for the failing instance only,
// and that a webhook receiver gets each alert group once, firing and then
// resolved after the heal (the burn-rate groups, firing only: see
// burnRate).
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a collector and runs a fleet for about a minute")
	}
	began := time.Now()
	goBin := e2etest.RequireProgram(t, "go", "the Go toolchain")
	promtool := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	prometheus := e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")
	alertmanager := e2etest.RequireProgram(t, "prometheus-alertmanager", "Debian package prometheus-alertmanager")
	amtool := e2etest.RequireProgram(t, "amtool", "Debian package prometheus-alertmanager")

	bin := t.TempDir()
	collector := buildCollector(t, goBin, bin)
	demo := filepath.Join(bin, "listsync")
	goBuild(t, goBin, repoRoot, demo, demoPackage)

	// Offline checks of the shipped files, with the tools that know them.
	checkShippedConfigs(t, collector, promtool, amtool)

	// Addresses, all on loopback, known before anything starts.
	var (
		otlpHTTP, otlpGRPC, promExporter = e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
		promA, promB                     = e2etest.FreeAddr(t), e2etest.FreeAddr(t)
		amA, amB                         = e2etest.FreeAddr(t), e2etest.FreeAddr(t)
		clusterA, clusterB               = e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	)
	hook := webhook{e2etest.StartWebhookReceiver(t)}
	dir := t.TempDir()

	amCfg := writeRewritten(t, alertmanagerCfg, filepath.Join(dir, "alertmanager.yml"), map[string]string{
		"http://webhook:8080/alerts": hook.URL,
		"30s":                        "3s",
		"5m":                         groupInterval.String(),
	})
	e2etest.Check(t, amtool, "check-config", amCfg)
	ams := []*e2etest.Process{
		startAlertmanager(t, alertmanager, "alertmanager-a", amCfg, amA, clusterA, clusterB, filepath.Join(dir, "am-a")),
		startAlertmanager(t, alertmanager, "alertmanager-b", amCfg, amB, clusterB, clusterA, filepath.Join(dir, "am-b")),
	}
	for _, am := range ams {
		am.WaitReady(t, "/-/ready", 60*time.Second)
		waitCluster(t, am, 2)
	}

	var proms []*e2etest.Process
	for i, listen := range []string{promA, promB} {
		name := "prometheus-" + string(rune('a'+i))
		pdir := filepath.Join(dir, name)
		if err := os.MkdirAll(pdir, 0o700); err != nil {
			t.Fatal(err)
		}
		e2etest.CopyFile(t, alertRules, filepath.Join(pdir, "alerts.yml"))
		cfg := writeRewritten(t, prometheusConfig, filepath.Join(pdir, "prometheus.yml"), map[string]string{
			"collector:8889":      promExporter,
			"alertmanager-a:9093": amA,
			"alertmanager-b:9093": amB,
			"15s":                 "1s",
		})
		e2etest.Check(t, promtool, "check", "config", cfg)
		p := start(t, name, listen, nil, prometheus,
			"--config.file="+cfg,
			"--storage.tsdb.path="+filepath.Join(pdir, "data"),
			"--web.listen-address="+listen,
			"--web.enable-remote-write-receiver",
			"--storage.tsdb.retention.time=1h")
		p.WaitReady(t, "/-/ready", 60*time.Second)
		proms = append(proms, p)
	}

	telemetry := filepath.Join(dir, "collector-telemetry.yaml")
	if err := os.WriteFile(telemetry, []byte(collectorTelemetr), 0o600); err != nil {
		t.Fatal(err)
	}
	col := start(t, "collector", promExporter, []string{
		"OTLP_GRPC_ENDPOINT=" + otlpGRPC,
		"OTLP_HTTP_ENDPOINT=" + otlpHTTP,
		"PROMETHEUS_EXPORTER_ENDPOINT=" + promExporter,
		"PROMETHEUS_REMOTE_WRITE_URL=http://" + promA + "/api/v1/write",
		"PROMETHEUS_B_REMOTE_WRITE_URL=http://" + promB + "/api/v1/write",
	}, collector, "--config", collectorConfig, "--config", collectorOverlay, "--config", telemetry)
	col.WaitReady(t, "/metrics", 60*time.Second)

	// Three instances: two with the default service.instance.id (a UUID
	// per process), the failing one with a stable id, as a pod name would
	// give. Each sends its own alerts to every member of the cluster, as
	// Prometheus does. (Sent to one member only, an alert starts its group
	// there earlier than on the other member; the members then flush the
	// group at different moments, and the one that waits for its peer can
	// send a snapshot taken before a resolution after the other has sent
	// the resolution: a stale "firing". With both members getting every
	// alert at once, their flushes coincide, and a group_interval longer
	// than the peer timeout leaves no room for that.)
	fleetStart := time.Now()
	for i := range 3 {
		id := ""
		args := []string{"-listen", "127.0.0.1:0", "-sync-interval", "200ms", "-health-interval", "200ms",
			"-eval-interval", "200ms", "-breaker-open-timeout", "1s", "-alertmanager", ams[0].Base + "," + ams[1].Base,
			// Each instance keeps its own alert state, as instances do.
			"-state", filepath.Join(t.TempDir(), fmt.Sprintf("listsync-%d.json", i))}
		if i == 2 {
			id = "service.instance.id=" + failingInstance
			args = append(args, "-fail", failingService, "-fail-for", failFor.String())
		}
		start(t, fmt.Sprintf("listsync-%d", i), "", []string{
			"OTEL_METRICS_EXPORTER=otlp",
			"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlpHTTP,
			"OTEL_METRIC_EXPORT_INTERVAL=1000",
			"OTEL_SERVICE_NAME=" + jobName,
			"OTEL_RESOURCE_ATTRIBUTES=" + id,
			"LISTSYNC_API_KEY=" + fleetAPIKey,
		}, demo, args...)
	}

	// The rule twins fire for the failing instance, on both servers and
	// both paths, while it fails: checked first, before the heal.
	want := fmt.Sprintf(`ALERTS{alertname="service_down",alertstate="firing",service=%q,instance=%q,job=%q}`, failingService, failingInstance, jobName)
	for _, p := range proms {
		p.Poll(t, failFor, p.Name+": "+want+" on both paths", func() error {
			res, err := p.Query(want)
			if err != nil {
				return err
			}
			got := map[string]bool{}
			for _, s := range res {
				got[s.Metric["pipeline"]] = true
			}
			for _, pl := range pipelines {
				if !got[pl] {
					return fmt.Errorf("not firing through %s: %v", pl, res)
				}
			}
			return nil
		})
	}
	t.Logf("service_down fired on both servers and paths %v after the fleet started", time.Since(fleetStart).Round(100*time.Millisecond))

	panels := e2etest.ReadDashboard(t, grafanaDashboard).Queries
	for _, p := range proms {
		ids := instanceIDs(t, p)
		t.Logf("%s: instances %v", p.Name, ids)
		for _, q := range seedQueries {
			t.Run(fmt.Sprintf("%s/seed/%s", p.Name, q.Name), func(t *testing.T) { waitPerInstance(t, p, q.Expr, ids) })
		}
		for _, q := range panels {
			t.Run(fmt.Sprintf("%s/dashboard/%s", p.Name, q.Name), func(t *testing.T) { waitPerInstance(t, p, q.Expr, ids) })
		}
	}

	// The webhook gets each group once firing, then once resolved after
	// the heal.
	col.Poll(t, failFor+90*time.Second, "every alert group resolved at the webhook", func() error {
		return hook.resolvedAll()
	})
	// A second notification of a group would come from the other member
	// of the cluster, after its peer wait, or from an alert that joined
	// the group later, at the next group interval: watch for both.
	quiet := 2*peerTimeout + 2*groupInterval
	hook.checkQuiet(t, quiet)
	hook.checkOnce(t)

	// No rule ever fired for a healthy instance, on either server.
	for _, p := range proms {
		expr := fmt.Sprintf(`count_over_time(ALERTS{instance!=%q}[1h])`, failingInstance)
		res, err := p.Query(expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 0 {
			t.Errorf("%s: alerts for healthy instances: %v", p.Name, res)
		}
	}
	t.Logf("figure: the fleet test took %v (%v of it after the builds)", time.Since(began).Round(time.Second), time.Since(fleetStart).Round(time.Second))
}

// buildCollector builds examples/collector, its own Go module, into dir and
// reports the build time and the binary's size.
func buildCollector(t *testing.T, goBin, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "otelmon-collector")
	began := time.Now()
	goBuild(t, goBin, collectorDir, out, ".")
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("figure: collector build %v, binary %.1f MB", time.Since(began).Round(100*time.Millisecond), float64(fi.Size())/1e6)

	// Every component comes from one release: one version for the core
	// modules, one for contrib.
	b, err := exec.Command(out, "components").CombinedOutput()
	if err != nil {
		t.Fatalf("otelmon-collector components: %v\n%s", err, b)
	}
	versions := map[string]map[string]bool{} // core or contrib -> versions
	n := 0
	for _, m := range regexp.MustCompile(`module: (\S+) (v\S+)`).FindAllStringSubmatch(string(b), -1) {
		kind := "core"
		if strings.Contains(m[1], "opentelemetry-collector-contrib") {
			kind = "contrib"
		}
		if versions[kind] == nil {
			versions[kind] = map[string]bool{}
		}
		versions[kind][m[2]] = true
		n++
	}
	if n != 5 || len(versions["core"]) != 1 || len(versions["contrib"]) != 1 {
		t.Errorf("components: %d modules, versions %v: want 5 from one core and one contrib release\n%s", n, versions, b)
	}
	return out
}

// goBuild builds pkg in the module at dir into out.
func goBuild(t *testing.T, goBin, dir, out, pkg string) {
	t.Helper()
	abs, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "build", "-o", abs, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
}

// checkShippedConfigs checks the files of the layout as they are shipped:
// the collector's validate subcommand on config.yaml alone and with the
// fleet overlay, promtool on prometheus.yml next to the rules it loads,
// amtool on alertmanager.yml, and docker-compose.yml's references.
func checkShippedConfigs(t *testing.T, collector, promtool, amtool string) {
	t.Helper()
	e2etest.Check(t, collector, "validate", "--config", collectorConfig)
	e2etest.Check(t, collector, "validate", "--config", collectorConfig, "--config", collectorOverlay)
	dir := t.TempDir()
	e2etest.CopyFile(t, prometheusConfig, filepath.Join(dir, "prometheus.yml"))
	e2etest.CopyFile(t, alertRules, filepath.Join(dir, "alerts.yml"))
	e2etest.Check(t, promtool, "check", "config", filepath.Join(dir, "prometheus.yml"))
	e2etest.Check(t, amtool, "check-config", alertmanagerCfg)

	// The remote-write exporter the overlay adds must translate names as
	// the one config.yaml configures, or the second server would see
	// other names.
	base := readYAML(t, collectorConfig)["exporters"].(map[string]any)["prometheus_remote_write"].(map[string]any)
	overlay := readYAML(t, collectorOverlay)["exporters"].(map[string]any)
	for _, name := range []string{"prometheus_remote_write", "prometheus_remote_write/b"} {
		e, _ := overlay[name].(map[string]any)
		for _, k := range []string{"translation_strategy", "disable_scope_info"} {
			if fmt.Sprint(e[k]) != fmt.Sprint(base[k]) {
				t.Errorf("%s: exporters.%s.%s = %v, want %v as in %s", collectorOverlay, name, k, e[k], base[k], collectorConfig)
			}
		}
	}

	// docker-compose.yml mounts files that must exist.
	compose := readYAML(t, composeFile)
	services, _ := compose["services"].(map[string]any)
	if len(services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	for name, s := range services {
		vols, _ := s.(map[string]any)["volumes"].([]any)
		for _, v := range vols {
			src, _, _ := strings.Cut(fmt.Sprint(v), ":")
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s: service %s mounts %s: %v", composeFile, name, src, err)
			}
		}
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// writeRewritten writes the YAML file src to dst with every string value
// that equals a key of repl replaced by its value; each key must occur.
func writeRewritten(t *testing.T, src, dst string, repl map[string]string) string {
	t.Helper()
	m := readYAML(t, src)
	used := map[string]bool{}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
		case []any:
			for i, e := range v {
				v[i] = walk(e)
			}
		case string:
			if r, ok := repl[v]; ok {
				used[v] = true
				return r
			}
		}
		return v
	}
	walk(m)
	for k := range repl {
		if !used[k] {
			t.Fatalf("%s: no value %q to rewrite", src, k)
		}
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// start is e2etest.Start with the fleet test's polling interval, 200 ms.
func start(t *testing.T, name, listen string, env []string, bin string, args ...string) *e2etest.Process {
	t.Helper()
	p := e2etest.Start(t, name, listen, env, bin, args...)
	p.PollEvery = 200 * time.Millisecond
	return p
}

// startAlertmanager starts a member of the test's Alertmanager cluster.
func startAlertmanager(t *testing.T, bin, name, cfg, listen, cluster, peer, dataDir string) *e2etest.Process {
	t.Helper()
	return start(t, name, listen, nil, bin,
		"--config.file="+cfg,
		"--storage.path="+dataDir,
		"--web.listen-address="+listen,
		"--cluster.listen-address="+cluster,
		"--cluster.peer="+peer,
		"--cluster.peer-timeout="+peerTimeout.String(),
		"--log.level=debug") // notifications show in the output of a failed test
}

// waitCluster waits until am's cluster is ready with n members.
func waitCluster(t *testing.T, am *e2etest.Process, n int) {
	t.Helper()
	am.Poll(t, 60*time.Second, am.Name+" cluster of "+strconv.Itoa(n), func() error {
		code, body, err := am.Get("/api/v2/status")
		if err != nil {
			return err
		}
		var s struct {
			Cluster struct {
				Status string `json:"status"`
				Peers  []any  `json:"peers"`
			} `json:"cluster"`
		}
		if err := json.Unmarshal(body, &s); err != nil || code != http.StatusOK {
			return fmt.Errorf("/api/v2/status: %d %v: %s", code, err, body)
		}
		if s.Cluster.Status != "ready" || len(s.Cluster.Peers) != n {
			return fmt.Errorf("cluster %q with %d peers", s.Cluster.Status, len(s.Cluster.Peers))
		}
		return nil
	})
}

// instanceIDs waits until p has the service_up series of three instances
// on both paths and returns their instance labels: the failing instance's
// stable id and two distinct UUIDs, the default.
func instanceIDs(t *testing.T, p *e2etest.Process) []string {
	t.Helper()
	var ids []string
	p.Poll(t, 60*time.Second, p.Name+": three instances on both paths", func() error {
		res, err := p.Query(`count by (instance, pipeline, job) (radarr_list_sync_service_up)`)
		if err != nil {
			return err
		}
		byPipeline := map[string][]string{}
		for _, s := range res {
			if s.Metric["job"] != jobName {
				return fmt.Errorf("job %q, want %q: %v", s.Metric["job"], jobName, s.Metric)
			}
			byPipeline[s.Metric["pipeline"]] = append(byPipeline[s.Metric["pipeline"]], s.Metric["instance"])
		}
		ids = nil
		for _, pl := range pipelines {
			got := byPipeline[pl]
			slices.Sort(got)
			if len(got) != 3 {
				return fmt.Errorf("%s: instances %q, want 3", pl, got)
			}
			if ids != nil && !slices.Equal(ids, got) {
				return fmt.Errorf("instances differ between paths: %q and %q", ids, got)
			}
			ids = got
		}
		if len(byPipeline) != len(pipelines) {
			return fmt.Errorf("paths %v, want %v", byPipeline, pipelines)
		}
		return nil
	})
	uuids := 0
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			uuids++
		}
	}
	if !slices.Contains(ids, failingInstance) || uuids != 2 {
		t.Fatalf("instances %q: want %s and two UUIDs", ids, failingInstance)
	}
	return ids
}

// waitPerInstance waits until expr answers, on each path, series of every
// instance of ids and of no other (no series without an instance label,
// as two instances merged into one would answer), each with job and a
// finite value, none with scope labels, and exactly one series per
// instance for each set of the other labels (a source, a service): an
// instance whose data arrived twice, under labels that differ only in
// something the exporters added, would answer two.
func waitPerInstance(t *testing.T, p *e2etest.Process, expr string, ids []string) {
	t.Helper()
	p.Poll(t, 60*time.Second, p.Name+": "+expr, func() error {
		res, err := p.Query(expr)
		if err != nil {
			return err
		}
		for _, pl := range pipelines {
			count := map[string]int{}
			finiteOf := map[string]bool{}
			perLabels := map[string]map[string]int{} // the other labels → instance → series
			for _, s := range res {
				if s.Metric["pipeline"] != pl {
					continue
				}
				id := s.Metric["instance"]
				if !slices.Contains(ids, id) {
					return fmt.Errorf("%s: series of unknown instance %q: %v", pl, id, s.Metric)
				}
				if s.Metric["job"] != jobName {
					return fmt.Errorf("%s: job %q: %v", pl, s.Metric["job"], s.Metric)
				}
				for k := range s.Metric {
					if strings.HasPrefix(k, "otel_scope") {
						return fmt.Errorf("%s: scope label %s: %v", pl, k, s.Metric)
					}
				}
				count[id]++
				finiteOf[id] = finiteOf[id] || s.Finite()
				other := maps.Clone(s.Metric)
				delete(other, "instance")
				key := fmt.Sprint(other)
				if perLabels[key] == nil {
					perLabels[key] = map[string]int{}
				}
				if perLabels[key][id]++; perLabels[key][id] > 1 {
					return fmt.Errorf("%s: instance %s answers %d series for %s, want one", pl, id, perLabels[key][id], key)
				}
			}
			for _, id := range ids {
				if count[id] == 0 {
					return fmt.Errorf("%s: series per instance %v, want some for each of %q", pl, count, ids)
				}
				if !finiteOf[id] {
					return fmt.Errorf("%s: no finite value for instance %s: %v", pl, id, res)
				}
			}
		}
		return nil
	})
}

// webhook is the fleet test's webhook receiver, with its checks of the
// notifications.
type webhook struct{ *e2etest.WebhookReceiver }

// resolvedAll reports whether service_down for the failing service has
// been notified and every group notified firing has been notified resolved
// since.
func (r webhook) resolvedAll() error {
	groups := r.ByGroup()
	down, burned := false, false
	for key, ms := range groups {
		g := ms[0].GroupLabels
		down = down || g["alertname"] == "service_down" && g["service"] == failingService
		if burnRate(g) {
			// The outage spent the source's error budget: its burn-rate
			// alerts hold until their short windows no longer see it.
			burned = burned || g["source"] == failingService
			continue
		}
		if ms[len(ms)-1].Status != "resolved" {
			return fmt.Errorf("group %s: last notification %s", key, ms[len(ms)-1].Status)
		}
	}
	if !down || !burned {
		return fmt.Errorf("no service_down group or burn-rate group for %s among %d groups", failingService, len(groups))
	}
	return nil
}

// burnRate reports whether a group is that of a burn-rate rule, whose
// alerts outlast the outage by design: the page resolves once its 5 and
// 30 minute windows no longer hold a failure, long after this test.
func burnRate(group map[string]string) bool {
	return strings.HasPrefix(group["alertname"], "slo_burn_rate_")
}

// checkQuiet fails the test if a notification arrives within d: once every
// group is resolved, the fleet is healthy and nothing is left to notify.
// This is the one wait of the test that is not for a state to appear but
// for a duplicate not to: d covers the other cluster member's peer wait and
// two group intervals.
func (r webhook) checkQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	n := len(r.Received())
	deadline := time.After(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			return
		case <-tick.C:
			if got := r.Received(); len(got) != n {
				t.Errorf("notification after every group resolved: %+v", got[n:])
				return
			}
		}
	}
}

// checkOnce checks that each group was notified exactly twice, firing then
// resolved, with one alert: the failing instance's, whichever Prometheus
// server, path or the instance itself raised it, and whichever member of
// the cluster received it.
func (r webhook) checkOnce(t *testing.T) {
	t.Helper()
	for key, ms := range r.ByGroup() {
		var statuses []string
		for _, m := range ms {
			statuses = append(statuses, m.Status)
			if len(m.Alerts) != 1 {
				t.Errorf("group %s: %s notification with %d alerts, want 1: %+v", key, m.Status, len(m.Alerts), m.Alerts)
			}
			for _, a := range m.Alerts {
				if a.Labels["instance"] != failingInstance || a.Labels["job"] != jobName {
					t.Errorf("group %s: alert of instance %q, job %q, want %s of %s: %v", key, a.Labels["instance"], a.Labels["job"], failingInstance, jobName, a.Labels)
				}
				if _, ok := a.Labels["pipeline"]; ok {
					t.Errorf("group %s: alert with the pipeline label: %v", key, a.Labels)
				}
			}
		}
		want := []string{"firing", "resolved"}
		if burnRate(ms[0].GroupLabels) {
			want = want[:1] // still firing (see burnRate)
		}
		if !slices.Equal(statuses, want) {
			t.Errorf("group %s: notifications %v, want %v", key, statuses, want)
		}
	}
}
