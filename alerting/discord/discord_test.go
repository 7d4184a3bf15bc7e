package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const hookPath = "/api/webhooks/123456/T0KEN-SECRET"

func TestPayload(t *testing.T) {
	const tmpl = `{"username":"otelmon","allowed_mentions":{"parse":[]},"embeds":[{"title":%q,` +
		`"description":"3 failed checks <in a row> & counting","color":%d,"fields":[` +
		`{"name":"service","value":"imdb","inline":true},{"name":"source","value":"health","inline":true},` +
		`{"name":"value","value":%q,"inline":true}],"timestamp":%q}]}`
	for _, tc := range []struct {
		name  string
		alert alerting.Alert
		title string
		color int
		value string
		ts    string
	}{
		{"info", notifytest.Firing(alerting.Info), "🔵 INFO - Service imdb is down", 3447003, "0", "2025-03-01T12:00:00Z"},
		{"warning", notifytest.Firing(alerting.Warning), "🟠 WARNING - Service imdb is down", 15965202, "0", "2025-03-01T12:00:00Z"},
		{"critical", notifytest.Firing(alerting.Critical), "🔴 CRITICAL - Service imdb is down", 15158332, "0", "2025-03-01T12:00:00Z"},
		{"resolved info", notifytest.Resolved(alerting.Info), "✅ RESOLVED - Service imdb is down", 3066993, "1.5", "2025-03-01T12:10:00Z"},
		{"resolved warning", notifytest.Resolved(alerting.Warning), "✅ RESOLVED - Service imdb is down", 3066993, "1.5", "2025-03-01T12:10:00Z"},
		{"resolved critical", notifytest.Resolved(alerting.Critical), "✅ RESOLVED - Service imdb is down", 3066993, "1.5", "2025-03-01T12:10:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			if err := notifytest.MustNew(t, New, rcv.URL+hookPath).Notify(context.Background(), tc.alert); err != nil {
				t.Fatalf("Notify = %v", err)
			}
			req := rcv.Next(t)
			req.CheckPost(t, hookPath)
			want := fmt.Sprintf(tmpl, tc.title, tc.color, tc.value, tc.ts)
			if string(req.Body) != want {
				t.Errorf("body\n got %s\nwant %s", req.Body, want)
			}
		})
	}
}

func TestPayloadOptionsAndFallbacks(t *testing.T) {
	now := time.Date(2025, 4, 1, 8, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	rcv := notifytest.NewReceiver(t, nil)
	n := notifytest.MustNew(t, New, rcv.URL+hookPath,
		WithUsername("listsync alerts"),
		WithAvatarURL("https://cdn.example.com/otelmon.png"),
		WithClock(clock.NewFake(now)))
	a := alerting.Alert{Rule: "queue-stuck", Level: alerting.Warning, State: alerting.Firing, Labels: map[string]string{"empty": ""}, Value: 2e21}
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	const want = `{"username":"listsync alerts","avatar_url":"https://cdn.example.com/otelmon.png","allowed_mentions":{"parse":[]},` +
		`"embeds":[{"title":"🟠 WARNING - queue-stuck","color":15965202,"fields":[{"name":"empty","value":"-","inline":true},` +
		`{"name":"value","value":"2e+21","inline":true}],"timestamp":"2025-04-01T06:30:00Z"}]}`
	if got := string(rcv.Next(t).Body); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestZeroOptionsMeanDefaults(t *testing.T) {
	rcv := notifytest.NewReceiver(t, nil)
	n := notifytest.MustNew(t, New, rcv.URL+hookPath, WithAvatarURL(""), WithHTTPClient(nil), WithClock(nil))
	if err := n.Notify(context.Background(), notifytest.Firing(alerting.Info)); err != nil {
		t.Fatal(err)
	}
	const prefix = `{"username":"otelmon","allowed_mentions":`
	if got := string(rcv.Next(t).Body); !strings.HasPrefix(got, prefix) {
		t.Errorf("body %s, want it to start %s", got, prefix)
	}
}

func TestLimits(t *testing.T) {
	labels := map[string]string{}
	for i := range 40 {
		labels[fmt.Sprintf("l%02d", i)] = "v"
	}
	labels["l00"] = strings.Repeat("x", 2000)
	labels[strings.Repeat("n", 300)] = "v"
	a := notifytest.Firing(alerting.Critical)
	a.Title = strings.Repeat("t", 300)
	a.Description = strings.Repeat("d", 5000)
	a.Labels = labels
	p := newPayload(a, DefaultUsername, "", time.Now)
	e := p.Embeds[0]
	if got := notifyhttp.Len(e.Title); got != maxTitle || !strings.HasSuffix(e.Title, "…") {
		t.Errorf("title length %d", got)
	}
	if len(e.Fields) > maxFields {
		t.Errorf("%d fields", len(e.Fields))
	}
	if last := e.Fields[len(e.Fields)-1]; last.Name != "value" || last.Value != "0" {
		t.Errorf("last field = %+v, want the value", last)
	}
	for _, f := range e.Fields {
		if notifyhttp.Len(f.Name) > maxFieldName || notifyhttp.Len(f.Value) > maxFieldValue {
			t.Errorf("field %q too long: %d/%d", f.Name[:5], notifyhttp.Len(f.Name), notifyhttp.Len(f.Value))
		}
	}
	if got := size(&e); got > maxEmbed {
		t.Errorf("embed size %d > %d", got, maxEmbed)
	}
	if got := notifyhttp.Len(e.Description); got > maxDesc {
		t.Errorf("description length %d", got)
	}

	// 30 short labels: the first 24 in order, then the value.
	labels = map[string]string{}
	for i := range 30 {
		labels[fmt.Sprintf("l%02d", i)] = "v"
	}
	a = notifytest.Firing(alerting.Info)
	a.Labels = labels
	e = newPayload(a, "", "", time.Now).Embeds[0]
	if len(e.Fields) != 25 || e.Fields[23].Name != "l23" || e.Fields[24].Name != "value" {
		t.Errorf("fields = %+v", e.Fields)
	}
}

func TestTruncateCountsUTF16(t *testing.T) {
	s := strings.Repeat("🔴", 200) // 400 UTF-16 units
	got := notifyhttp.Truncate(s, maxTitle)
	if notifyhttp.Len(got) > maxTitle || !strings.HasSuffix(got, "…") {
		t.Errorf("Truncate = %d units", notifyhttp.Len(got))
	}
}

func TestRateLimitBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string
		body   string
		want   time.Duration
		msg    string
	}{
		{"body only", "", `{"message":"You are being rate limited.","retry_after":64.57,"global":false}`, 64570 * time.Millisecond, "(You are being rate limited.)"},
		{"body longer than header", "2", `{"message":"You are being rate limited.","retry_after":5.5,"global":true}`, 5500 * time.Millisecond, "rate limited., global)"},
		{"header longer than body", "10", `{"retry_after":0.25,"global":false}`, 10 * time.Second, ""},
		{"malformed body", "3", `retry later`, 3 * time.Second, ""},
		{"absurd body", "", `{"retry_after":1e12}`, 0, ""},
		{"negative body", "", `{"retry_after":-4}`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, tc.body)
			})
			err := notifytest.MustNew(t, New, rcv.URL+hookPath).Notify(context.Background(), notifytest.Firing(alerting.Warning))
			var se *alerting.StatusError
			if !errors.As(err, &se) || se.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("Notify = %v", err)
			}
			retry, after := alerting.Retryable(err)
			if !retry || after != tc.want {
				t.Errorf("Retryable(%v) = %v, %v; want true, %v", err, retry, after, tc.want)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestBadRequestMessage(t *testing.T) {
	rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message": "Unknown Webhook", "code": 10015}`)
	})
	err := notifytest.MustNew(t, New, rcv.URL+hookPath).Notify(context.Background(), notifytest.Firing(alerting.Critical))
	if retry, _ := alerting.Retryable(err); retry {
		t.Fatalf("Retryable(%v) = true", err)
	}
	if want := "discord: unexpected HTTP status 404 Not Found (Unknown Webhook)"; err == nil || err.Error() != want {
		t.Fatalf("Notify = %v, want %s", err, want)
	}
}

