package otelmon

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// silenceBody returns a POST /silences body on service=value lasting d
// from the Monitor's clock.
func silenceBody(m *Monitor, value string, d time.Duration) string {
	now := m.clock.Now().UTC()
	return `{"matchers":[{"name":"source","value":"` + value + `","isRegex":false,"isEqual":true}],` +
		`"startsAt":"` + now.Format(time.RFC3339) + `","endsAt":"` + now.Add(d).Format(time.RFC3339) + `",` +
		`"createdBy":"alice","comment":"planned"}`
}

func TestAPISilences(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	base := srv.URL + "/api/v3/monitoring/silences"

	// The list starts empty: [], not null.
	if r := call(t, "GET", base, testKey, ""); r.code != 200 || strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("empty list: %d %s", r.code, r.body)
	}
	r := call(t, "POST", base, testKey, silenceBody(m, "tmdb", time.Hour), "Content-Type", "application/json")
	var created struct{ ID string }
	if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &created) != nil || created.ID == "" {
		t.Fatalf("create: %d %s", r.code, r.body)
	}

	// A silenced alert is listed with silencedBy.
	firingAlert(t, m, srv)
	r = call(t, "GET", srv.URL+"/api/v3/monitoring/alerts", testKey, "")
	var alerts []alerting.Alert
	if err := json.Unmarshal([]byte(r.body), &alerts); err != nil || len(alerts) != 1 || !slices.Equal(alerts[0].SilencedBy, []string{created.ID}) {
		t.Fatalf("alerts: %d %s", r.code, r.body)
	}

	r = call(t, "GET", base+"/"+created.ID, testKey, "")
	var s alerting.Silence
	if r.code != 200 || json.Unmarshal([]byte(r.body), &s) != nil || s.ID != created.ID || s.Status.State != alerting.SilenceActive ||
		s.CreatedBy != "alice" || s.Comment != "planned" || len(s.Matchers) != 1 || s.Matchers[0] != (alerting.Matcher{Name: "source", Value: "tmdb"}) {
		t.Fatalf("get: %d %s", r.code, r.body)
	}
	for _, want := range []string{`"isEqual":true`, `"isRegex":false`, `"status":{"state":"active"}`, `"startsAt":`, `"endsAt":`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("silence JSON %s lacks %s", r.body, want)
		}
	}

	// A mutation takes the key from the header only.
	if r := call(t, "DELETE", base+"/"+created.ID+"?apikey="+testKey, "", ""); r.code != http.StatusUnauthorized {
		t.Fatalf("DELETE with the key in the query: %d", r.code)
	}
	r = call(t, "DELETE", base+"/"+created.ID, testKey, "")
	if r.code != 200 || !strings.Contains(r.body, `"state":"expired"`) {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	r = call(t, "GET", base, testKey, "")
	var list []alerting.Silence
	if r.code != 200 || json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 1 || list[0].Status.State != alerting.SilenceExpired {
		t.Fatalf("list after delete: %d %s", r.code, r.body)
	}
	if a := m.Alerts().Active(); a[0].SilencedBy != nil {
		t.Fatalf("alert still silenced after the silence expired: %+v", a[0])
	}

	for _, tc := range []struct{ method, url string }{
		{"GET", base + "/no-such-id"},
		{"DELETE", base + "/no-such-id"},
		{"POST", srv.URL + "/api/v3/monitoring/alerts/no-such-alert/silence"},
	} {
		body := ""
		if tc.method == "POST" {
			body = `{"duration":"1h"}`
		}
		if r := call(t, tc.method, tc.url, testKey, body); r.code != http.StatusNotFound || errCode(t, r) != CodeNotFound {
			t.Errorf("%s %s: %d %s, want 404", tc.method, tc.url, r.code, r.body)
		}
	}
}

