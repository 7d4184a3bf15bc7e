package notifytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Notifier is what the HTTP notifiers of alerting implement: an
// alerting.Notifier with a String that keeps its URL secret.
type Notifier interface {
	alerting.Notifier
	fmt.Stringer
}

// CheckPost fails the test unless r is a POST to path of JSON with the
// User-Agent otelmon.
func (r Request) CheckPost(t testing.TB, path string) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != path {
		t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, path)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "otelmon" {
		t.Errorf("headers = %v", r.Header)
	}
}

// CheckString fails the test unless n's Name is name and its String is str,
// and no way of printing n or encoding it to JSON shows any of secrets.
func CheckString(t testing.TB, n Notifier, name, str string, secrets ...string) {
	t.Helper()
	if got := n.Name(); got != name {
		t.Errorf("Name = %q, want %q", got, name)
	}
	if got := n.String(); got != str {
		t.Errorf("String = %q, want %q", got, str)
	}
	js, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore S1025 the %s verb is one of the formattings checked
	outs := []string{n.String(), fmt.Sprint(n), fmt.Sprintf("%+v", n), fmt.Sprintf("%#v", n), fmt.Sprintf("%s", n), string(js)}
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output %q contains %q", out, s)
			}
		}
	}
}

// RunName tests a package's WithName: newNamed(name) must return the
// package's New of a URL with WithName(name), and kind is the package's
// name, which prefixes its errors.
func RunName(t *testing.T, kind string, newNamed func(name string) (Notifier, error)) {
	t.Helper()
	name := kind + "-critical"
	n, err := newNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name() != name || !strings.HasPrefix(n.String(), name+"(") {
		t.Errorf("Name = %q, String = %q", n.Name(), n.String())
	}
	_, err = newNamed("")
	var ce *notifyhttp.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, notifyhttp.ErrInvalidConfig) || ce.Field != "WithName" ||
		err.Error() != kind+": invalid config: WithName: must not be empty" {
		t.Errorf("New with an empty name = %v", err)
	}
}

// Reject is a case of RunRejects: New(URL, Opts...) must fail with the
// message Want, the first of its *ConfigErrors being for Field.
type Reject[O any] struct {
	Name  string
	URL   string
	Opts  []O
	Field string
	Want  string
}

// RunRejects runs each case as a subtest of t: newNotifier, a notifier
// package's New, must return an error whose message is the case's Want,
// that errors.As finds a *ConfigError for its Field in, that wraps
// ErrInvalidConfig, and that shows none of secrets.
func RunRejects[N, O any](t *testing.T, newNotifier func(string, ...O) (N, error), secrets []string, cases []Reject[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			n, err := newNotifier(tc.URL, tc.Opts...)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error", n)
			}
			if err.Error() != tc.Want {
				t.Errorf("New error = %q, want %q", err, tc.Want)
			}
			var ce *notifyhttp.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.Field || !errors.Is(err, notifyhttp.ErrInvalidConfig) {
				t.Errorf("New error = %#v, want a *ConfigError for %s wrapping ErrInvalidConfig", err, tc.Field)
			}
			NoSecrets(t, err, secrets)
		})
	}
}
