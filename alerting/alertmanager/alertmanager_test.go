package alertmanager

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp/notifytest"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// now is when the tests send: five minutes after the alerts started.
var now = notifytest.StartsAt.Add(5 * time.Minute)

// newNotifier returns a Notifier whose clock stands at now, for the
// instance "listsync-0" of no job.
func newNotifier(t testing.TB, raw string, opts ...Option) *Notifier {
	t.Helper()
	fixed := []Option{WithClock(clock.NewFake(now)), WithExternalLabels(map[string]string{"instance": "listsync-0", "job": ""})}
	return notifytest.MustNew(t, New, raw, append(fixed, opts...)...)
}

func TestPayload(t *testing.T) {
	const tmpl = `[{"labels":{"alertname":"service-down","instance":"listsync-0","service":"imdb","severity":%q,"source":"health"},` +
		`"annotations":{"description":"3 failed checks <in a row> & counting","summary":"Service imdb is down","value":%q},` +
		`"startsAt":"2025-03-01T12:00:00Z"%s}]`
	const gen = "https://status.example.com/alerts"
	for _, l := range []alerting.Level{alerting.Info, alerting.Warning, alerting.Critical} {
		for _, tc := range []struct {
			name  string
			alert alerting.Alert
			opts  []Option
			value string
			tail  string
		}{
			{"firing", notifytest.Firing(l), nil, "0", ""},
			{"firing, zero options", notifytest.Firing(l), []Option{WithResendWindow(0), WithGeneratorURL("")}, "0", ""},
			{"firing with window", notifytest.Firing(l), []Option{WithResendWindow(4 * time.Minute), WithGeneratorURL(gen)}, "0",
				`,"endsAt":"2025-03-01T12:09:00Z","generatorURL":"` + gen + `"`},
			{"resolved", notifytest.Resolved(l), nil, "1.5", `,"endsAt":"2025-03-01T12:10:00Z"`},
			{"resolved with window", notifytest.Resolved(l), []Option{WithResendWindow(time.Hour)}, "1.5", `,"endsAt":"2025-03-01T12:10:00Z"`},
		} {
			t.Run(l.String()+"/"+tc.name, func(t *testing.T) {
				rcv := notifytest.NewReceiver(t, nil)
				if err := newNotifier(t, rcv.URL, tc.opts...).Notify(context.Background(), tc.alert); err != nil {
					t.Fatalf("Notify = %v", err)
				}
				req := rcv.Next(t)
				req.CheckPost(t, "/api/v2/alerts")
				if got := req.Header.Get("Authorization"); got != "" {
					t.Errorf("Authorization = %q without credentials", got)
				}
				want := fmt.Sprintf(tmpl, l, tc.value, tc.tail)
				if string(req.Body) != want {
					t.Errorf("body\n got %s\nwant %s", req.Body, want)
				}
			})
		}
	}
}

func TestPayloadEdges(t *testing.T) {
	// No times, no description: Alertmanager fills startsAt in.
	a := alerting.Alert{Rule: "r", Level: alerting.Warning, State: alerting.Firing, Title: "t", Value: 2}
	got, _ := json.Marshal(newPostable(a, nil, "", 0, now))
	if want := `{"labels":{"alertname":"r","severity":"warning"},"annotations":{"summary":"t","value":"2"}}`; string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// A resolved alert without ResolvedAt ends at UpdatedAt; one that
	// would end before it starts ends when it starts.
	a = notifytest.Resolved(alerting.Info)
	a.ResolvedAt = nil
	if p := newPostable(a, nil, "", 0, now); !p.EndsAt.Equal(notifytest.ResolvedAt) {
		t.Errorf("endsAt = %v, want %v", p.EndsAt, notifytest.ResolvedAt)
	}
	a.UpdatedAt = notifytest.StartsAt.Add(-time.Hour)
	if p := newPostable(a, nil, "", 0, now); !p.EndsAt.Equal(notifytest.StartsAt) {
		t.Errorf("endsAt = %v, want %v", p.EndsAt, notifytest.StartsAt)
	}
	// Times go out in UTC.
	a = notifytest.Firing(alerting.Info)
	a.StartsAt = notifytest.StartsAt.In(time.FixedZone("CEST", 2*3600))
	if p := newPostable(a, nil, "", 0, now); p.StartsAt.Location() != time.UTC || !p.StartsAt.Equal(notifytest.StartsAt) {
		t.Errorf("startsAt = %v", p.StartsAt)
	}
}

