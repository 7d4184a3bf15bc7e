package otelmon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/otelmon/internal/httpapi"
)

const testKey = "test-key-0123456789"

// apiError is the body of the API's JSON errors.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// apiMonitor returns a Monitor with imdb and tmdb health checks against
// servers whose health the test controls, and its API served by httptest.
func apiMonitor(t *testing.T, opts ...Option) (*Monitor, *httptest.Server, *atomic.Bool, *atomic.Bool) {
	t.Helper()
	var imdbOK, tmdbOK atomic.Bool
	imdbOK.Store(true)
	tmdbOK.Store(true)
	imdb, tmdb := flakyServer(t, &imdbOK), flakyServer(t, &tmdbOK)
	opts = append([]Option{WithAPIKey(testKey), WithHealthCheckURLs(map[string]string{
		"imdb": imdb.URL + "/health?api_key=SECRET", "tmdb": tmdb.URL, "trakt": "",
	})}, opts...)
	m, _ := newTestMonitor(t, noSLOs(DefaultConfig()), opts...)
	if err := m.SetupDefaultHealthCheckers(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return m, srv, &imdbOK, &tmdbOK
}

type apiResp struct {
	code int
	hdr  http.Header
	body string
}

func call(t *testing.T, method, url, key, body string, hdr ...string) apiResp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{resp.StatusCode, resp.Header, string(b)}
}

// errCode decodes a JSON error body and returns its code.
func errCode(t *testing.T, r apiResp) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error (%d): %q", r.code, r.body)
	}
	return e.Code
}

func TestAPIAuth(t *testing.T) {
	_, srv, _, _ := apiMonitor(t)
	url := srv.URL + "/api/v3/monitoring/status"
	for _, tc := range []struct {
		name, url, key string
		want           int
	}{
		{"missing", url, "", 401},
		{"wrong", url, "nope", 401},
		{"prefix of key", url, testKey[:5], 401},
		{"header", url, testKey, 200},
		{"query", url + "?apikey=" + testKey, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "GET", tc.url, tc.key, "")
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			if tc.want == 401 && errCode(t, r) != CodeUnauthorized {
				t.Fatal("wrong code")
			}
			if strings.Contains(r.body, testKey) {
				t.Fatal("API key echoed")
			}
		})
	}
	if r := call(t, "HEAD", url, testKey, ""); r.code != 200 || r.body != "" {
		t.Fatalf("HEAD: %d %q", r.code, r.body)
	}
	// /metrics and the status page are open by default.
	if r := call(t, "GET", srv.URL+"/metrics", "", ""); r.code != 200 || !strings.Contains(r.body, "radarr_list_sync_service_up") {
		t.Fatalf("/metrics: %d", r.code)
	}
	if r := call(t, "GET", srv.URL+"/", "", ""); r.code != 200 || !strings.Contains(r.body, "<title>otelmon status</title>") || strings.Contains(r.body, testKey) {
		t.Fatalf("status page: %d", r.code)
	}
}

func TestProtectedMetrics(t *testing.T) {
	_, srv, _, _ := apiMonitor(t, WithProtectedMetrics())
	if r := call(t, "GET", srv.URL+"/metrics", "", ""); r.code != 401 {
		t.Fatalf("unauthenticated /metrics: %d", r.code)
	}
	if r := call(t, "GET", srv.URL+"/metrics?apikey="+testKey, "", ""); r.code != 200 {
		t.Fatalf("authenticated /metrics: %d", r.code)
	}
}

func TestAPIStatus(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "imdb", true, 0, 1, 0, 1)
	if _, err := m.Breaker("tmdb"); err != nil {
		t.Fatal(err)
	}
	r := call(t, "GET", srv.URL+"/api/v3/monitoring/status", testKey, "")
	if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("status: %d %s", r.code, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"activeCriticalAlerts", "activeWarningAlerts", "healthSummary", "circuitBreakers", "unguardedServices", "rateLimits", "lastSuccessfulSync", "syncs", "startedAt", "uptimeSeconds"} {
		if _, ok := got[k]; !ok {
			t.Errorf("status lacks %q", k)
		}
	}
	hs := got["healthSummary"].(map[string]any)
	if hs["totalServices"].(float64) != 2 || hs["unknownServices"].(float64) != 2 {
		t.Errorf("healthSummary = %v", hs)
	}
	if !strings.Contains(r.body, `"service":"tmdb","state":"closed"`) || !strings.Contains(r.body, `"lastSuccessfulSync":{"imdb":`) {
		t.Errorf("status body: %s", r.body)
	}
}

