package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// amStandIn imitates the one endpoint of Alertmanager's v2 API the
// notifier uses, POST /api/v2/alerts, as Alertmanager's OpenAPI
// specification (api/v2/openapi.yaml, operation postAlerts) documents it:
// the body is a JSON array of postable alerts (labels, annotations,
// startsAt, endsAt, generatorURL); the answer is 200 with an empty body,
// or 400 with a JSON string saying what is wrong.
type amStandIn struct {
	url string

	expired atomic.Bool // set once the test has expired its silences
	mu      sync.Mutex
	got     []receivedAlert
}

type receivedAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	afterExp bool              // received after the silences were expired
}

func startAMStandIn(t *testing.T) *amStandIn {
	t.Helper()
	am := &amStandIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		var alerts []receivedAlert
		b, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(b, &alerts)
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode("invalid alerts: " + err.Error())
			return
		}
		after := am.expired.Load()
		am.mu.Lock()
		for _, a := range alerts {
			a.afterExp = after
			am.got = append(am.got, a)
		}
		am.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	am.url = srv.URL
	return am
}

// imdb returns the alerts received about imdb, as "alertname" or
// "alertname (after)" for those received after the silences were expired.
func (am *amStandIn) imdb() []string {
	am.mu.Lock()
	defer am.mu.Unlock()
	var out []string
	for _, a := range am.got {
		if a.Labels["source"] != "imdb" && a.Labels["service"] != "imdb" {
			continue
		}
		s := a.Labels["alertname"]
		if a.afterExp {
			s += " (after)"
		}
		out = append(out, s)
	}
	return out
}

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

// TestSilenceEndToEnd runs the demo with imdb failing and its alerts sent
// to an Alertmanager stand-in. Silences on imdb's labels, created through
// the API right after the start, keep every imdb alert from the stand-in
// while the alerts fire and list the silences in silencedBy; expiring the
// silences sends the stand-in the imdb alerts that still fire.
func TestSilenceEndToEnd(t *testing.T) {
	const key = "silence-e2e-key"
	am := startAMStandIn(t)
	// Three failed health checks make service_down: 1.5 s at the earliest,
	// long after the silences are made.
	addr := demo(t, "-api-key", key, "-alertmanager", am.url, "-fail", "imdb",
		"-sync-interval", "500ms", "-health-interval", "500ms", "-eval-interval", "200ms",
	)
	api := "http://" + addr + "/api/v3/monitoring"

	var ids []string
	for _, label := range []string{"source", "service"} {
		now := time.Now().UTC()
		body := fmt.Sprintf(`{"matchers":[{"name":%q,"value":"imdb","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"e2e","comment":"imdb maintenance"}`,
			label, now.Format(time.RFC3339Nano), now.Add(time.Hour).Format(time.RFC3339Nano))
		var created struct{ ID string }
		apiCall(t, "POST", api+"/silences", key, body, http.StatusCreated, &created)
		ids = append(ids, created.ID)
	}

	type alertJSON struct {
		Rule       string            `json:"rule"`
		State      string            `json:"state"`
		Labels     map[string]string `json:"labels"`
		Value      float64           `json:"value"`
		SilencedBy []string          `json:"silencedBy"`
	}
	imdbRules := []string{"circuit_breaker_open", "consecutive_sync_failures", "service_down"}
	var failures float64
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
			if a.Rule == "consecutive_sync_failures" {
				failures = a.Value
			}
		}
		slices.Sort(silenced)
		if !slices.Equal(silenced, imdbRules) {
			return fmt.Errorf("silenced firing imdb alerts %q, want %q", silenced, imdbRules)
		}
		return nil
	})
	// Let a few more syncs fail and be evaluated while silenced: each
	// evaluation would have notified (and resent) them.
	poll(t, 30*time.Second, "more imdb failures evaluated", func() error {
		var alerts []alertJSON
		apiCall(t, "GET", api+"/alerts?state=firing", key, "", http.StatusOK, &alerts)
		for _, a := range alerts {
			if a.Rule == "consecutive_sync_failures" && a.Labels["source"] == "imdb" && a.Value >= failures+3 {
				return nil
			}
		}
		return fmt.Errorf("consecutive failures still below %v", failures+3)
	})
	if got := am.imdb(); len(got) != 0 {
		t.Fatalf("the stand-in heard of silenced imdb alerts: %q", got)
	}

	am.expired.Store(true)
	for _, id := range ids {
		var s struct {
			Status struct{ State string } `json:"status"`
		}
		apiCall(t, "DELETE", api+"/silences/"+id, key, "", http.StatusOK, &s)
		if s.Status.State != "expired" {
			t.Fatalf("expired silence %s is %q", id, s.Status.State)
		}
	}
	poll(t, 30*time.Second, "the stand-in receives the firing imdb alerts", func() error {
		got := am.imdb()
		for _, rule := range imdbRules {
			if !slices.Contains(got, rule+" (after)") {
				return fmt.Errorf("received %q, want %s after the expiry", got, rule)
			}
		}
		return nil
	})
	for _, a := range am.imdb() {
		if !strings.HasSuffix(a, " (after)") {
			t.Fatalf("the stand-in heard of %s before the silences were expired", a)
		}
	}
	var list []struct {
		ID     string `json:"id"`
		Status struct{ State string }
	}
	apiCall(t, "GET", api+"/silences", key, "", http.StatusOK, &list)
	if len(list) != 2 || list[0].Status.State != "expired" || list[1].Status.State != "expired" {
		t.Fatalf("silences after expiry: %+v", list)
	}
}
