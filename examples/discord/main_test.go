package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// webhookPath is the stand-in's webhook; its token is the secret that must
// never show up in errors or logs.
const (
	webhookToken = "s3cret-T0KEN-do-not-log"
	webhookPath  = "/api/webhooks/1234567890/" + webhookToken
)

// wantContent is the message for the custom rule's firing alert.
const wantContent = "🚨 **WARNING** - 5 consecutive sync failures for my_service\n" +
	"my_service has failed its last five syncs; its list is going stale."

// reply is one scripted answer of the stand-in.
type reply struct {
	status     int
	retryAfter string
	body       string
}

// received is what the stand-in got in one request.
type received struct {
	at      time.Time
	payload map[string]any
}

// discordStandIn answers like a Discord webhook: POST with a JSON body to
// the webhook's path, 204 No Content on success. It answers with its
// script first, then 204, and hands every accepted message to msgs.
type discordStandIn struct {
	*httptest.Server
	msgs chan received

	mu     sync.Mutex
	script []reply
}

func newStandIn(t *testing.T, script ...reply) *discordStandIn {
	t.Helper()
	d := &discordStandIn{msgs: make(chan received, 16), script: script}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func (d *discordStandIn) webhook() string { return d.URL + webhookPath }

func (d *discordStandIn) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path != webhookPath:
		writeJSON(w, http.StatusNotFound, `{"message": "Unknown Webhook", "code": 10015}`)
		return
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, `{"message": "405: Method Not Allowed", "code": 0}`)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusBadRequest, `{"message": "Cannot send an empty message", "code": 50006}`)
		return
	}
	var p map[string]any
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"message": "The request body contains invalid JSON.", "code": 50109}`)
		return
	}
	d.msgs <- received{at: time.Now(), payload: p}

	d.mu.Lock()
	var next *reply
	if len(d.script) > 0 {
		next = &d.script[0]
		d.script = d.script[1:]
	}
	d.mu.Unlock()
	if next == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if next.retryAfter != "" {
		w.Header().Set("Retry-After", next.retryAfter)
	}
	writeJSON(w, next.status, next.body)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// next waits for the stand-in's next message: delivery is asynchronous.
func (d *discordStandIn) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-d.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("the stand-in received nothing")
	}
	return received{}
}

func start(t *testing.T, args ...string) (stdout, stderr *syncbuf.Buffer, done <-chan error) {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	ch := make(chan error, 1)
	go func() { ch <- run(context.Background(), args, stdout, stderr) }()
	return stdout, stderr, ch
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return")
		return nil
	}
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	if strings.Contains(s, webhookToken) || strings.Contains(s, webhookPath) {
		t.Errorf("%s shows the webhook URL:\n%s", where, s)
	}
}

func TestDeliversTheAlert(t *testing.T) {
	d := newStandIn(t)
	stdout, stderr, done := start(t, "-webhook", d.webhook(), "-v")

	m := d.next(t)
	if got := m.payload["content"]; got != wantContent {
		t.Errorf("content:\n got %q\nwant %q", got, wantContent)
	}
	if am, _ := m.payload["allowed_mentions"].(map[string]any); am == nil || fmt.Sprint(am["parse"]) != "[]" {
		t.Errorf("allowed_mentions: %v", m.payload["allowed_mentions"])
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
	}
	select {
	case extra := <-d.msgs:
		t.Errorf("a second message: %v", extra.payload)
	default:
	}
	out := stdout.String()
	for _, want := range []string{
		"alert custom_rule warning firing: 5 consecutive sync failures for my_service\n",
		"delivering to discord(" + d.URL + ")\n",
		"discord accepted 1 notification(s)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	assertNoSecret(t, "stdout", out)
	assertNoSecret(t, "the log", stderr.String())
}

// Four failures do not reach the rule's count: nothing is posted.
func TestBelowCount(t *testing.T) {
	d := newStandIn(t)
	stdout, stderr, done := start(t, "-webhook", d.webhook(), "-failures", "4")
	if err := wait(t, done); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
	}
	select {
	case m := <-d.msgs:
		t.Errorf("posted %v", m.payload)
	default:
	}
	if out := stdout.String(); strings.Contains(out, "alert ") || !strings.Contains(out, "discord accepted 0 notification(s)") {
		t.Errorf("stdout:\n%s", out)
	}
}

// A 429 with Retry-After is retried by the engine, no sooner than asked.
func TestRetriesAfter429(t *testing.T) {
	d := newStandIn(t, reply{
		status:     http.StatusTooManyRequests,
		retryAfter: "1",
		body:       `{"message": "You are being rate limited.", "retry_after": 1.0, "global": false}`,
	})
	stdout, stderr, done := start(t, "-webhook", d.webhook(), "-v")

	first, second := d.next(t), d.next(t)
	for i, m := range []received{first, second} {
		if got := m.payload["content"]; got != wantContent {
			t.Errorf("attempt %d content %q", i+1, got)
		}
	}
	if gap := second.at.Sub(first.at); gap < time.Second {
		t.Errorf("retried after %v, before the 1 s Retry-After", gap)
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), "discord accepted 1 notification(s)") {
		t.Errorf("stdout:\n%s", stdout)
	}
	log := stderr.String()
	if !strings.Contains(log, "notification failed; retrying") || !strings.Contains(log, "429 Too Many Requests") {
		t.Errorf("the retry is not logged:\n%s", log)
	}
	assertNoSecret(t, "the log", log)
}

// A rejected webhook (4xx) is not retried; the program says so without
// showing the URL, and so does the log.
func TestRejectedWithoutLeakingTheURL(t *testing.T) {
	d := newStandIn(t, reply{status: http.StatusUnauthorized, body: `{"message": "Invalid Webhook Token", "code": 50027}`})
	stdout, stderr, done := start(t, "-webhook", d.webhook(), "-v")
	d.next(t)
	err := wait(t, done)
	if err == nil || !strings.Contains(err.Error(), "not delivered") {
		t.Fatalf("run: %v", err)
	}
	select {
	case m := <-d.msgs:
		t.Errorf("a 401 was retried: %v", m.payload)
	default:
	}
	log := stderr.String()
	if !strings.Contains(log, "notification failed") || !strings.Contains(log, "401 Unauthorized") {
		t.Errorf("the failure is not logged:\n%s", log)
	}
	assertNoSecret(t, "the error", err.Error())
	assertNoSecret(t, "the log", log)
	assertNoSecret(t, "stdout", stdout.String())
}

func TestFlags(t *testing.T) {
	secret := "/api/webhooks/1/" + webhookToken
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing", nil, "-webhook is required"},
		{"empty", []string{"-webhook", ""}, "-webhook is required"},
		{"scheme", []string{"-webhook", "ftp://discord.com" + secret}, "must start with https://"},
		{"relative", []string{"-webhook", secret}, "must start with https://"},
		{"no host", []string{"-webhook", "https://" + secret}, "has no host"},
		{"unparsable", []string{"-webhook", "https://discord.com:port" + secret}, "does not parse"},
		{"control character", []string{"-webhook", "https://discord.com" + secret + "\n"}, "does not parse"},
		{"negative failures", []string{"-webhook", "https://discord.com" + secret, "-failures", "-1"}, "-failures"},
		{"zero timeout", []string{"-webhook", "https://discord.com" + secret, "-timeout", "0s"}, "-timeout"},
		{"extra", []string{"-webhook", "https://discord.com" + secret, "now"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
			assertNoSecret(t, "the error", err.Error())
		})
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

// Notify's errors classify the answer for the engine's retrier.
func TestNotifyStatus(t *testing.T) {
	alert := alerting.Alert{Rule: "r", Level: alerting.Critical, State: alerting.Firing, Title: "t"}
	for _, tc := range []struct {
		name       string
		r          reply
		wantStatus int // 0: success
		retry      bool
		after      time.Duration
	}{
		{"204", reply{status: http.StatusNoContent}, 0, false, 0},
		{"200", reply{status: http.StatusOK, body: `{"id": "1"}`}, 0, false, 0},
		{"429", reply{status: http.StatusTooManyRequests, retryAfter: "2", body: `{"retry_after": 2.0}`}, 429, true, 2 * time.Second},
		{"503", reply{status: http.StatusServiceUnavailable}, 503, true, 0},
		{"400", reply{status: http.StatusBadRequest, body: `{"message": "Cannot send an empty message", "code": 50006}`}, 400, false, 0},
		{"404", reply{status: http.StatusNotFound, body: `{"message": "Unknown Webhook", "code": 10015}`}, 404, false, 0},
		{"301 not followed", reply{status: http.StatusMovedPermanently}, 301, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.r.status == http.StatusMovedPermanently {
					http.Redirect(w, r, "/elsewhere"+webhookPath, tc.r.status)
					return
				}
				if tc.r.retryAfter != "" {
					w.Header().Set("Retry-After", tc.r.retryAfter)
				}
				writeJSON(w, tc.r.status, tc.r.body)
			}))
			defer srv.Close()
			h, err := NewDiscordNotificationHandler(srv.URL+webhookPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = h.Notify(context.Background(), alert)
			if tc.wantStatus == 0 {
				if err != nil || h.Delivered() != 1 {
					t.Fatalf("err %v, delivered %d", err, h.Delivered())
				}
				return
			}
			var se *alerting.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.wantStatus {
				t.Fatalf("err %v, want a StatusError %d", err, tc.wantStatus)
			}
			if retry, after := alerting.Retryable(err); retry != tc.retry || after != tc.after {
				t.Errorf("Retryable: %v %v, want %v %v", retry, after, tc.retry, tc.after)
			}
			if h.Delivered() != 0 {
				t.Errorf("delivered %d", h.Delivered())
			}
			assertNoSecret(t, "the error", err.Error())
		})
	}
}

// Transport errors and cancellation keep the URL out too, and keep their
// cause for the retrier.
func TestNotifyTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	webhook := srv.URL + webhookPath
	srv.Close() // nothing listens there any more
	h, err := NewDiscordNotificationHandler(webhook, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{h.String(), fmt.Sprintf("%v %+v %#v %s", h, h, h, h)} {
		assertNoSecret(t, "formatting", s)
	}

	err = h.Notify(context.Background(), alerting.Alert{Title: "t"})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if retry, _ := alerting.Retryable(err); !retry {
		t.Errorf("connection refused is not retried: %v", err)
	}
	assertNoSecret(t, "the error", err.Error())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = h.Notify(ctx, alerting.Alert{Title: "t"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if retry, _ := alerting.Retryable(err); retry {
		t.Errorf("a cancelled call is retried")
	}
	assertNoSecret(t, "the error", err.Error())
}

func TestMessage(t *testing.T) {
	long := strings.Repeat("é", 2500)
	for _, tc := range []struct {
		name string
		a    alerting.Alert
		want string
	}{
		{"warning", alerting.Alert{Level: alerting.Warning, State: alerting.Firing, Title: "t", Description: "d"}, "🚨 **WARNING** - t\nd"},
		{"critical", alerting.Alert{Level: alerting.Critical, State: alerting.Firing, Title: "t", Description: "d"}, "🚨 **CRITICAL** - t\nd"},
		{"info without description", alerting.Alert{Level: alerting.Info, State: alerting.Firing, Title: "t"}, "🚨 **INFO** - t"},
		{"resolved", alerting.Alert{Level: alerting.Critical, State: alerting.Resolved, Title: "t", Description: "d"}, "✅ **RESOLVED** - t\nd"},
		{"no title", alerting.Alert{Rule: "custom_rule", Level: alerting.Warning}, "🚨 **WARNING** - custom_rule"},
		{"too long", alerting.Alert{Level: alerting.Info, Title: "t", Description: long}, "🚨 **INFO** - t\n" + strings.Repeat("é", 2000-16-1) + "…"},
		{"exactly the limit", alerting.Alert{Level: alerting.Info, Title: "t", Description: strings.Repeat("é", 2000-16)}, "🚨 **INFO** - t\n" + strings.Repeat("é", 2000-16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := message(tc.a)
			if got != tc.want {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
			if n := len(utf16.Encode([]rune(got))); n > maxContent {
				t.Fatalf("%d UTF-16 code units", n)
			}
		})
	}
}