func TestAPIHealth(t *testing.T) {
	m, srv, imdbOK, tmdbOK := apiMonitor(t)
	ctx := context.Background()
	url := srv.URL + "/api/v3/monitoring/health"
	check := func(name string, n int) {
		for i := 0; i < n; i++ {
			if _, err := m.CheckHealthNow(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Unknown services: warn, still 200.
	r := call(t, "GET", url, testKey, "")
	if r.code != 200 || !strings.Contains(r.body, `"status":"warn"`) || !strings.Contains(r.body, `"unknownServices":2`) {
		t.Fatalf("unknown: %d %s", r.code, r.body)
	}
	check("imdb", 1)
	check("tmdb", 1)
	r = call(t, "GET", url, testKey, "", "Accept", "application/health+json")
	if r.code != 200 || r.hdr.Get("Content-Type") != healthcheck.ContentTypeHealthJSON || !strings.Contains(r.body, `"status":"pass"`) ||
		!strings.Contains(r.body, `"imdb:responseTime"`) {
		t.Fatalf("pass: %d %s %s", r.code, r.hdr.Get("Content-Type"), r.body)
	}
	imdbOK.Store(false)
	check("imdb", 3)
	if r = call(t, "GET", url, testKey, ""); r.code != 200 || !strings.Contains(r.body, `"status":"warn"`) {
		t.Fatalf("one down: %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "SECRET") {
		t.Fatal("health output leaks a URL secret")
	}
	tmdbOK.Store(false)
	check("tmdb", 3)
	if r = call(t, "GET", url, testKey, "", "Accept", "application/health+json"); r.code != 503 || !strings.Contains(r.body, `"status":"fail"`) {
		t.Fatalf("all down: %d %s", r.code, r.body)
	}
}

func TestAPIHealthCheckNow(t *testing.T) {
	_, srv, imdbOK, _ := apiMonitor(t)
	imdbOK.Store(false)
	r := call(t, "POST", srv.URL+"/api/v3/monitoring/health/imdb/check", testKey, "")
	if r.code != 200 || !strings.Contains(r.body, `"service":"imdb"`) || !strings.Contains(r.body, `"ok":false`) || !strings.Contains(r.body, `"statusCode":500`) {
		t.Fatalf("check: %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "SECRET") {
		t.Fatal("check result leaks a URL secret")
	}
	if r := call(t, "POST", srv.URL+"/api/v3/monitoring/health/netflix/check", testKey, ""); r.code != 404 || errCode(t, r) != CodeNotFound {
		t.Fatalf("unknown service: %d %s", r.code, r.body)
	}
}

func TestAPIErrors(t *testing.T) {
	_, srv, _, _ := apiMonitor(t)
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
		code                     string
	}{
		{"unknown path", "GET", "/nope", "", 404, CodeNotFound},
		{"unknown api path", "GET", "/api/v3/monitoring/nope", "", 404, CodeNotFound},
		{"wrong method", "DELETE", "/api/v3/monitoring/status", "", 405, CodeMethodNotAllowed},
		{"wrong method on action", "GET", "/api/v3/monitoring/health/imdb/check", "", 405, CodeMethodNotAllowed},
		{"metrics wrong method", "POST", "/metrics", "", 405, CodeMethodNotAllowed},
		{"traversal", "POST", "/api/v3/monitoring/health/..%2F..%2Fetc/check", "", 400, CodeBadRequest},
		{"dot segment", "POST", "/api/v3/monitoring/health/%2E%2E/check", "", 400, CodeBadRequest},
		{"NUL byte", "POST", "/api/v3/monitoring/health/im%00db/check", "", 400, CodeBadRequest},
		{"invalid UTF-8", "POST", "/api/v3/monitoring/health/%ff%fe/check", "", 400, CodeBadRequest},
		{"long segment", "POST", "/api/v3/monitoring/health/" + strings.Repeat("a", 300) + "/check", "", 400, CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, srv.URL+tc.path, testKey, tc.body)
			if r.code != tc.want || errCode(t, r) != tc.code {
				t.Fatalf("%s %s = %d %s, want %d %s", tc.method, tc.path, r.code, r.body, tc.want, tc.code)
			}
			if tc.want == 405 && r.hdr.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// firingAlert raises tmdb's consecutive-failures alert and returns the URL
// that acknowledges it.
func firingAlert(t *testing.T, m *Monitor, srv *httptest.Server) string {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	act := m.Alerts().Active()
	if len(act) != 1 {
		t.Fatalf("active alerts: %+v", act)
	}
	return srv.URL + "/api/v3/monitoring/alerts/" + act[0].ID + "/acknowledge"
}

// A POST takes the key from the X-Api-Key header only, so that a
// cross-site form (which can put it in the URL, not in a header) cannot
// post; a GET may still use the query parameter.
func TestAPIMutationsTakeKeyFromHeaderOnly(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ack := firingAlert(t, m, srv)
	check := srv.URL + "/api/v3/monitoring/health/imdb/check"
	for _, tc := range []struct {
		name, method, url, key string
		want                   int
	}{
		{"check, key in query", "POST", check + "?apikey=" + testKey, "", 401},
		{"ack, key in query", "POST", ack + "?apikey=" + testKey, "", 401},
		{"ack as a form would post it", "POST", ack + "?apikey=" + testKey, "", 401},
		{"check, key in header", "POST", check, testKey, 200},
		{"ack, key in header", "POST", ack, testKey, 200},
		{"GET, key in query", "GET", srv.URL + "/api/v3/monitoring/status?apikey=" + testKey, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			body := ""
			if strings.Contains(tc.name, "form") {
				hdr, body = []string{"Content-Type", "application/x-www-form-urlencoded"}, "by=mallory"
			}
			r := call(t, tc.method, tc.url, tc.key, body, hdr...)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			if tc.want == 401 && (errCode(t, r) != CodeUnauthorized || !strings.Contains(r.body, "X-Api-Key header")) {
				t.Fatalf("401 body: %s", r.body)
			}
			if strings.Contains(r.body, testKey) {
				t.Fatal("API key echoed")
			}
		})
	}
	if a := m.Alerts().Active()[0]; a.AcknowledgedBy != "api" {
		t.Fatalf("acknowledged by %q, want only the header call's", a.AcknowledgedBy)
	}
}

// A body must be JSON: another Content-Type gets 415, before the body is
// read; no Content-Type, or JSON with charset utf-8, is accepted.
func TestAPIContentType(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ack := firingAlert(t, m, srv)
	check := srv.URL + "/api/v3/monitoring/health/imdb/check"
	for _, tc := range []struct {
		name, url, ct, body string
		want                int
	}{
		{"form", ack, "application/x-www-form-urlencoded", "by=x", 415},
		{"text", ack, "text/plain", `{"by":"x"}`, 415},
		{"multipart", ack, "multipart/form-data; boundary=x", "--x--", 415},
		{"JSON in another charset", ack, "application/json; charset=iso-8859-1", `{"by":"x"}`, 415},
		{"malformed type", ack, "application/", `{"by":"x"}`, 415},
		{"text on the check", check, "text/plain", "x", 415},
		{"JSON", ack, "application/json", `{"by":"a"}`, 200},
		{"JSON utf-8", ack, "Application/JSON; charset=UTF-8", `{"by":"b"}`, 200},
		{"no type", ack, "", `{"by":"c"}`, 200},
		{"text without a body", check, "text/plain", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.ct != "" {
				hdr = []string{"Content-Type", tc.ct}
			}
			r := call(t, "POST", tc.url, testKey, tc.body, hdr...)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			if tc.want == 415 && errCode(t, r) != CodeUnsupportedMediaType {
				t.Fatalf("415 body: %s", r.body)
			}
		})
	}
}

// by and comment refuse control characters and invisible formatting
// characters (bidirectional overrides above all), naming the field; text
// of any script, emoji sequences, and line breaks in a comment pass.
func TestAPIAcknowledgeTextHygiene(t *testing.T) {
	m, srv, _, _ := apiMonitor(t)
	ack := firingAlert(t, m, srv)
	for _, tc := range []struct {
		name, by, comment string
		bad               string // the field the 400 names; "" for 200
	}{
		{"right-to-left override in by", "admin\u202egnp.exe", "", "by"},
		{"isolate in comment", "alice", "ok \u2066x\u2069", "comment"},
		{"right-to-left mark", "\u200fbob", "", "by"},
		{"NUL", "a\x00b", "", "by"},
		{"escape sequence", "alice", "\x1b[31mred", "comment"},
		{"carriage return", "alice", "a\rb", "comment"},
		{"newline in by", "alice\nroot", "", "by"},
		{"DEL", "alice\x7f", "", "by"},
		{"C1 control", "alice\u0085", "", "by"},
		{"line separator", "alice", "a\u2028b", "comment"},
		{"zero-width space", "ali\u200bce", "", "by"},
		{"byte order mark", "alice", "\ufeffhi", "comment"},
		{"both", "\u202e", "\x00", "by"},
		{"too long", strings.Repeat("a", httpapi.MaxAckBy+1), "", "by"},
		{"plain", "alice", "looking into it", ""},
		{"newline and tab in comment", "bob", "line one\n\tline two", ""},
		{"other scripts", "שלום", "مرحبا 你好", ""},
		{"emoji with joiners", "👩‍💻", "🏳️‍🌈 🏴󠁧󠁢󠁳󠁣󠁴󠁿", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"by": tc.by, "comment": tc.comment})
			r := call(t, "POST", ack, testKey, string(body), "Content-Type", "application/json")
			if tc.bad == "" {
				if r.code != 200 {
					t.Fatalf("status %d: %s", r.code, r.body)
				}
				if a := m.Alerts().Active()[0]; a.AcknowledgedBy != tc.by || a.AcknowledgeComment != tc.comment {
					t.Fatalf("stored %q %q", a.AcknowledgedBy, a.AcknowledgeComment)
				}
				return
			}
			if r.code != 400 || errCode(t, r) != CodeBadRequest {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			var e apiError
			_ = json.Unmarshal([]byte(r.body), &e)
			if !strings.HasPrefix(e.Error, tc.bad+":") {
				t.Fatalf("error %q does not name %q first", e.Error, tc.bad)
			}
			if tc.name == "both" && !strings.Contains(e.Error, "; comment:") {
				t.Fatalf("error %q does not name both fields", e.Error)
			}
		})
	}
	if t.Failed() {
		return
	}
	// Refused text was not stored.
	if a := m.Alerts().Active()[0]; a.AcknowledgedBy != "👩‍💻" {
		t.Fatalf("acknowledged by %q", a.AcknowledgedBy)
	}
}

// An acknowledgement the state file cannot take answers 503 unavailable
// and is not kept: what the API shows is what survives a restart.
func TestAPIAcknowledgeNotSaved(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	m, srv, _, _ := apiMonitor(t, WithAlertStatePath(filepath.Join(dir, "state", "alerts.json")))
	ack := firingAlert(t, m, srv)
	// The state directory becomes a file: every later save fails, for root
	// too.
	if err := os.RemoveAll(filepath.Join(dir, "state")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", ack, testKey, `{"by":"alice"}`)
	if r.code != http.StatusServiceUnavailable || errCode(t, r) != CodeUnavailable {
		t.Fatalf("acknowledge with an unwritable state: %d %s", r.code, r.body)
	}
	if a := m.Alerts().Active()[0]; a.Acknowledged {
		t.Fatal("an unsaved acknowledgement was kept")
	}
	r = call(t, "GET", srv.URL+"/api/v3/monitoring/alerts", testKey, "")
	if r.code != 200 || !strings.Contains(r.body, `"acknowledged":false`) {
		t.Fatalf("alerts after a refused acknowledgement: %d %s", r.code, r.body)
	}
}
