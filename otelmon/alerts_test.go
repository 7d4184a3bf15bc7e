package otelmon

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/otelmon/internal/httpapi"
)

// chanNotifier hands every notification to a channel.
type chanNotifier struct{ ch chan alerting.Alert }

func (n chanNotifier) Name() string { return "test" }
func (n chanNotifier) Notify(_ context.Context, a alerting.Alert) error {
	n.ch <- a
	return nil
}

// A breaker opening triggers an evaluation at once: the alert is notified
// without any evaluation tick.
func TestBreakerOpenTriggersEvaluation(t *testing.T) {
	n := chanNotifier{ch: make(chan alerting.Alert, 10)}
	m, _ := newTestMonitor(t, DefaultConfig(), WithNotifiers(n))
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // plex opens on its 2nd failure
		_ = m.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { return errUpstream })
	}
	var a alerting.Alert
	select {
	case a = <-n.ch:
	case <-time.After(30 * time.Second):
		t.Fatal("no notification after the breaker opened")
	}
	if a.Rule != alerting.RuleCircuitBreakerOpen || a.State != alerting.Firing || a.Labels["service"] != "plex" || a.Level != alerting.Warning {
		t.Fatalf("notified %+v", a)
	}
	st := m.Status()
	if st.ActiveWarningAlerts != 1 || st.ActiveCriticalAlerts != 0 {
		t.Fatalf("status counts: %+v", st)
	}
}

func TestDefaultAlertsFireAndResolve(t *testing.T) {
	var ok atomic.Bool
	srv := flakyServer(t, &ok)
	m, _ := newTestMonitor(t, noSLOs(DefaultConfig()), WithHealthCheckURLs(map[string]string{"imdb": srv.URL, "tmdb": "", "trakt": ""}))
	ctx := context.Background()
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m.RecordSyncOperation(ctx, "imdb", false, time.Second, 0, 0, 0)
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	firing := map[string]bool{}
	for _, a := range m.Alerts().Active() {
		firing[a.Rule] = a.State == alerting.Firing
	}
	if !firing[alerting.RuleConsecutiveSyncFailures] || !firing[alerting.RuleServiceDown] {
		t.Fatalf("firing: %v", firing)
	}
	ok.Store(true)
	m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 0, 1)
	for i := 0; i < 2; i++ {
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if act := m.Alerts().Active(); len(act) != 0 {
		t.Fatalf("still active after recovery: %+v", act)
	}
}

func TestAPIAlerts(t *testing.T) {
	m, srv, imdbOK, _ := apiMonitor(t)
	ctx := context.Background()
	imdbOK.Store(false)
	for i := 0; i < 3; i++ {
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/api/v3/monitoring/alerts"
	var list []alerting.Alert
	r := call(t, "GET", base, testKey, "")
	if r.code != 200 || json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 2 {
		t.Fatalf("alerts: %d %s", r.code, r.body)
	}
	for _, k := range []string{`"id":`, `"rule":`, `"level":"critical"`, `"state":"firing"`, `"title":`, `"startsAt":`, `"acknowledged":false`} {
		if !strings.Contains(r.body, k) {
			t.Errorf("alert JSON lacks %s", k)
		}
	}
	r = call(t, "GET", base+"?level=critical", testKey, "")
	if json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 1 || list[0].Rule != alerting.RuleServiceDown {
		t.Fatalf("level filter: %s", r.body)
	}
	for _, bad := range []string{"?level=loud", "?state=sleeping", "?all=maybe"} {
		if r := call(t, "GET", base+bad, testKey, ""); r.code != 400 || errCode(t, r) != CodeBadRequest {
			t.Errorf("%s: %d", bad, r.code)
		}
	}

	id := list[0].ID
	ack := base + "/" + id + "/acknowledge"
	r = call(t, "POST", ack, testKey, `{"by":"alice","comment":"looking"}`)
	if r.code != 200 || !strings.Contains(r.body, `"acknowledged":true`) || !strings.Contains(r.body, `"acknowledgedBy":"alice"`) {
		t.Fatalf("acknowledge: %d %s", r.code, r.body)
	}
	if r := call(t, "POST", base+"/"+id+"/acknowledge", testKey, ""); r.code != 200 {
		t.Fatalf("acknowledge without body: %d %s", r.code, r.body)
	}
	for _, tc := range []struct {
		name, url, body string
		want            int
		code            string
	}{
		{"unknown id", base + "/doesnotexist/acknowledge", "", 404, CodeNotFound},
		{"malformed body", ack, `{"by":`, 400, CodeBadRequest},
		{"unknown field", ack, `{"user":"x"}`, 400, CodeBadRequest},
		{"not a string", ack, `{"by":1}`, 400, CodeBadRequest},
		{"not an object", ack, `["alice"]`, 400, CodeBadRequest},
		{"two values", ack, `{} {}`, 400, CodeBadRequest},
		{"trailing brace", ack, `{}}`, 400, CodeBadRequest},
		{"whitespace flood", ack, `{}` + strings.Repeat(" ", httpapi.MaxBodyBytes), 413, CodeTooLarge},
		{"too large", ack, `{"comment":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, 413, CodeTooLarge},
		{"long by", ack, `{"by":"` + strings.Repeat("x", 200) + `"}`, 400, CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", tc.url, testKey, tc.body)
			if r.code != tc.want || errCode(t, r) != tc.code {
				t.Fatalf("%d %s", r.code, r.body)
			}
		})
	}

	// Resolve it, then acknowledging conflicts.
	imdbOK.Store(true)
	for i := 0; i < 2; i++ {
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "POST", ack, testKey, ""); r.code != 409 || errCode(t, r) != CodeConflict {
		t.Fatalf("resolved: %d %s", r.code, r.body)
	}
	r = call(t, "GET", base+"?state=firing&all=true", testKey, "")
	if json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 1 || list[0].State != alerting.Firing {
		t.Fatalf("state=firing&all=true: %s", r.body)
	}
	r = call(t, "GET", base+"?all=true", testKey, "")
	if json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 2 || !strings.Contains(r.body, `"state":"resolved"`) {
		t.Fatalf("all=true: %s", r.body)
	}
}

// An acknowledgement's bad body is a 400 that names each field at fault,
// as the silence endpoints answer.
func TestAPIAcknowledgeNamesFields(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ack := firingAlert(t, m, srv)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown field", `{"by":"alice","user":"x"}`, []string{"user: unknown field"}},
		{"two unknown fields", `{"from":"alice","note":"x"}`, []string{"from: unknown field", "note: unknown field"}},
		{"case matters", `{"By":"alice"}`, []string{"By: unknown field"}},
		{"wrong type", `{"by":1,"comment":true}`, []string{"by: must be a string", "comment: must be a string"}},
		{"not an object", `"alice"`, []string{"body: must be an object"}},
		{"control character", `{"by":"al\u0007ice"}`, []string{"by: character U+0007 not allowed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", ack, testKey, tc.body)
			if r.code != 400 || errCode(t, r) != CodeBadRequest {
				t.Fatalf("%d %s, want 400", r.code, r.body)
			}
			var e apiError
			if err := json.Unmarshal([]byte(r.body), &e); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Error, w) {
					t.Errorf("error %q does not say %q", e.Error, w)
				}
			}
		})
	}
	if a := m.Alerts().Active()[0]; a.Acknowledged {
		t.Fatalf("a bad acknowledgement was kept: %+v", a)
	}
	if r := call(t, "POST", ack, testKey, `{"by":"alice","comment":"looking"}`); r.code != 200 {
		t.Fatalf("good acknowledgement: %d %s", r.code, r.body)
	}
}
