package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// alertmanagerConfig routes every alert to the test's webhook receiver,
// one group per alert and service, flushed at once and every second, so
// that firing and resolved notifications follow the alert within seconds.
const alertmanagerConfig = `route:
  receiver: webhook
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: %q
        send_resolved: true
`

// TestAlertmanagerEndToEnd runs the demo with imdb failing for a while and
// sending its alerts to a real Alertmanager, which notifies a webhook
// receiver in the test: service_down for imdb becomes active in
// Alertmanager, leaves it once imdb heals, and the receiver is told both.
func TestAlertmanagerEndToEnd(t *testing.T) {
	bin := e2etest.RequireProgram(t, "prometheus-alertmanager", "Debian package prometheus-alertmanager")
	want := map[string]string{"alertname": "service_down", "service": "imdb", "severity": "critical"}

	hook := e2etest.StartWebhookReceiver(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, alertmanagerConfig, hook.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	amtoolCheckConfig(t, cfg)

	am := startAlertmanager(t, bin, cfg, filepath.Join(dir, "data"))
	am.WaitReady(t, "/-/ready", 30*time.Second)

	demo(t, "-alertmanager", am.Base, "-fail", "imdb", "-fail-for", "4s",
		"-sync-interval", "100ms", "-health-interval", "100ms", "-eval-interval", "100ms",
		"-breaker-open-timeout", "300ms")

	am.Poll(t, 60*time.Second, "service_down for imdb active in Alertmanager", func() error {
		alerts, err := am.alerts()
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if !hasLabels(a.Labels, want) {
				continue
			}
			if a.Status.State != "active" {
				return fmt.Errorf("service_down for imdb is %q, want active", a.Status.State)
			}
			if len(a.Receivers) != 1 || a.Receivers[0].Name != "webhook" {
				return fmt.Errorf("service_down for imdb routed to %+v, want webhook", a.Receivers)
			}
			return nil
		}
		return fmt.Errorf("no active alert with labels %v among %+v", want, alerts)
	})

	// imdb heals after -fail-for; the demo then sends the alert resolved,
	// and Alertmanager drops it from its active alerts.
	am.Poll(t, 60*time.Second, "service_down for imdb resolved in Alertmanager", func() error {
		alerts, err := am.alerts()
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if hasLabels(a.Labels, want) {
				return fmt.Errorf("still listed: state %q, endsAt %v", a.Status.State, a.EndsAt)
			}
		}
		return nil
	})

	am.Poll(t, 30*time.Second, "webhook told of service_down for imdb firing and resolved", func() error {
		var firing, resolved bool
		for _, m := range hook.Received() {
			for _, a := range m.Alerts {
				if !hasLabels(a.Labels, want) {
					continue
				}
				switch {
				case m.Status == "firing" && a.Status == "firing":
					firing = true
				case m.Status == "resolved" && a.Status == "resolved":
					resolved = true
				}
			}
		}
		if !firing || !resolved {
			return fmt.Errorf("firing notification %v, resolved notification %v; received %+v", firing, resolved, hook.Received())
		}
		return nil
	})
}

// amtoolCheckConfig validates an Alertmanager configuration with amtool,
// which the Alertmanager package installs.
func amtoolCheckConfig(t *testing.T, path string) {
	t.Helper()
	amtool := e2etest.RequireProgram(t, "amtool", "Debian package prometheus-alertmanager")
	out, err := exec.Command(amtool, "check-config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config %s: %v\n%s", path, err, out)
	}
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// amServer is an Alertmanager process started by a test.
type amServer struct{ *e2etest.Process }

// startAlertmanager starts Alertmanager with cfg on a free loopback port,
// without clustering, storing its data under dataDir, and stops it when the
// test ends. Its output is logged when the test fails.
func startAlertmanager(t *testing.T, bin, cfg, dataDir string) *amServer {
	t.Helper()
	listen := e2etest.FreeAddr(t)
	return &amServer{e2etest.Start(t, "alertmanager", listen, nil, bin,
		"--config.file="+cfg,
		"--storage.path="+dataDir,
		"--web.listen-address="+listen,
		"--cluster.listen-address=", // no clustering: no gossip port, no peer wait
		"--log.level=debug",         // notifications show in the output of a failed test
	)}
}

// gettableAlert is the part of an alert of the v2 API the test checks.
type gettableAlert struct {
	Labels    map[string]string `json:"labels"`
	StartsAt  time.Time         `json:"startsAt"`
	EndsAt    time.Time         `json:"endsAt"`
	UpdatedAt time.Time         `json:"updatedAt"` // when it was last received
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	Status struct {
		State string `json:"state"` // unprocessed, active or suppressed
	} `json:"status"`
}

// alerts returns Alertmanager's active alerts: the v2 API lists neither
// resolved alerts nor, with active=true alone, silenced or inhibited ones.
func (am *amServer) alerts() ([]gettableAlert, error) {
	return am.getAlerts("/api/v2/alerts?active=true&silenced=false&inhibited=false")
}

// allAlerts returns every alert Alertmanager holds that has not resolved,
// whatever its state.
func (am *amServer) allAlerts() ([]gettableAlert, error) { return am.getAlerts("/api/v2/alerts") }

func (am *amServer) getAlerts(path string) ([]gettableAlert, error) {
	code, body, err := am.Get(path)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, code, bytes.TrimSpace(body))
	}
	var alerts []gettableAlert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	if alerts == nil {
		return nil, fmt.Errorf("GET %s: %s: not an array", path, bytes.TrimSpace(body))
	}
	return alerts, nil
}