func TestAPISilenceAlert(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ack := firingAlert(t, m, srv)
	url := strings.TrimSuffix(ack, "/acknowledge") + "/silence"
	r := call(t, "POST", url, testKey, `{"duration":"2h","comment":"tmdb is being fixed"}`)
	var s alerting.Silence
	if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &s) != nil {
		t.Fatalf("silence alert: %d %s", r.code, r.body)
	}
	want := []alerting.Matcher{{Name: "alertname", Value: alerting.RuleConsecutiveSyncFailures}, {Name: "source", Value: "tmdb"}}
	if !slices.Equal(s.Matchers, want) || s.Comment != "tmdb is being fixed" || s.CreatedBy != "api" || s.EndsAt.Sub(s.StartsAt) != 2*time.Hour {
		t.Fatalf("silence %+v", s)
	}
	if a := m.Alerts().Active()[0]; !slices.Equal(a.SilencedBy, []string{s.ID}) {
		t.Fatalf("alert not silenced: %+v", a)
	}
}

// Every bad input gets a JSON 400 that says what is wrong.
func TestAPISilenceBadInput(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	base := srv.URL + "/api/v3/monitoring/silences"
	ack := firingAlert(t, m, srv)
	alertURL := strings.TrimSuffix(ack, "/acknowledge") + "/silence"
	now := m.clock.Now().UTC()
	ts := func(d time.Duration) string { return `"` + now.Add(d).Format(time.RFC3339) + `"` }
	ok := `[{"name":"source","value":"imdb"}]`
	for _, tc := range []struct {
		name, url, body, want string
	}{
		{"end before start", base, `{"matchers":` + ok + `,"startsAt":` + ts(2*time.Hour) + `,"endsAt":` + ts(time.Hour) + `}`, "endsAt: "},
		{"end in the past", base, `{"matchers":` + ok + `,"endsAt":` + ts(-time.Hour) + `}`, "endsAt: "},
		{"no end", base, `{"matchers":` + ok + `}`, "endsAt: is required"},
		{"bad regex", base, `{"matchers":[{"name":"source","value":"im(db","isRegex":true}],"endsAt":` + ts(time.Hour) + `}`, "matchers[0].value: "},
		{"no matchers", base, `{"matchers":[],"endsAt":` + ts(time.Hour) + `}`, "matchers: at least one matcher is required"},
		{"empty body", base, ``, "matchers: at least one matcher is required"},
		{"matches everything", base, `{"matchers":[{"name":"source","value":".*","isRegex":true}],"endsAt":` + ts(time.Hour) + `}`, "must not match the empty string"},
		{"too long", base, `{"matchers":` + ok + `,"endsAt":` + ts(31*24*time.Hour) + `}`, "longer than the maximum 720h0m0s"},
		{"id given", base, `{"id":"abc","matchers":` + ok + `,"endsAt":` + ts(time.Hour) + `}`, "id: must be empty"},
		{"malformed", base, `{"matchers":`, "malformed JSON body"},
		{"unknown field", base, `{"matcher":[]}`, "matcher: unknown field"},
		{"bad time", base, `{"matchers":` + ok + `,"endsAt":"tomorrow"}`, `endsAt: must be an RFC 3339 time`},
		{"time not a string", base, `{"matchers":` + ok + `,"startsAt":1740830400,"endsAt":` + ts(time.Hour) + `}`, `startsAt: must be an RFC 3339 time`},
		{"isRegex not a boolean", base, `{"matchers":[{"name":"source","value":"im.*","isRegex":"yes"}],"endsAt":` + ts(time.Hour) + `}`, "matchers[0].isRegex: must be true or false"},
		{"unknown matcher field", base, `{"matchers":[{"name":"source","value":"imdb"},{"name":"source","value":"im.*","regex":true}],"endsAt":` + ts(time.Hour) + `}`, "matchers[1].regex: unknown field"},
		{"matcher not an object", base, `{"matchers":[null],"endsAt":` + ts(time.Hour) + `}`, "matchers[0]: must be an object"},
		{"matchers not an array", base, `{"matchers":{"name":"source"},"endsAt":` + ts(time.Hour) + `}`, "matchers: must be an array"},
		{"body not an object", base, `["matchers"]`, "body: must be an object"},
		{"starts too far ahead", base, `{"matchers":` + ok + `,"startsAt":` + ts(800*time.Hour) + `,"endsAt":` + ts(801*time.Hour) + `}`, "startsAt: "},
		{"control character in a matcher value", base, `{"matchers":[{"name":"source","value":"im\u0007db"}],"endsAt":` + ts(time.Hour) + `}`, "matchers[0].value: character U+0007 not allowed"},
		{"control character in a matcher name", base, `{"matchers":[{"name":"sou\nrce","value":"imdb"}],"endsAt":` + ts(time.Hour) + `}`, "matchers[0].name: character U+000A not allowed"},
		{"bidirectional override in a regular expression", base, `{"matchers":[{"name":"source","value":"imdb|\u202etmdb","isRegex":true}],"endsAt":` + ts(time.Hour) + `}`, "matchers[0].value: character U+202E not allowed"},
		{"regular expression too long", base, `{"matchers":[{"name":"source","value":"` + strings.Repeat("a", 1025) + `","isRegex":true}],"endsAt":` + ts(time.Hour) + `}`,
			"silence too large: matchers[0].value: the regular expression is 1025 bytes, longer than the maximum 1024 (SilenceConfig.MaxRegexLength)"},
		{"regular expressions too costly", base, `{"matchers":[{"name":"source","value":"\\pL\\pL","isRegex":true}],"endsAt":` + ts(time.Hour) + `}`,
			"silence too large: matchers: compiled, the regular expressions would take about"},
		{"too many matchers", base, `{"matchers":[` + strings.Repeat(`{"name":"source","value":"imdb"},`, 32) + `{"name":"source","value":"imdb"}],"endsAt":` + ts(time.Hour) + `}`,
			"silence too large: matchers: 33 matchers, more than the maximum 32 (SilenceConfig.MaxMatchers)"},
		// 4109: createdBy defaults to "api".
		{"too much text", base, `{"matchers":[{"name":"source","value":"` + strings.Repeat("a", 4000) + `"}],"endsAt":` + ts(time.Hour) + `,"comment":"` + strings.Repeat("c", 100) + `"}`,
			"silence too large: the silence's text (matchers, createdBy and comment) is 4109 bytes, more than the maximum 4096 (SilenceConfig.MaxSize)"},
		{"control character in comment", base, `{"matchers":` + ok + `,"endsAt":` + ts(time.Hour) + `,"comment":"a\u0007b"}`, "comment: character U+0007"},
		{"createdBy too long", base, `{"matchers":` + ok + `,"endsAt":` + ts(time.Hour) + `,"createdBy":"` + strings.Repeat("x", 129) + `"}`, "createdBy: longer than 128 bytes"},
		{"several at once", base, `{"matchers":[{"name":"","value":"x"}],"endsAt":` + ts(-time.Hour) + `}`, "endsAt: "},
		{"alert: no duration", alertURL, `{"comment":"x"}`, "duration: required"},
		{"alert: duration not a string", alertURL, `{"duration":3600}`, "duration: must be a string"},
		{"alert: unknown field", alertURL, `{"duration":"1h","until":"later"}`, "until: unknown field"},
		{"alert: bad duration", alertURL, `{"duration":"two hours"}`, "duration: must be a positive duration"},
		{"alert: negative duration", alertURL, `{"duration":"-1h"}`, "duration: must be a positive duration"},
		{"alert: too long", alertURL, `{"duration":"800h"}`, "longer than the maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", tc.url, testKey, tc.body)
			if r.code != http.StatusBadRequest || errCode(t, r) != CodeBadRequest {
				t.Fatalf("%d %s, want 400", r.code, r.body)
			}
			var e apiError
			_ = json.Unmarshal([]byte(r.body), &e)
			if !strings.Contains(e.Error, tc.want) {
				t.Fatalf("error %q does not say %q", e.Error, tc.want)
			}
		})
	}
	if r := call(t, "POST", base, testKey, `{"matchers":[{"name":"","value":"x"}],"endsAt":`+ts(-time.Hour)+`}`); !strings.Contains(r.body, "matchers[0].name") {
		t.Fatalf("several problems: only some named: %s", r.body)
	}
	r := call(t, "POST", base, testKey, `{"matchers":[{"name":1,"isEqual":"no"}],"endsAt":"soon"}`)
	for _, want := range []string{"endsAt: must be", "matchers[0].isEqual: must be true or false", "matchers[0].name: must be a string"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("several malformed fields: %s does not say %q", r.body, want)
		}
	}
	if got := m.Alerts().Silences(); len(got) != 0 {
		t.Fatalf("bad input kept silences: %+v", got)
	}
	if r := call(t, "POST", base, testKey, `{}`, "Content-Type", "text/plain"); r.code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain body: %d", r.code)
	}
}

