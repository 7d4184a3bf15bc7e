package notifyhttp

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/clock"
)

// option is an Option of a notifier package, as the packages declare it.
type option interface{ apply(testConfig) testConfig }

type testConfig = Config[string]

type optionFunc func(testConfig) testConfig

func (f optionFunc) apply(c testConfig) testConfig { return f(c) }

func newTestConfig(kind string, opts ...option) testConfig {
	return NewConfig(kind, "own", opts, option.apply)
}

func TestConfigDefaults(t *testing.T) {
	c := newTestConfig("webhook", nil, optionFunc(HTTPClient[string](nil)), optionFunc(Clock[string](nil)))
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if c.Own != "own" {
		t.Errorf("Own = %q", c.Own)
	}
	e := c.Endpoint(Target{URL: &url.URL{Scheme: "https", Host: "h.example"}})
	if e.Name() != "webhook" {
		t.Errorf("Name = %q", e.Name())
	}
	if e.client == nil || e.client.Timeout != DefaultTimeout || e.client.CheckRedirect == nil {
		t.Errorf("default client = %+v", e.client)
	}
	if e.now == nil {
		t.Error("no default clock")
	}
}

func TestConfigSettings(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	client := &http.Client{}
	own := optionFunc(func(c testConfig) testConfig { c.Own += "+1"; return c })
	c := newTestConfig("slack",
		optionFunc(HTTPClient[string](client)),
		optionFunc(Clock[string](clock.NewFake(now))),
		optionFunc(Name[string]("slack-critical")),
		own, own)
	e := c.Endpoint(Target{URL: &url.URL{Scheme: "https", Host: "h.example"}})
	if e.Name() != "slack-critical" || e.client != client || !e.Now().Equal(now) || c.Own != "own+1+1" {
		t.Errorf("Endpoint = %s, %p, %v; Own = %q", e.Name(), e.client, e.Now(), c.Own)
	}
}

func TestConfigIsAValue(t *testing.T) {
	base := newTestConfig("discord", optionFunc(Name[string]("")))
	a := base.Invalid("A", "", "bad")
	b := base.Invalid("B", "", "bad")
	if got := a.Err().Error(); got != "discord: invalid config: WithName: must not be empty\ndiscord: invalid config: A: bad" {
		t.Errorf("a.Err = %q", got)
	}
	if got := b.Err().Error(); got != "discord: invalid config: WithName: must not be empty\ndiscord: invalid config: B: bad" {
		t.Errorf("b.Err = %q", got)
	}
	if got := base.Err().Error(); got != "discord: invalid config: WithName: must not be empty" {
		t.Errorf("base.Err = %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	c := newTestConfig("discord", optionFunc(Name[string]("")))
	c = c.CheckURL("WithAvatarURL", "") // optional: empty is the default
	c = c.CheckURL("WithAvatarURL", "avatar.png")
	c = c.Invalid("WithUsername", "x", "must be y")
	err := c.Err()
	const want = "discord: invalid config: WithName: must not be empty\n" +
		"discord: invalid config: WithAvatarURL: scheme must be http or https\n" +
		"discord: invalid config: WithUsername = x: must be y"
	if err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Err = %v does not wrap ErrInvalidConfig", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "WithName" || ce.Reason != "must not be empty" {
		t.Errorf("errors.As = %+v", ce)
	}
	if _, err := c.ParseURL("webhookURL", "https://h/%zzSECRET"); err == nil ||
		err.Error() != "discord: invalid config: webhookURL: does not parse" || !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ParseURL = %v", err)
	}
	if got := (&ConfigError{Field: "F", Reason: "r"}).Error(); got != "invalid config: F: r" {
		t.Errorf("ConfigError without a package = %q", got)
	}
}

func TestEndpointString(t *testing.T) {
	u, _ := url.Parse("https://user:PASS@hooks.example.com/T0KEN?k=QSECRET")
	c := newTestConfig("webhook")
	const want = "webhook(https://hooks.example.com)"
	e := c.Endpoint(Target{URL: u})
	if got := e.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := e.GoString(); got != want {
		t.Errorf("GoString = %q, want %q", got, want)
	}
}

func TestEndpointPost(t *testing.T) {
	u, _ := url.Parse("https://hooks.example.com/T0KEN")
	var got *http.Request
	c := newTestConfig("slack", optionFunc(HTTPClient[string](&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: &body{n: 10}, Request: r}, nil
	})})))
	e := c.Endpoint(Target{URL: u, OnStatus: func(se *alerting.StatusError, _ []byte) error {
		return errors.Join(se, errors.New("no_service"))
	}})
	err := e.PostJSON(context.Background(), map[string]int{"a": 1}, http.Header{"Authorization": {"Bearer x"}})
	if want := "slack: unexpected HTTP status 404 Not Found\nno_service"; err == nil || err.Error() != want {
		t.Errorf("PostJSON = %v, want %q", err, want)
	}
	if got == nil || got.Header.Get("Authorization") != "Bearer x" || got.URL.String() != u.String() {
		t.Errorf("request = %+v", got)
	}
	err = e.PostJSON(context.Background(), math.NaN(), nil)
	if !errors.Is(err, alerting.ErrPermanent) || !strings.HasPrefix(err.Error(), "slack: ") {
		t.Errorf("PostJSON(NaN) = %v", err)
	}
}
