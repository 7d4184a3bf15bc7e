package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// apiCall makes an authenticated API request and decodes a JSON answer
// into out (when not nil).
func apiCall(t *testing.T, method, url, key, body string, wantStatus int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// silenceAMConfig routes every alert to a receiver that notifies no one:
// the test reads what Alertmanager holds through its API.
const silenceAMConfig = `route:
  receiver: nobody
receivers:
  - name: nobody
`

// TestSilenceEndToEnd runs the demo with imdb failing and its alerts sent
// to a real Alertmanager, and silences imdb's alerts through the demo's
// API, which makes them in Alertmanager: one silence, made right after the
// start, on service=imdb (service_down, circuit_breaker_open), which fire
// under it and which Alertmanager gets all the same and lists suppressed,
// as it would Prometheus's; one, made once Alertmanager holds
// consecutive_sync_failures for imdb as firing, on source=imdb, for which
// the demo must keep Alertmanager's copy alive (resends, so that
// Alertmanager does not resolve it; Alertmanager suppresses it by the
// silence). Expiring the silences makes them all active there.
func TestSilenceEndToEnd(t *testing.T) {
	bin := e2etest.RequireProgram(t, "prometheus-alertmanager", "Debian package prometheus-alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(silenceAMConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	amtoolCheckConfig(t, cfg)
	am := startAlertmanager(t, bin, cfg, filepath.Join(dir, "data"))
	am.WaitReady(t, "/-/ready", 30*time.Second)

	const key = "silence-e2e-key"
	const resend = 300 * time.Millisecond
	// Three failed health checks make service_down (1.5 s at the
	// earliest), five failed syncs open imdb's breaker: long after the
	// first silence is made.
	addr := demo(t, "-api-key", key, "-alertmanager", am.Base, "-alertmanager-resend", resend.String(), "-fail", "imdb",
		"-sync-interval", "500ms", "-health-interval", "500ms", "-eval-interval", "200ms",
	)
	api := "http://" + addr + "/api/v3/monitoring"
	ids := []string{createSilence(t, api, key, "service")}

	syncFailures := map[string]string{"alertname": "consecutive_sync_failures", "source": "imdb"}
	var known gettableAlert
	am.Poll(t, 60*time.Second, "consecutive_sync_failures for imdb in Alertmanager", func() error {
		a, err := amAlert(am, syncFailures, "active")
		if err == nil {
			known = a
		}
		return err
	})
	silencedAt := time.Now()
	ids = append(ids, createSilence(t, api, key, "source"))
	// The silences are Alertmanager's.
	code, body, err := am.Get("/api/v2/silences")
	for _, id := range ids {
		if err != nil || code != http.StatusOK || !strings.Contains(string(body), id) {
			t.Fatalf("Alertmanager's silences: %d %v %s; want %s among them", code, err, body, id)
		}
	}

	type alertJSON struct {
		Rule       string            `json:"rule"`
		State      string            `json:"state"`
		Labels     map[string]string `json:"labels"`
		SilencedBy []string          `json:"silencedBy"`
	}
	imdbRules := []string{"circuit_breaker_open", "consecutive_sync_failures", "service_down", "slo_burn_rate_page", "slo_burn_rate_ticket"}
	poll(t, 60*time.Second, "imdb alerts firing and silenced", func() error {
		var alerts []alertJSON
		apiCall(t, "GET", api+"/alerts?state=firing", key, "", http.StatusOK, &alerts)
		var silenced []string
		for _, a := range alerts {
			if a.Labels["source"] != "imdb" && a.Labels["service"] != "imdb" {
				continue
			}
			if len(a.SilencedBy) != 1 || !slices.Contains(ids, a.SilencedBy[0]) {
				return fmt.Errorf("%s for imdb fires with silencedBy %q, want one of %q", a.Rule, a.SilencedBy, ids)
			}
			silenced = append(silenced, a.Rule)
		}
		slices.Sort(silenced)
		if !slices.Equal(silenced, imdbRules) {
			return fmt.Errorf("silenced firing imdb alerts %q, want %q", silenced, imdbRules)
		}
		return nil
	})

	// The alert Alertmanager knew as firing is kept alive under the
	// silence: received again well after the silence was made, the same
	// occurrence, not resolved, and suppressed by Alertmanager itself.
	am.Poll(t, 30*time.Second, "consecutive_sync_failures for imdb kept alive", func() error {
		a, err := amAlert(am, syncFailures, "suppressed")
		if err != nil {
			return err
		}
		if !a.StartsAt.Equal(known.StartsAt) {
			return fmt.Errorf("startsAt %v, want the %v of the alert Alertmanager knew", a.StartsAt, known.StartsAt)
		}
		if after := silencedAt.Add(3 * resend); !a.UpdatedAt.After(after) {
			return fmt.Errorf("last received at %v, want a resend after %v", a.UpdatedAt, after)
		}
		return nil
	})
	// The alerts that began to fire under the silence reach it too, as
	// Prometheus's would: Alertmanager applies the silence itself, and
	// lists them suppressed.
	am.Poll(t, 30*time.Second, "imdb's service alerts in Alertmanager, suppressed", func() error {
		alerts, err := am.allAlerts()
		if err != nil {
			return err
		}
		var held []string
		for _, a := range alerts {
			if a.Labels["service"] != "imdb" {
				continue
			}
			if a.Status.State != "suppressed" {
				return fmt.Errorf("%s for imdb is %s in Alertmanager, want suppressed", a.Labels["alertname"], a.Status.State)
			}
			held = append(held, a.Labels["alertname"])
		}
		slices.Sort(held)
		if want := []string{"circuit_breaker_open", "service_down"}; !slices.Equal(held, want) {
			return fmt.Errorf("Alertmanager holds %q for imdb, want %q", held, want)
		}
		return nil
	})

	for _, id := range ids {
		var s struct {
			Status struct{ State string } `json:"status"`
		}
		apiCall(t, "DELETE", api+"/silences/"+id, key, "", http.StatusOK, &s)
		if s.Status.State != "expired" {
			t.Fatalf("expired silence %s is %q", id, s.Status.State)
		}
	}
	// The alerts still fire: Alertmanager lists the two that began under
	// the silence active now, and still holds the one it knew before,
	// never resolved in between.
	am.Poll(t, 30*time.Second, "imdb alerts in Alertmanager after the expiry", func() error {
		for _, rule := range []string{"circuit_breaker_open", "service_down"} {
			if _, err := amAlert(am, map[string]string{"alertname": rule, "service": "imdb"}, "active"); err != nil {
				return err
			}
		}
		a, err := amAlert(am, syncFailures, "active")
		if err != nil {
			return err
		}
		if !a.StartsAt.Equal(known.StartsAt) {
			return fmt.Errorf("consecutive_sync_failures startsAt %v, want %v: it resolved in between", a.StartsAt, known.StartsAt)
		}
		return nil
	})
	var list []struct {
		ID     string `json:"id"`
		Status struct{ State string }
	}
	apiCall(t, "GET", api+"/silences", key, "", http.StatusOK, &list)
	if len(list) != 2 || list[0].Status.State != "expired" || list[1].Status.State != "expired" {
		t.Fatalf("silences after expiry: %+v", list)
	}
}

// createSilence silences, for an hour from now, the alerts whose label is
// imdb, through the demo's API at api, and returns the silence's id.
func createSilence(t *testing.T, api, key, label string) string {
	t.Helper()
	now := time.Now().UTC()
	body := fmt.Sprintf(`{"matchers":[{"name":%q,"value":"imdb","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"e2e","comment":"imdb maintenance"}`,
		label, now.Format(time.RFC3339Nano), now.Add(time.Hour).Format(time.RFC3339Nano))
	var created struct{ ID string }
	apiCall(t, "POST", api+"/silences", key, body, http.StatusCreated, &created)
	return created.ID
}

// amAlert returns the one alert with labels want Alertmanager holds, which
// must be in state (active, or suppressed by a silence) and not about to
// end.
func amAlert(am *amServer, want map[string]string, state string) (gettableAlert, error) {
	alerts, err := am.allAlerts()
	if err != nil {
		return gettableAlert{}, err
	}
	var found []gettableAlert
	for _, a := range alerts {
		if hasLabels(a.Labels, want) {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		return gettableAlert{}, fmt.Errorf("%d alerts with labels %v, want 1, among %+v", len(found), want, alerts)
	}
	a := found[0]
	if a.Status.State != state || !a.EndsAt.After(time.Now()) {
		return a, fmt.Errorf("alert %v is %q, ends at %v; want %s", want, a.Status.State, a.EndsAt, state)
	}
	return a, nil
}
