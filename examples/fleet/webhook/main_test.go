package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		out        string
	}{
		{"notification",
			`{"version":"4","status":"firing","groupLabels":{"service":"imdb","alertname":"service_down"},` +
				`"alerts":[{"status":"firing","labels":{"instance":"listsync-2"}},{"status":"resolved","labels":{"instance":"listsync-0"}}]}`,
			http.StatusOK, "firing {alertname=service_down,service=imdb} 2 alerts: listsync-0(resolved) listsync-2(firing)\n"},
		{"otelmon's webhook", `{"version":"1","status":"firing","alert":{"id":"x","rule":"service_down","labels":{"service":"imdb","source":"health"}}}`,
			http.StatusOK, "/alerts firing service_down {service=imdb,source=health}\n"},
		{"not JSON", `nope`, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			rec := httptest.NewRecorder()
			handler(&out).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/alerts", strings.NewReader(tc.body)))
			if rec.Code != tc.code || out.String() != tc.out {
				t.Errorf("got %d %q, want %d %q", rec.Code, out.String(), tc.code, tc.out)
			}
		})
	}
}
