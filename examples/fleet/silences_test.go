package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	otelmonwebhook "github.com/listsync/otelmon/alerting/webhook"
	"github.com/listsync/otelmon/internal/e2etest"
)

// fleetAPIKey is the demo instances' API key in the fleet tests.
const fleetAPIKey = "fleet-test-key"

// TestFleetSilences runs two demo instances, A and B, both with imdb down,
// sending their alerts to two clustered Alertmanagers and each to a
// webhook of its own (-webhook). A silence made through A's API (the
// status page's "silence this alert") is the cluster's: B's API lists it,
// and it mutes B's webhook; expired through B's API, B's webhook hears of
// the alert again at once.
func TestFleetSilences(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two clustered Alertmanagers and two demo instances")
	}
	began := time.Now()
	goBin := e2etest.RequireProgram(t, "go", "the Go toolchain")
	alertmanager := e2etest.RequireProgram(t, "prometheus-alertmanager", "Debian package prometheus-alertmanager")

	bin := t.TempDir()
	demo := filepath.Join(bin, "listsync")
	goBuild(t, goBin, repoRoot, demo, demoPackage)

	amA, amB, clusterA, clusterB := e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	dir := t.TempDir()
	amCfg := writeRewritten(t, alertmanagerCfg, filepath.Join(dir, "alertmanager.yml"), map[string]string{
		"http://webhook:8080/alerts": e2etest.StartWebhookReceiver(t).URL, // Alertmanager's own receiver: not checked here
	})
	ams := []*e2etest.Process{
		startAlertmanager(t, alertmanager, "alertmanager-a", amCfg, amA, clusterA, clusterB, filepath.Join(dir, "am-a")),
		startAlertmanager(t, alertmanager, "alertmanager-b", amCfg, amB, clusterB, clusterA, filepath.Join(dir, "am-b")),
	}
	for _, am := range ams {
		am.WaitReady(t, "/-/ready", 60*time.Second)
		waitCluster(t, am, 2)
	}
	fleetStart := time.Now()

	var insts []*e2etest.Process
	var hooks []*otelmonHook
	for _, name := range []string{"listsync-a", "listsync-b"} {
		hook := startOtelmonHook(t)
		listen := e2etest.FreeAddr(t)
		p := start(t, name, listen, []string{
			"OTEL_SERVICE_NAME=" + jobName,
			"OTEL_RESOURCE_ATTRIBUTES=service.instance.id=" + name,
			"LISTSYNC_API_KEY=" + fleetAPIKey,
		}, demo, "-listen", listen, "-sync-interval", "200ms", "-health-interval", "200ms", "-eval-interval", "200ms",
			"-fail", failingService, "-alertmanager", ams[0].Base+","+ams[1].Base, "-webhook", hook.URL,
			"-state", filepath.Join(t.TempDir(), name+".json"))
		p.WaitReady(t, "/api/v3/monitoring/status?apikey="+fleetAPIKey, 60*time.Second)
		insts, hooks = append(insts, p), append(hooks, hook)
	}
	a, b, hookB := insts[0], insts[1], hooks[1]

	// Both instances fire service_down for imdb; B's webhook hears of it.
	b.Poll(t, 60*time.Second, "B's webhook hears service_down firing", func() error {
		if hookB.firings() == 0 {
			return fmt.Errorf("notices %v", hookB.received())
		}
		return nil
	})
	var alertA string
	a.Poll(t, 60*time.Second, "A's service_down firing", func() error {
		id, _, err := serviceDown(a)
		alertA = id
		return err
	})

	// Silenced through A, as the status page's button does.
	code, body := call(t, http.MethodPost, a.Base+"/api/v3/monitoring/alerts/"+alertA+"/silence",
		`{"duration":"1h","comment":"imdb outage","createdBy":"fleet test"}`)
	var sil struct {
		ID     string `json:"id"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &sil); err != nil || code != http.StatusCreated || sil.Status.State != "active" {
		t.Fatalf("silence through A: %d %s", code, body)
	}
	silencedAt := time.Now()

	// B lists it (at its next fetch, within the 15 s default) and its alert
	// is silenced by it.
	b.Poll(t, 45*time.Second, "B lists the silence made through A", func() error {
		return silenceState(b, sil.ID, "active")
	})
	b.Poll(t, 10*time.Second, "B's alert silenced by it", func() error {
		_, by, err := serviceDown(b)
		if err == nil && !slices.Contains(by, sil.ID) {
			err = fmt.Errorf("silenced by %v", by)
		}
		return err
	})
	t.Logf("figure: B muted by A's silence %v after it was made", time.Since(silencedAt).Round(100*time.Millisecond))
	heard := hookB.firings()

	// Expired through B: B fetches at once, and its webhook hears the
	// firing the silence kept from it.
	code, body = call(t, http.MethodDelete, b.Base+"/api/v3/monitoring/silences/"+sil.ID, "")
	if code != http.StatusOK || !strings.Contains(string(body), `"expired"`) {
		t.Fatalf("expire through B: %d %s", code, body)
	}
	expiredAt := time.Now()
	b.Poll(t, 10*time.Second, "B's webhook hears service_down again", func() error {
		if hookB.firings() <= heard {
			return fmt.Errorf("%d firing notices, as before the expiry", hookB.firings())
		}
		return nil
	})
	t.Logf("figure: B's webhook heard the alert again %v after the expiry", time.Since(expiredAt).Round(time.Millisecond))
	a.Poll(t, 45*time.Second, "A lists the silence expired", func() error { return silenceState(a, sil.ID, "expired") })
	t.Logf("figure: the fleet silence test took %v (%v after the build and the cluster)", time.Since(began).Round(time.Second), time.Since(fleetStart).Round(time.Second))
}

// serviceDown returns the ID of the instance's firing service_down alert
// for the failing service, and what silences it.
func serviceDown(p *e2etest.Process) (string, []string, error) {
	code, body, err := p.Get("/api/v3/monitoring/alerts?apikey=" + fleetAPIKey)
	if err != nil || code != http.StatusOK {
		return "", nil, fmt.Errorf("alerts: %d %v %s", code, err, body)
	}
	var alerts []struct {
		ID         string            `json:"id"`
		Rule       string            `json:"rule"`
		State      string            `json:"state"`
		Labels     map[string]string `json:"labels"`
		SilencedBy []string          `json:"silencedBy"`
	}
	if err := json.Unmarshal(body, &alerts); err != nil {
		return "", nil, err
	}
	for _, a := range alerts {
		if a.Rule == "service_down" && a.State == "firing" && a.Labels["service"] == failingService {
			return a.ID, a.SilencedBy, nil
		}
	}
	return "", nil, fmt.Errorf("no firing service_down for %s: %s", failingService, body)
}

// silenceState checks that the instance lists the silence id in state.
func silenceState(p *e2etest.Process, id, state string) error {
	code, body, err := p.Get("/api/v3/monitoring/silences/" + id + "?apikey=" + fleetAPIKey)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("silence %s: %d %v %s", id, code, err, body)
	}
	var s struct {
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.Status.State != state {
		return fmt.Errorf("silence %s: %s, want %s", id, body, state)
	}
	return nil
}

// call sends a request with the API key and returns the answer.
func call(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", fleetAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// otelmonHook receives the notifications of otelmon's webhook notifier
// (package alerting/webhook).
type otelmonHook struct {
	*e2etest.Receiver[otelmonwebhook.Message]
}

func startOtelmonHook(t *testing.T) *otelmonHook {
	t.Helper()
	return &otelmonHook{e2etest.StartReceiver[otelmonwebhook.Message](t, "/hook")}
}

// received returns each notice as "status rule service".
func (h *otelmonHook) received() []string {
	var out []string
	for _, m := range h.Received() {
		out = append(out, m.Status.String()+" "+m.Alert.Rule+" "+m.Alert.Labels["service"])
	}
	return out
}

// firings counts the firing notices of service_down for the failing
// service.
func (h *otelmonHook) firings() int {
	n := 0
	for _, r := range h.received() {
		if r == "firing service_down "+failingService {
			n++
		}
	}
	return n
}