func TestAPITooManySilences(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Silences.MaxSilences = 1
	m, _ := newTestMonitor(t, cfg, WithAPIKey(testKey))
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/api/v3/monitoring/silences"
	if r := call(t, "POST", base, testKey, silenceBody(m, "imdb", time.Hour)); r.code != http.StatusCreated {
		t.Fatalf("first: %d %s", r.code, r.body)
	}
	r := call(t, "POST", base, testKey, silenceBody(m, "tmdb", time.Hour))
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "too many silences") {
		t.Fatalf("second: %d %s, want 400 too many silences", r.code, r.body)
	}
}

// A silence the state file cannot take answers 503 and is not kept.
func TestAPISilenceNotSaved(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	m, srv, _, _ := apiMonitor(t, WithAlertStatePath(filepath.Join(state, "alerts.json")))
	base := srv.URL + "/api/v3/monitoring/silences"
	r := call(t, "POST", base, testKey, silenceBody(m, "imdb", time.Hour))
	var created struct{ ID string }
	if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &created) != nil {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, url, body string }{
		{"POST", base, silenceBody(m, "tmdb", time.Hour)},
		{"DELETE", base + "/" + created.ID, ""},
	} {
		if r := call(t, tc.method, tc.url, testKey, tc.body); r.code != http.StatusServiceUnavailable || errCode(t, r) != CodeUnavailable {
			t.Fatalf("%s with an unwritable state: %d %s", tc.method, r.code, r.body)
		}
	}
	if got := m.Alerts().Silences(); len(got) != 1 || got[0].Status.State != alerting.SilenceActive {
		t.Fatalf("silences after refused changes: %+v", got)
	}
}

func TestConfigMaintenanceWindowsInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaintenanceWindows = []alerting.MaintenanceWindow{{Name: "plex", TimeIntervals: []alerting.TimeInterval{{Location: "Nowhere/Else"}}}}
	cfg.Silences.MaxSilences = -1
	_, err := New(cfg)
	var ce *ConfigError
	if err == nil || !strings.Contains(err.Error(), "MaintenanceWindows[0].TimeIntervals[0].Location") ||
		!strings.Contains(err.Error(), "Silences.MaxSilences") {
		t.Fatalf("New = %v", err)
	}
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, alerting.ErrInvalidConfig) {
		t.Fatalf("New = %v, want *ConfigErrors wrapping both ErrInvalidConfig", err)
	}
}

func TestAPIMaintenanceWindows(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaintenanceWindows = []alerting.MaintenanceWindow{{
		Name:     "plex-nightly",
		Matchers: []alerting.Matcher{{Name: "service", Value: "plex"}},
		TimeIntervals: []alerting.TimeInterval{{
			Times:    []alerting.TimeRange{{Start: "03:00", End: "03:15"}},
			Location: "Europe/Berlin",
		}},
	}}
	m, _ := newTestMonitor(t, cfg, WithAPIKey(testKey))
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	r := call(t, "GET", srv.URL+"/api/v3/monitoring/maintenance-windows", testKey, "")
	want := `[{"name":"plex-nightly","matchers":[{"name":"service","value":"plex","isRegex":false,"isEqual":true}],` +
		`"timeIntervals":[{"times":[{"startTime":"03:00","endTime":"03:15"}],"location":"Europe/Berlin"}],"active":false}]`
	if r.code != 200 || strings.TrimSpace(r.body) != want {
		t.Fatalf("maintenance windows: %d\n%s\nwant\n%s", r.code, r.body, want)
	}
}
