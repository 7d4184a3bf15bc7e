package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// resolvedAlert is notifytest.Resolved with the value the golden payloads
// show.
func resolvedAlert(l alerting.Level) alerting.Alert {
	a := notifytest.Resolved(l)
	a.Value = 1
	return a
}

const secretPath = "/hooks/T0KEN-SECRET"

func TestPayload(t *testing.T) {
	const firingFmt = `{"version":"1","status":"firing","alert":{"id":"r1-9f2c","rule":"service-down","level":%q,"state":"firing",` +
		`"title":"Service imdb is down","description":"3 failed checks <in a row> & counting","labels":{"service":"imdb","source":"health"},"value":0,` +
		`"startsAt":"2025-03-01T12:00:00Z","updatedAt":"2025-03-01T12:01:00Z","acknowledged":false,"flapping":false}}`
	const resolvedFmt = `{"version":"1","status":"resolved","alert":{"id":"r1-9f2c","rule":"service-down","level":%q,"state":"resolved",` +
		`"title":"Service imdb is down","description":"3 failed checks <in a row> & counting","labels":{"service":"imdb","source":"health"},"value":1,` +
		`"startsAt":"2025-03-01T12:00:00Z","updatedAt":"2025-03-01T12:10:00Z","resolvedAt":"2025-03-01T12:10:00Z","acknowledged":false,"flapping":false}}`
	for _, l := range []alerting.Level{alerting.Info, alerting.Warning, alerting.Critical} {
		for _, tc := range []struct {
			name  string
			alert alerting.Alert
			want  string
		}{
			{"firing", notifytest.Firing(l), fmt.Sprintf(firingFmt, l)},
			{"resolved", resolvedAlert(l), fmt.Sprintf(resolvedFmt, l)},
		} {
			t.Run(l.String()+"/"+tc.name, func(t *testing.T) {
				rcv := notifytest.NewReceiver(t, nil)
				n := notifytest.MustNew(t, New, rcv.URL+secretPath+"?token=Q-SECRET")
				if err := n.Notify(context.Background(), tc.alert); err != nil {
					t.Fatalf("Notify = %v", err)
				}
				req := rcv.Next(t)
				req.CheckPost(t, secretPath)
				if req.RawQuery != "token=Q-SECRET" {
					t.Errorf("query = %q", req.RawQuery)
				}
				if got := req.Header.Get(SignatureHeader); got != "" {
					t.Errorf("unsigned notifier sent %s: %q", SignatureHeader, got)
				}
				if string(req.Body) != tc.want {
					t.Errorf("body\n got %s\nwant %s", req.Body, tc.want)
				}
				var m Message
				if err := json.Unmarshal(req.Body, &m); err != nil {
					t.Fatal(err)
				}
				if m.Version != Version || m.Status != tc.alert.State || m.Alert.Level != l || m.Alert.Title != tc.alert.Title {
					t.Errorf("decoded %+v", m)
				}
			})
		}
	}
}

func TestNonFiniteValue(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		a := notifytest.Firing(alerting.Warning)
		a.Value = v
		body, err := encode(a)
		if err != nil {
			t.Fatalf("encode(value %v) = %v", v, err)
		}
		if !bytes.Contains(body, []byte(`"value":null`)) || bytes.Count(body, []byte(`"value"`)) != 1 {
			t.Errorf("value %v encoded as %s", v, body)
		}
	}
}

func TestUnencodableIsPermanent(t *testing.T) {
	rcv := notifytest.NewReceiver(t, nil)
	n := notifytest.MustNew(t, New, rcv.URL+secretPath)
	err := n.Notify(context.Background(), notifytest.Firing(alerting.Level(42)))
	if !errors.Is(err, alerting.ErrPermanent) {
		t.Fatalf("Notify = %v, want ErrPermanent", err)
	}
	if retry, _ := alerting.Retryable(err); retry {
		t.Fatal("unencodable alert is retryable")
	}
}

func TestHeadersAndSignature(t *testing.T) {
	rcv := notifytest.NewReceiver(t, nil)
	secret := []byte("SIGNING-SECRET")
	n := notifytest.MustNew(t, New, rcv.URL+secretPath,
		WithHeader("authorization", "Bearer HEADER-SECRET"),
		WithHeader("X-Tenant", "listsync"),
		WithSigningSecret(secret),
	)
	if err := n.Notify(context.Background(), notifytest.Firing(alerting.Critical)); err != nil {
		t.Fatal(err)
	}
	req := rcv.Next(t)
	if got := req.Header.Get("Authorization"); got != "Bearer HEADER-SECRET" {
		t.Errorf("Authorization = %q", got)
	}
	if got := req.Header.Get("X-Tenant"); got != "listsync" {
		t.Errorf("X-Tenant = %q", got)
	}
	sig := req.Header.Get(SignatureHeader)
	if !Verify(secret, req.Body, sig) {
		t.Errorf("signature %q does not verify", sig)
	}
	// Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
	const want = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got := Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if Verify(secret, append(req.Body, ' '), sig) || Verify([]byte("other"), req.Body, sig) {
		t.Error("Verify accepted a wrong body or secret")
	}
}

