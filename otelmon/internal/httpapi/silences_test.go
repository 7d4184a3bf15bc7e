package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/alertmanager"
)

// newEngine returns a started engine with opts, shut down when the test
// ends.
func newEngine(t *testing.T, opts ...alerting.Option) *alerting.Engine {
	t.Helper()
	opts = append(opts, alerting.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	eng, err := alerting.New(alerting.Config{Delivery: alerting.DeliveryConfig{MaxAttempts: 1}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return eng
}

func serve(t *testing.T, eng *alerting.Engine, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", "k")
	w := httptest.NewRecorder()
	APIHandler(Config{Alerts: eng, APIKey: "k"}).ServeHTTP(w, req)
	return w
}

// With Alertmanager unreachable, GET /silences answers the list fetched
// last (none here) and says it is stale and since when; a change is a JSON
// 503 that names no member. Without Alertmanager, no such headers.
func TestSilencesFromAnUnreachableCluster(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	am, err := alertmanager.New(down.URL + "/secret-path")
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, alerting.WithNotifier(am))
	deadline := time.Now().Add(10 * time.Second)
	for alerting.SilenceSourceOf(eng).StaleSince.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the first fetch never failed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	w := serve(t, eng, http.MethodGet, "/api/v3/monitoring/silences", "")
	h := w.Header()
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != "[]" || h.Get(headerSilencesSource) != "alertmanager" ||
		h.Get(headerSilencesStaleSince) == "" || h.Get(headerSilencesFetchedAt) != "" {
		t.Fatalf("GET /silences: %d %v %s", w.Code, h, w.Body)
	}
	if _, err := time.Parse(time.RFC3339, h.Get(headerSilencesStaleSince)); err != nil {
		t.Errorf("%s: %v", headerSilencesStaleSince, err)
	}

	for _, req := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v3/monitoring/silences", `{"matchers":[{"name":"service","value":"imdb"}],"endsAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`},
		{http.MethodDelete, "/api/v3/monitoring/silences/6a0b4a4e-0000-4000-8000-000000000001", ""},
	} {
		w := serve(t, eng, req.method, req.path, req.body)
		var e apiError
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusServiceUnavailable || e.Code != CodeUnavailable ||
			!strings.Contains(e.Error, "Alertmanager") || strings.Contains(e.Error, "secret-path") || strings.Contains(e.Error, "127.0.0.1") {
			t.Errorf("%s %s: %d %s", req.method, req.path, w.Code, w.Body)
		}
	}

	local := newEngine(t)
	if w := serve(t, local, http.MethodGet, "/api/v3/monitoring/silences", ""); w.Header().Get(headerSilencesSource) != "" {
		t.Errorf("in-process silences: headers %v", w.Header())
	}
}