func TestLabels(t *testing.T) {
	a := alerting.Alert{
		Rule:  "sync-failing",
		Level: alerting.Critical,
		Labels: map[string]string{
			"severity":     "page",  // ours wins
			"alertname":    "other", // ours wins
			"http.status":  "500",   // loses to the valid http_status
			"http_status":  "503",
			"service-name": "imdb", // collides with service.name; '-' sorts first
			"service.name": "tmdb",
			"5xx":          "yes",
			"über":         "x",
			"empty":        "",
			"":             "nameless",
			"bad_utf8":     "a\xffb",
		},
	}
	want := map[string]string{
		"alertname":    "sync-failing",
		"severity":     "critical",
		"http_status":  "503",
		"service_name": "imdb",
		"_5xx":         "yes",
		"_ber":         "x",
		"bad_utf8":     "a\uFFFDb",
	}
	if got := labels(a, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v\nwant %v", got, want)
	}
	for in, want := range map[string]string{"a": "a", "A_1": "A_1", "1a": "_1a", "a.b-c/d": "a_b_c_d", "é": "_", "__x": "__x"} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExternalLabels checks that alerts name the process as its metrics do:
// instance is the resource's service.instance.id (a UUID per process unless
// the environment sets one), job its service.namespace/service.name, so
// that Alertmanager tells the instances of a fleet apart and matches an
// alert to its Prometheus twin.
func TestExternalLabels(t *testing.T) {
	res, err := exporters.Resource(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.Set().Value("service.instance.id")
	for _, tc := range []struct {
		name      string
		env       map[string]string
		opts      []Option
		alertOwns map[string]string
		want      map[string]string
	}{
		{"process UUID, the Monitor's default job", nil, nil, nil,
			map[string]string{"job": exporters.DefaultServiceName, "instance": id.AsString()}},
		{"WithServiceName", nil, []Option{WithServiceName("listsync-demo")}, nil,
			map[string]string{"job": "listsync-demo", "instance": id.AsString()}},
		{"the environment over WithServiceName", map[string]string{"OTEL_SERVICE_NAME": "listsync"}, []Option{WithServiceName("listsync-demo")}, nil,
			map[string]string{"job": "listsync", "instance": id.AsString()}},
		{"WithResource as given", map[string]string{"OTEL_SERVICE_NAME": "ignored", "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=ignored"},
			[]Option{WithServiceName("ignored"), WithResource(resource.NewSchemaless(
				attribute.String("service.namespace", "media"), attribute.String("service.name", "host"), attribute.String("service.instance.id", "host-pod-3")))}, nil,
			map[string]string{"job": "media/host", "instance": "host-pod-3"}},
		{"WithResource without a name", nil, []Option{WithResource(resource.NewSchemaless(attribute.String("service.instance.id", "host-pod-3")))}, nil,
			map[string]string{"instance": "host-pod-3"}},
		{"WithResource(nil) is the default", nil, []Option{WithResource(nil)}, nil,
			map[string]string{"job": exporters.DefaultServiceName, "instance": id.AsString()}},
		{"from the environment", map[string]string{"OTEL_SERVICE_NAME": "listsync", "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=pod-7"}, nil, nil,
			map[string]string{"job": "listsync", "instance": "pod-7"}},
		{"namespace/name", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.namespace=media,service.name=listsync,service.instance.id=pod-7"}, nil, nil,
			map[string]string{"job": "media/listsync", "instance": "pod-7"}},
		{"options over the resource", map[string]string{"OTEL_SERVICE_NAME": "listsync"},
			[]Option{WithExternalLabels(map[string]string{"instance": "", "cluster.name": "eu-1"}), WithExternalLabels(map[string]string{"job": "sync"})}, nil,
			map[string]string{"job": "sync", "cluster_name": "eu-1"}},
		{"the alert's own labels win", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=pod-7"}, nil,
			map[string]string{"instance": "host-1"},
			map[string]string{"job": exporters.DefaultServiceName, "instance": "host-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", "")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			rcv := notifytest.NewReceiver(t, nil)
			n := notifytest.MustNew(t, New, rcv.URL, append([]Option{WithClock(clock.NewFake(now))}, tc.opts...)...)
			a := alerting.Alert{Rule: "service_down", Level: alerting.Critical, State: alerting.Firing, Title: "t", Labels: tc.alertOwns}
			if err := n.Notify(context.Background(), a); err != nil {
				t.Fatalf("Notify = %v", err)
			}
			var got []postableAlert
			if err := json.Unmarshal(rcv.Next(t).Body, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"alertname": "service_down", "severity": "critical"}
			for k, v := range tc.want {
				want[k] = v
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0].Labels, want) {
				t.Errorf("labels = %+v\nwant %v", got, want)
			}
		})
	}
}

