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

func TestCommonDefaults(t *testing.T) {
	c := NewCommon("webhook")
	c.SetHTTPClient(nil)
	c.SetClock(nil)
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v", err)
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

func TestCommonSettings(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	client := &http.Client{}
	c := NewCommon("slack")
	c.SetHTTPClient(client)
	c.SetClock(clock.NewFake(now))
	c.SetName("slack-critical")
	e := c.Endpoint(Target{URL: &url.URL{Scheme: "https", Host: "h.example"}})
	if e.Name() != "slack-critical" || e.client != client || !e.Now().Equal(now) {
		t.Errorf("Endpoint = %s, %p, %v", e.Name(), e.client, e.Now())
	}
}

func TestCommonErrors(t *testing.T) {
	c := NewCommon("discord")
	c.SetName("")
	cause := errors.New("URL is empty")
	c.Errorf("avatar %w", cause)
	err := c.Err()
	if want := "discord: empty name\ndiscord: avatar URL is empty"; err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %q", err, want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("Err = %v does not wrap its cause", err)
	}
}

func TestEndpointString(t *testing.T) {
	u, _ := url.Parse("https://user:PASS@hooks.example.com/T0KEN?k=QSECRET")
	c := NewCommon("webhook")
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
	c := NewCommon("slack")
	c.SetHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: &body{n: 10}, Request: r}, nil
	})})
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
