package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

// With its Alertmanager unreachable, the demo's silences are the cluster's
// all the same: the page says the list is stale and since when (the time
// the API's header names), and making a silence answers 503 with a JSON
// error that names no member.
func TestStatusPageSilencesStale(t *testing.T) {
	const key = "stale-test-key"
	// A port that was free a moment ago and that nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + ln.Addr().String()
	ln.Close()
	addr := demo(t, "-api-key", key, "-alertmanager", unreachable, "-eval-interval", "200ms")

	var created struct {
		Error, Code string
	}
	apiCall(t, "POST", "http://"+addr+"/api/v3/monitoring/silences", key,
		`{"matchers":[{"name":"source","value":"imdb","isRegex":false}],"endsAt":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`","createdBy":"test","comment":"stale"}`,
		http.StatusServiceUnavailable, &created)
	if created.Error == "" || strings.Contains(created.Error, ln.Addr().String()) {
		t.Errorf("503 error %+v: want a message that names no member", created)
	}

	out := e2etest.RunBrowserScript(t, "status-stale.mjs", 90*time.Second,
		"STATUS_PAGE_URL=http://"+addr+"/", "STATUS_PAGE_API_KEY="+key)
	var sum struct {
		Text, Source, StaleSince, FetchedAt string
		Caution                             bool
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("status-stale.mjs printed no summary: %v\n%s", err, out)
	}
	since, err := time.Parse(time.RFC3339, sum.StaleSince)
	if sum.Source != "alertmanager" || err != nil || sum.FetchedAt != "" {
		t.Fatalf("GET /silences headers: source %q, stale since %q (%v), fetched at %q; want alertmanager, a time, none",
			sum.Source, sum.StaleSince, err, sum.FetchedAt)
	}
	// The page writes the time in the browser's locale and time zone (the
	// process's, as Go's Local): the test checks what every locale writes
	// alike, the minutes and seconds.
	if !sum.Caution || !strings.HasPrefix(sum.Text, "Stale: Alertmanager has not answered since ") ||
		!strings.Contains(sum.Text, "no list fetched yet") || !strings.Contains(sum.Text, since.Local().Format("04:05")) {
		t.Errorf("the page says %q (caution %v); want it stale since %v, no list fetched", sum.Text, sum.Caution, since)
	}
}