func TestBasicAuthAndPath(t *testing.T) {
	for _, tc := range []struct {
		name, suffix, path string
	}{
		{"root", "", "/api/v2/alerts"},
		{"prefix", "/alertmanager", "/alertmanager/api/v2/alerts"},
		{"prefix slash", "/alertmanager/", "/alertmanager/api/v2/alerts"},
		{"full", "/am/api/v2/alerts", "/am/api/v2/alerts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := notifytest.NewReceiver(t, nil)
			base := strings.Replace(rcv.URL, "http://", "http://admin:PASS-SECRET@", 1) + tc.suffix
			n := newNotifier(t, base)
			if err := n.Notify(context.Background(), notifytest.Firing(alerting.Info)); err != nil {
				t.Fatal(err)
			}
			req := rcv.Next(t)
			if req.Path != tc.path {
				t.Errorf("path = %q, want %q", req.Path, tc.path)
			}
			if got, want := req.Header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:PASS-SECRET")); got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if s := fmt.Sprintf("%v %+v %#v", n, n, n); strings.Contains(s, "PASS-SECRET") || strings.Contains(s, "admin") {
				t.Errorf("String leaks credentials: %s", s)
			}
		})
	}
}

func TestBadRequestReason(t *testing.T) {
	for _, body := range []string{`"[0] start time must be before end time"`, `{"code":400,"message":"[0] start time must be before end time"}`} {
		rcv := notifytest.NewReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, body)
		})
		err := newNotifier(t, rcv.URL).Notify(context.Background(), notifytest.Firing(alerting.Info))
		const want = "alertmanager: unexpected HTTP status 400 Bad Request ([0] start time must be before end time)"
		if err == nil || err.Error() != want {
			t.Errorf("Notify = %v, want %s", err, want)
		}
		if retry, _ := alerting.Retryable(err); retry {
			t.Errorf("Retryable(%v) = true", err)
		}
	}
}

func TestDelivery(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("admin:PASS-SECRET"))
	notifytest.RunDelivery(t, notifytest.Suite{
		New: func(t testing.TB, base string) alerting.Notifier {
			return newNotifier(t, strings.Replace(base, "http://", "http://admin:PASS-SECRET@", 1)+"/am?token=Q-SECRET")
		},
		Secrets: []string{"PASS-SECRET", "Q-SECRET", basic},
		Alert:   notifytest.Firing(alerting.Critical),
	})
}

func TestNewRejects(t *testing.T) {
	const good = "http://am:9093"
	notifytest.RunRejects(t, New, []string{"SECRET"}, []notifytest.Reject[Option]{
		{Name: "empty", Field: "baseURL", Want: "alertmanager: invalid config: baseURL: must not be empty"},
		{Name: "unparsable", URL: "http://admin:SECRET@am:9093/%zz", Field: "baseURL", Want: "alertmanager: invalid config: baseURL: does not parse"},
		{Name: "scheme", URL: "am:9093", Field: "baseURL", Want: "alertmanager: invalid config: baseURL: scheme must be http or https"},
		{Name: "no host", URL: "http://admin:SECRET@/", Field: "baseURL", Want: "alertmanager: invalid config: baseURL: has no host"},
		{Name: "generator", URL: good, Opts: []Option{WithGeneratorURL("status page SECRET")}, Field: "WithGeneratorURL", Want: "alertmanager: invalid config: WithGeneratorURL: scheme must be http or https"},
		{Name: "window", URL: good, Opts: []Option{WithResendWindow(-time.Second)}, Field: "WithResendWindow", Want: "alertmanager: invalid config: WithResendWindow = -1s: must not be negative"},
		{Name: "interval", URL: good, Opts: []Option{WithResendInterval(-time.Second)}, Field: "WithResendInterval", Want: "alertmanager: invalid config: WithResendInterval = -1s: must not be negative"},
		{Name: "all", Opts: []Option{WithResendWindow(-time.Second), WithResendInterval(-time.Minute)}, Field: "baseURL", Want: "alertmanager: invalid config: baseURL: must not be empty\n" + "alertmanager: invalid config: WithResendWindow = -1s: must not be negative\n" + "alertmanager: invalid config: WithResendInterval = -1m0s: must not be negative"},
	})
}

func TestString(t *testing.T) {
	n := newNotifier(t, "https://admin:PASS-SECRET@am.example.com/prefix?tenant=Q-SECRET#frag")
	notifytest.CheckString(t, n, "alertmanager", "alertmanager(https://am.example.com)", "SECRET")
}

func TestWithName(t *testing.T) {
	notifytest.RunName(t, "alertmanager", func(name string) (notifytest.Notifier, error) {
		return New("https://x.example/SECRET", WithName(name))
	})
}

func TestResendInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default", nil, DefaultResendInterval},
		{"zero means default", []Option{WithResendInterval(0)}, DefaultResendInterval},
		{"set", []Option{WithResendInterval(30 * time.Second)}, 30 * time.Second},
		{"off", []Option{WithoutResend()}, 0},
		{"off, then set", []Option{WithoutResend(), WithResendInterval(time.Minute)}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New("http://am:9093", tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.ResendInterval(); got != tc.want {
				t.Errorf("ResendInterval = %v, want %v", got, tc.want)
			}
		})
	}
}
