package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/e2etest"
)

// TestStatusPageUnderPrefix opens otelmon's status page where the host
// mounts it, /monitoring/, in headless Chromium: from the bare prefix the
// page asks for the key, shows the host's alert and acknowledges it, and
// every request it makes stays under the prefix. The test then checks the
// acknowledgement and the alerts the page showed through the API.
func TestStatusPageUnderPrefix(t *testing.T) {
	addr, _, _, _ := start(t)
	base := "http://" + addr
	const title = "host_import_queue_depth is 150 (> 100) for component=custom"
	out := e2etest.RunBrowserScript(t, "prefixed-page.mjs", 90*time.Second,
		"STATUS_PAGE_URL="+base+"/monitoring", "STATUS_PAGE_API_KEY="+testKey, "STATUS_PAGE_ALERT="+title)
	var sum struct {
		Page         string   `json:"page"`
		Alerts       []string `json:"alerts"`
		Acknowledged string   `json:"acknowledged"`
		Services     []string `json:"services"`
		Requests     []struct {
			Method string `json:"method"`
			Path   string `json:"path"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("prefixed-page.mjs printed no summary: %v\n%s", err, out)
	}
	if sum.Page != "/monitoring/" {
		t.Errorf("the page ended at %s, want /monitoring/", sum.Page)
	}
	api := 0
	for _, r := range sum.Requests {
		if strings.HasPrefix(r.Path, "/monitoring/api/v3/monitoring/") {
			api++
		}
	}
	if api == 0 {
		t.Errorf("the page made no API request under /monitoring/: %+v", sum.Requests)
	}

	// What the page showed is what the API says, and its click reached it.
	code, body := get(t, base+"/monitoring/api/v3/monitoring/alerts", http.Header{"X-Api-Key": {testKey}})
	if code != http.StatusOK {
		t.Fatalf("alerts: %d %s", code, body)
	}
	var alerts []alerting.Alert
	if err := json.Unmarshal([]byte(body), &alerts); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range alerts {
		titles = append(titles, a.Title)
		if a.Title == title && (a.ID != sum.Acknowledged || !a.Acknowledged) {
			t.Errorf("alert %q: id %s acknowledged %v, want %s acknowledged by the page", a.Title, a.ID, a.Acknowledged, sum.Acknowledged)
		}
	}
	slices.Sort(titles)
	shown := slices.Clone(sum.Alerts)
	slices.Sort(shown)
	if !slices.Equal(shown, titles) {
		t.Errorf("the page showed alerts %q, the API lists %q", shown, titles)
	}
	for _, src := range sources {
		if !slices.Contains(sum.Services, src) {
			t.Errorf("the page shows no service %s (its breaker); shown: %q", src, sum.Services)
		}
	}
}