func TestDelivery(t *testing.T) {
	notifytest.RunDelivery(t, notifytest.Suite{
		New: func(t testing.TB, base string) alerting.Notifier {
			return notifytest.MustNew(t, New, base+secretPath+"?token=Q-SECRET",
				WithHeader("Authorization", "Bearer HEADER-SECRET"),
				WithSigningSecret([]byte("SIGNING-SECRET")))
		},
		Secrets: []string{"T0KEN-SECRET", "Q-SECRET", "HEADER-SECRET", "SIGNING-SECRET", "/hooks"},
		Alert:   notifytest.Firing(alerting.Critical),
	})
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	n := notifytest.MustNew(t, New, rcv.URL, WithClock(clock.NewFake(now)))
	err := n.Notify(context.Background(), notifytest.Firing(alerting.Info))
	if retry, after := alerting.Retryable(err); !retry || after != 90*time.Second {
		t.Fatalf("Retryable(%v) = %v, %v; want true, 1m30s", err, retry, after)
	}
}

func TestNewRejects(t *testing.T) {
	const good = "https://hooks.example/SECRET"
	notifytest.RunRejects(t, New, []string{"SECRET", "hooks.example"}, []notifytest.Reject[Option]{
		{Name: "empty", Field: "rawURL", Want: "webhook: invalid config: rawURL: must not be empty"},
		{Name: "unparsable", URL: "https://h\x7fooks.example/SECRET", Field: "rawURL", Want: "webhook: invalid config: rawURL: does not parse"},
		{Name: "scheme", URL: "ftp://hooks.example/SECRET", Field: "rawURL", Want: "webhook: invalid config: rawURL: scheme must be http or https"},
		{Name: "relative", URL: "/hooks/SECRET", Field: "rawURL", Want: "webhook: invalid config: rawURL: scheme must be http or https"},
		{Name: "no host", URL: "https:///SECRET", Field: "rawURL", Want: "webhook: invalid config: rawURL: has no host"},
		{Name: "header name", URL: good, Opts: []Option{WithHeader("Bad SECRET", "v")}, Field: "WithHeader", Want: "webhook: invalid config: WithHeader: name must be a valid token"},
		{Name: "header value", URL: good, Opts: []Option{WithHeader("Authorization", "Bearer SECRET\r\nX: y")}, Field: "WithHeader", Want: "webhook: invalid config: WithHeader = Authorization: value must not contain control characters"},
		{Name: "reserved", URL: good, Opts: []Option{WithHeader("content-type", "text/plain")}, Field: "WithHeader", Want: "webhook: invalid config: WithHeader = Content-Type: is set by the notifier"},
		{Name: "signature header", URL: good, Opts: []Option{WithHeader(SignatureHeader, "SECRET")}, Field: "WithHeader", Want: "webhook: invalid config: WithHeader = X-Otelmon-Signature: is set by the notifier"},
		{Name: "duplicate", URL: good, Opts: []Option{WithHeader("Authorization", "a SECRET"), WithHeader("authorization", "b SECRET")}, Field: "WithHeader", Want: "webhook: invalid config: WithHeader = Authorization: given twice"},
		{Name: "empty secret", URL: good, Opts: []Option{WithSigningSecret(nil)}, Field: "WithSigningSecret", Want: "webhook: invalid config: WithSigningSecret: must not be empty"},
		{Name: "url and option", Opts: []Option{WithSigningSecret(nil)}, Field: "rawURL", Want: "webhook: invalid config: rawURL: must not be empty\nwebhook: invalid config: WithSigningSecret: must not be empty"},
	})
}

func TestStringHidesSecrets(t *testing.T) {
	n := notifytest.MustNew(t, New, "https://user:PASS-SECRET@hooks.example.com/T0KEN-SECRET?k=Q-SECRET",
		WithHeader("Authorization", "HEADER-SECRET"), WithSigningSecret([]byte("SIGNING-SECRET")))
	notifytest.CheckString(t, n, "webhook", "webhook(https://hooks.example.com)", "SECRET", "user")
}

func TestNilHTTPClientMeansDefault(t *testing.T) {
	rcv := notifytest.NewReceiver(t, nil)
	n := notifytest.MustNew(t, New, rcv.URL, WithHTTPClient(nil), WithClock(nil))
	if err := n.Notify(context.Background(), notifytest.Firing(alerting.Info)); err != nil {
		t.Fatal(err)
	}
	rcv.Next(t)
}

func TestWithName(t *testing.T) {
	notifytest.RunName(t, "webhook", func(name string) (notifytest.Notifier, error) {
		return New("https://x.example/SECRET", WithName(name))
	})
}
