package notifyhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/redact"
)

// Target is the receiver an Endpoint posts to and how its answers are read.
type Target struct {
	// URL is the receiver. Required. It is a secret.
	URL *url.URL
	// OnStatus is Request.OnStatus: nil, or what makes the error of a
	// non-2xx answer.
	OnStatus func(se *alerting.StatusError, body []byte) error
}

// Endpoint is what a notifier needs to post: its name, the receiver, the
// client and the clock. Notifiers hold one made by Config.Endpoint and
// implement Name, String and Notify with it. It is safe for concurrent use.
type Endpoint struct {
	kind   string // the package's name, which prefixes every error
	name   string
	client *http.Client
	now    func() time.Time
	target Target
}

// Name returns the notifier's name.
func (e *Endpoint) Name() string { return e.name }

// String returns the name and the redacted URL, e.g.
// "webhook(https://hooks.example.com)": only the scheme and host, since
// the path of a webhook URL may carry its token.
func (e *Endpoint) String() string {
	return e.name + "(" + redact.Endpoint(e.target.URL.String()) + ")"
}

// GoString is String, so that %#v does not print the URL either.
func (e *Endpoint) GoString() string { return e.String() }

// Now returns the current time by the notifier's clock.
func (e *Endpoint) Now() time.Time { return e.now() }

// Client returns the client the endpoint sends with, for the other
// requests a notifier makes to the same receiver (Alertmanager's silences).
func (e *Endpoint) Client() *http.Client { return e.client }

// PostJSON encodes v with MarshalJSON and sends it with Post. Its errors,
// prefixed with the package's name, wrap alerting.ErrPermanent when v does
// not encode.
func (e *Endpoint) PostJSON(ctx context.Context, v any, header http.Header) error {
	body, err := MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", e.kind, err)
	}
	return e.Post(ctx, body, header)
}

// Post sends body, a JSON payload, and header (which may be nil) to the
// target once, as the function Post does, and prefixes its error with the
// package's name, e.g. "slack: unexpected HTTP status 404 Not Found".
func (e *Endpoint) Post(ctx context.Context, body []byte, header http.Header) error {
	err := Post(ctx, e.client, Request{
		URL:      e.target.URL,
		Body:     body,
		Header:   header,
		Now:      e.now,
		OnStatus: e.target.OnStatus,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", e.kind, err)
	}
	return nil
}