func TestDelivery(t *testing.T) {
	notifytest.RunDelivery(t, notifytest.Suite{
		New: func(t testing.TB, base string) alerting.Notifier {
			return notifytest.MustNew(t, New, base+hookPath+"?thread_id=Q-SECRET")
		},
		Secrets: []string{"T0KEN-SECRET", "Q-SECRET", "/api/webhooks", "123456"},
		Alert:   notifytest.Firing(alerting.Critical),
	})
}

func TestNewRejects(t *testing.T) {
	const good = "https://discord.com/api/webhooks/1/SECRET"
	notifytest.RunRejects(t, New, []string{"SECRET", "webhooks"}, []notifytest.Reject[Option]{
		{Name: "empty", Field: "webhookURL", Want: "discord: invalid config: webhookURL: must not be empty"},
		{Name: "unparsable", URL: "https://discord.com/api/webhooks/1/SECRET%zz", Field: "webhookURL", Want: "discord: invalid config: webhookURL: does not parse"},
		{Name: "scheme", URL: "discord.com/api/webhooks/1/SECRET", Field: "webhookURL", Want: "discord: invalid config: webhookURL: scheme must be http or https"},
		{Name: "no host", URL: "https:///api/webhooks/1/SECRET", Field: "webhookURL", Want: "discord: invalid config: webhookURL: has no host"},
		{Name: "username reserved", URL: good, Opts: []Option{WithUsername("Discord Bot")}, Field: "WithUsername", Want: `discord: invalid config: WithUsername = "Discord Bot": must not contain "discord" or "clyde"`},
		{Name: "username long", URL: good, Opts: []Option{WithUsername(strings.Repeat("u", 81))}, Field: "WithUsername", Want: "discord: invalid config: WithUsername: must be at most 80 characters"},
		{Name: "avatar", URL: good, Opts: []Option{WithAvatarURL("file:///SECRET.png")}, Field: "WithAvatarURL", Want: "discord: invalid config: WithAvatarURL: scheme must be http or https"},
		{Name: "url and options", Opts: []Option{WithAvatarURL("SECRET.png"), WithName("")}, Field: "webhookURL", Want: "discord: invalid config: webhookURL: must not be empty\n" + "discord: invalid config: WithAvatarURL: scheme must be http or https\ndiscord: invalid config: WithName: must not be empty"},
	})
}

func TestStringHidesSecrets(t *testing.T) {
	n := notifytest.MustNew(t, New, "https://discord.com/api/webhooks/123456/T0KEN-SECRET")
	notifytest.CheckString(t, n, "discord", "discord(https://discord.com)", "SECRET", "123456")
}

func TestWithName(t *testing.T) {
	notifytest.RunName(t, "discord", func(name string) (notifytest.Notifier, error) {
		return New("https://x.example/SECRET", WithName(name))
	})
}
