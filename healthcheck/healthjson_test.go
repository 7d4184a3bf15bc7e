package healthcheck_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestHealthJSONGolden renders one service of each status and compares the
// document with testdata/health.json.
func TestHealthJSONGolden(t *testing.T) {
	var c *healthcheck.Checker
	var advance func(time.Duration)
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		advance(42 * time.Millisecond) // the upstream takes 42ms of fake time
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	c, fc := newChecker(t, healthcheck.Config{FailureThreshold: 1})
	advance = fc.Advance
	mustAdd(t, c, healthcheck.Target{Name: "tmdb", URL: srv.URL + "/up?api_key=SECRET"})
	mustAdd(t, c, healthcheck.Target{Name: "trakt", URL: srv.URL + "/down"})
	mustAdd(t, c, healthcheck.Target{Name: "plex", URL: srv.URL + "/unknown"})
	for _, n := range []string{"tmdb", "trakt"} {
		if _, err := c.CheckNow(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := json.MarshalIndent(c.Health(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "health.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("health+json differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestHealthStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string // one target per path; /up answers 200, others 500
		check    int      // how many targets are checked, in order
		want     healthcheck.HealthStatus
		wantCode int
	}{
		{name: "no targets", want: healthcheck.HealthPass, wantCode: 200},
		{name: "all up", paths: []string{"/up", "/up"}, check: 2, want: healthcheck.HealthPass, wantCode: 200},
		{name: "one down", paths: []string{"/up", "/down"}, check: 2, want: healthcheck.HealthWarn, wantCode: 200},
		{name: "one unknown", paths: []string{"/up", "/up"}, check: 1, want: healthcheck.HealthWarn, wantCode: 200},
		{name: "all unknown", paths: []string{"/up"}, check: 0, want: healthcheck.HealthWarn, wantCode: 200},
		{name: "down and unknown", paths: []string{"/down", "/down"}, check: 1, want: healthcheck.HealthWarn, wantCode: 200},
		{name: "all down", paths: []string{"/down", "/down"}, check: 2, want: healthcheck.HealthFail, wantCode: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/up" {
					w.WriteHeader(http.StatusInternalServerError)
				}
			})
			c, _ := newChecker(t, healthcheck.Config{FailureThreshold: 1})
			for i, p := range tc.paths {
				name := string(rune('a' + i))
				mustAdd(t, c, healthcheck.Target{Name: name, URL: srv.URL + p})
				if i < tc.check {
					if _, err := c.CheckNow(t.Context(), name); err != nil {
						t.Fatal(err)
					}
				}
			}
			doc := c.Health()
			if doc.Status != tc.want || doc.Status.HTTPStatusCode() != tc.wantCode {
				t.Fatalf("status %s (%d), want %s (%d)", doc.Status, doc.Status.HTTPStatusCode(), tc.want, tc.wantCode)
			}
			if len(doc.Checks) != len(tc.paths) {
				t.Fatalf("%d checks, want %d", len(doc.Checks), len(tc.paths))
			}

			rec := httptest.NewRecorder()
			c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
			if rec.Code != tc.wantCode || rec.Header().Get("Content-Type") != healthcheck.ContentTypeHealthJSON {
				t.Fatalf("handler answered %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var back healthcheck.HealthDocument
			if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || back.Status != tc.want {
				t.Fatalf("handler body %s: %v", rec.Body, err)
			}
			rec = httptest.NewRecorder()
			c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/health", nil))
			if body, _ := io.ReadAll(rec.Body); rec.Code != tc.wantCode || len(body) != 0 {
				t.Fatalf("HEAD answered %d with %d bytes", rec.Code, len(body))
			}
		})
	}
}

func TestSummaryJSON(t *testing.T) {
	srv := newSwitchServer(t, http.StatusOK)
	c, _ := newChecker(t, healthcheck.Config{})
	mustAdd(t, c, healthcheck.Target{Name: "tmdb", URL: srv.URL})
	mustAdd(t, c, healthcheck.Target{Name: "plex", URL: srv.URL})
	if _, err := c.CheckNow(t.Context(), "tmdb"); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Summary())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"healthyServices":1,"unhealthyServices":0,"unknownServices":1,"totalServices":2,"services":[` +
		`{"name":"plex","status":"unknown","latencyMs":0,"consecutiveSuccesses":0,"consecutiveFailures":0},` +
		`{"name":"tmdb","status":"up","lastCheck":"2025-03-01T12:00:00Z","latencyMs":0,"consecutiveSuccesses":1,"consecutiveFailures":0}]}`
	if string(b) != want {
		t.Fatalf("Summary JSON\n got %s\nwant %s", b, want)
	}

	var seen []string
	c.Statuses(func(name string, s healthcheck.Status) { seen = append(seen, name+"="+s.String()) })
	if len(seen) != 2 || seen[0] != "plex=unknown" || seen[1] != "tmdb=up" {
		t.Fatalf("Statuses saw %v", seen)
	}
}
