package slack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const hookPath = "/services/T000/B000/T0KEN-SECRET"

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
		{"info", notifytest.Firing(alerting.Info), "🔵 INFO - Service imdb is down", "#3498DB", "0", 1740830400},
		{"warning", notifytest.Firing(alerting.Warning), "🟠 WARNING - Service imdb is down", "#F39C12", "0", 1740830400},
		{"critical", notifytest.Firing(alerting.Critical), "🔴 CRITICAL - Service imdb is down", "#E74C3C", "0", 1740830400},
		{"resolved info", notifytest.Resolved(alerting.Info), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
		{"resolved warning", notifytest.Resolved(alerting.Warning), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
		{"resolved critical", notifytest.Resolved(alerting.Critical), "✅ RESOLVED - Service imdb is down", "#2ECC71", "1.5", 1740831000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, nil) // answers 200 "ok" like Slack
			if err := notifytest.MustNew(t, New, rcv.URL+hookPath).Notify(context.Background(), tc.alert); err != nil {
				t.Fatalf("Notify = %v", err)
			}
			req := rcv.Next(t)
			req.CheckPost(t, hookPath)
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
	n := notifytest.MustNew(t, New, rcv.URL+hookPath, WithChannel("#alerts"), WithUsername("otelmon"),
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
		{404, "no_service", "slack: unexpected HTTP status 404 Not Found (no_service)"},
		{400, "invalid_payload", "slack: unexpected HTTP status 400 Bad Request (invalid_payload)"},
		{410, "channel_is_archived", "slack: unexpected HTTP status 410 Gone (channel_is_archived)"},
		{400, "<html>proxy says https://hooks.slack.com/services/T0KEN-SECRET</html>", "slack: unexpected HTTP status 400 Bad Request"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = io.WriteString(w, tc.body)
			})
			err := notifytest.MustNew(t, New, rcv.URL+hookPath).Notify(context.Background(), notifytest.Firing(alerting.Info))
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
			return notifytest.MustNew(t, New, base+hookPath+"?q=Q-SECRET")
		},
		Secrets: []string{"T0KEN-SECRET", "Q-SECRET", "/services", "T000"},
		Alert:   notifytest.Firing(alerting.Critical),
	})
}

func TestNewRejects(t *testing.T) {
	notifytest.RunRejects(t, New, []string{"SECRET", "services"}, []notifytest.Reject[Option]{
		{Name: "empty", Field: "webhookURL", Want: "slack: invalid config: webhookURL: must not be empty"},
		{Name: "unparsable", URL: "https://hooks.slack.com/services/SECRET%zz", Field: "webhookURL", Want: "slack: invalid config: webhookURL: does not parse"},
		{Name: "scheme", URL: "hooks.slack.com/services/SECRET", Field: "webhookURL", Want: "slack: invalid config: webhookURL: scheme must be http or https"},
		{Name: "no host", URL: "https:///services/SECRET", Field: "webhookURL", Want: "slack: invalid config: webhookURL: has no host"},
		{Name: "url and name", Opts: []Option{WithName("")}, Field: "webhookURL", Want: "slack: invalid config: webhookURL: must not be empty\nslack: invalid config: WithName: must not be empty"},
	})
}

func TestStringHidesSecrets(t *testing.T) {
	n := notifytest.MustNew(t, New, "https://hooks.slack.com/services/T000/B000/T0KEN-SECRET")
	notifytest.CheckString(t, n, "slack", "slack(https://hooks.slack.com)", "SECRET", "services")
}

func TestWithName(t *testing.T) {
	notifytest.RunName(t, "slack", func(name string) (notifytest.Notifier, error) {
		return New("https://x.example/SECRET", WithName(name))
	})
}
