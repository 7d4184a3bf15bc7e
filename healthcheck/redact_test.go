package healthcheck_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/syncbuf"
)

// TestSecretsNeverLeak fails checks of URLs that carry a password and an API
// key in every way that may quote the URL, and looks for the secrets in every
// output: Result.Err, Summary, health+json and the log.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		password = "hunter2pass"
		apiKey   = "SECRETKEY123"
	)
	secrets := []string{password, apiKey}
	release := make(chan struct{})
	srv := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/loop":
			http.Redirect(w, r, r.URL.String(), http.StatusFound) // keeps the query
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/garbage":
			conn, buf, _ := w.(http.Hijacker).Hijack()
			_, _ = buf.WriteString("garbage\r\n\r\n")
			_ = buf.Flush()
			_ = conn.Close()
		}
	})
	t.Cleanup(func() { close(release) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connection refused

	withSecrets := func(base, path string) string {
		return strings.Replace(base, "http://", "http://user:"+password+"@", 1) + path + "?api_key=" + apiKey + "&page=2"
	}
	panicky := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		panic("cannot fetch " + r.URL.String() + " (key " + r.URL.Query().Get("api_key") + ")")
	})}

	for _, tc := range []struct {
		name   string
		url    string
		client *http.Client
	}{
		{name: "status", url: withSecrets(srv.URL, "/500")},
		{name: "redirect loop", url: withSecrets(srv.URL, "/loop")},
		{name: "timeout", url: withSecrets(srv.URL, "/hang")},
		{name: "garbage", url: withSecrets(srv.URL, "/garbage")},
		{name: "refused", url: withSecrets(closed.URL, "/")},
		{name: "panic", url: withSecrets(srv.URL, "/panic"), client: panicky},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			c, _ := newChecker(t, healthcheck.Config{FailureThreshold: 1, RequestTimeout: 100 * time.Millisecond},
				healthcheck.WithLogger(debugLogger(&logs)),
				healthcheck.WithClientFor(func(string) *http.Client { return tc.client }))
			mustAdd(t, c, healthcheck.Target{Name: "svc", URL: tc.url})
			res, err := c.CheckNow(t.Context(), "svc")
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Err == nil {
				t.Fatalf("check succeeded: %+v", res)
			}
			summary, _ := json.Marshal(c.Summary())
			health, _ := json.Marshal(c.Health())
			outputs := map[string]string{
				"Result.Err":  res.Err.Error(),
				"LastError":   c.Summary().Services[0].LastError,
				"Summary":     string(summary),
				"health+json": string(health),
				"log":         logs.String(),
			}
			for where, out := range outputs {
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s leaks %q: %s", where, s, out)
					}
				}
			}
			if !strings.Contains(logs.String(), "health check failed") {
				t.Errorf("failure not logged: %s", logs.String())
			}
			t.Logf("Result.Err: %v", res.Err)
		})
	}
}
