package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	start    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	resolved = start.Add(10 * time.Minute)
)

const hookPath = "/services/T000/B000/T0KEN-SECRET"

func firing(l alerting.Level) alerting.Alert {
	return alerting.Alert{
		ID:          "r1-9f2c",
		Rule:        "service-down",
		Level:       l,
		State:       alerting.Firing,
		Title:       "Service imdb is down",
		Description: "3 failed checks <in a row> & counting",
		Labels:      map[string]string{"source": "health", "service": "imdb"},
		Value:       0,
		StartsAt:    start,
		UpdatedAt:   start.Add(time.Minute),
	}
}

func resolvedAlert(l alerting.Level) alerting.Alert {
	a := firing(l)
	a.State = alerting.Resolved
	a.Value = 1.5
	a.UpdatedAt = resolved
	a.ResolvedAt = &resolved
	return a
}

func newNotifier(t testing.TB, raw string, opts ...Option) *Notifier {
	t.Helper()
	n, err := New(raw, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPayload(t *testing.T) {
	const tmpl = `{"text":%[1]q,"attachments":[{"fallback":%[1]q,"color":%[2]q,"title":"Service imdb is down",` +
		`"text":"3 failed checks &lt;in a row&gt; &amp; counting","fields":[{"title":"service","value":"imdb","short":true},` +
		`{"title":"source","value":"health","short":true},{"title":"value","value":%[3]q,"short":true}],"ts":%[4]d}]}`
	for _, tc := range []struct {
		name  string
		alert alerting.Alert
		text  string
		color string
		value string
		ts    int64
	}{
		{"info", firing(alerting.Info), "🔵 INFO - Service imdb is down", "#3498DB", "0", 1740830400},
		{"warning", firing(alerting.Warning), "🟠 WARNING - Service imdb is down", "#F39C12", "0", 1740830400},
		{"critical", firing(alerting.Critical), "🔴 CRITICAL - Service imdb is down", "#E74C3C", "0", 1740830400},
		{"resolved info", resolvedAlert(alerting.Info), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
		{"resolved warning", resolvedAlert(alerting.Warning), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
		{"resolved critical", resolvedAlert(alerting.Critical), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, nil) // answers 200 "ok" like Slack
			if err := newNotifier(t, rcv.URL+hookPath).Notify(context.Background(), tc.alert); err != nil {
				t.Fatalf("Notify = %v", err)
			}
			req := rcv.Next(t)
			if req.Method != http.MethodPost || req.Path != hookPath {
				t.Errorf("request = %s %s", req.Method, req.Path)
			}
			if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("User-Agent") != "otelmon" {
				t.Errorf("headers = %v", req.Header)
			}
			want := fmt.Sprintf(tmpl, tc.text, tc.color, tc.value, tc.ts)
			if string(req.Body) != want {
				t.Errorf("body\n got %s\nwant %s", req.Body, want)
			}
		})
	}
}

func TestPayloadOptionsAndFallbacks(t *testing.T) {
	now := time.Date(2025, 4, 1, 8, 30, 0, 0, time.UTC)
	rcv := notifytest.NewReceiver(t, nil)
	n := newNotifier(t, rcv.URL+hookPath, WithChannel("#alerts"), WithUsername("otelmon"),
		WithClock(clock.NewFake(now)))
	a := alerting.Alert{Rule: "queue-stuck", Level: alerting.Warning, State: alerting.Firing,
		Labels: map[string]string{"who": "<!channel>"}, Value: 0.25}
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	const want = `{"channel":"#alerts","username":"otelmon","text":"🟠 WARNING - queue-stuck","attachments":[{` +
		`"fallback":"🟠 WARNING - queue-stuck","color":"#F39C12","title":"queue-stuck","fields":[` +
		`{"title":"who","value":"&lt;!channel&gt;","short":true},{"title":"value","value":"0.25","short":true}],"ts":1743496200}]}`
	if got := string(rcv.Next(t).Body); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		want string
	}{
		{404, "no_service", "slack: alerting: receiver answered 404 Not Found (no_service)"},
		{400, "invalid_payload", "slack: alerting: receiver answered 400 Bad Request (invalid_payload)"},
		{410, "channel_is_archived", "slack: alerting: receiver answered 410 Gone (channel_is_archived)"},
		{400, "<html>proxy says https://hooks.slack.com/services/T0KEN-SECRET</html>", "slack: alerting: receiver answered 400 Bad Request"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = io.WriteString(w, tc.body)
			})
			err := newNotifier(t, rcv.URL+hookPath).Notify(context.Background(), firing(alerting.Info))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Notify = %v, want %s", err, tc.want)
			}
			if retry, _ := alerting.Retryable(err); retry {
				t.Fatalf("Retryable(%v) = true", err)
			}
		})
	}
}

func TestDelivery(t *testing.T) {
	notifytest.RunDelivery(t, notifytest.Suite{
		New: func(t testing.TB, base string) alerting.Notifier {
			return newNotifier(t, base+hookPath+"?q=Q-SECRET")
		},
		Secrets: []string{"T0KEN-SECRET", "Q-SECRET", "/services", "T000"},
		Alert:   firing(alerting.Critical),
	})
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  string
		want string
	}{
		{"empty", "", "slack: webhook URL is empty"},
		{"unparsable", "https://hooks.slack.com/services/SECRET%zz", "slack: webhook URL does not parse"},
		{"scheme", "hooks.slack.com/services/SECRET", "slack: webhook URL scheme must be http or https"},
		{"no host", "https:///services/SECRET", "slack: webhook URL has no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.url)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("New error = %v, want %q", err, tc.want)
			}
			notifytest.NoSecrets(t, err, []string{"SECRET", "services"})
		})
	}
}

func TestStringHidesSecrets(t *testing.T) {
	n := newNotifier(t, "https://hooks.slack.com/services/T000/B000/T0KEN-SECRET")
	if n.Name() != "slack" {
		t.Errorf("Name = %q", n.Name())
	}
	js, _ := json.Marshal(n)
	for _, out := range []string{n.String(), fmt.Sprintf("%+v", n), fmt.Sprintf("%#v", n), string(js)} {
		if strings.Contains(out, "SECRET") || strings.Contains(out, "services") {
			t.Errorf("output %q leaks the webhook", out)
		}
	}
	if got := n.String(); got != "slack(https://hooks.slack.com)" {
		t.Errorf("String = %q", got)
	}
}

func TestWithName(t *testing.T) {
	n, err := New("https://x.example/SECRET", WithName("slack-critical"))
	if err != nil {
		t.Fatal(err)
	}
	if n.Name() != "slack-critical" || !strings.HasPrefix(n.String(), "slack-critical(") {
		t.Errorf("Name = %q, String = %q", n.Name(), n.String())
	}
	if _, err := New("https://x.example/SECRET", WithName("")); err == nil || err.Error() != "slack: empty name" {
		t.Errorf("New with an empty name = %v", err)
	}
}
