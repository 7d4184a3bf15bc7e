package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Notifier posts alerts to one Slack incoming webhook. Create it with New;
// it is safe for concurrent use.
type Notifier struct {
	endpoint notifyhttp.Endpoint // its URL is a secret: the token is in the path
	channel  string
	username string
}

var _ alerting.Notifier = (*Notifier)(nil)

// New returns a Notifier that posts to webhookURL, a Slack incoming webhook
// such as https://hooks.slack.com/services/T…/B…/… (any absolute http or
// https URL is accepted, so that a proxy or a stand-in can be used). It
// fails with a *ConfigError for each problem with the URL or an option,
// joined; its errors never contain the URL. New starts nothing.
func New(webhookURL string, opts ...Option) (*Notifier, error) {
	cfg := newConfig(opts)
	u, err := cfg.ParseURL("webhookURL", webhookURL)
	if err = errors.Join(err, cfg.Err()); err != nil {
		return nil, err
	}
	return &Notifier{
		endpoint: cfg.Endpoint(notifyhttp.Target{URL: u, OnStatus: onStatus}),
		channel:  cfg.Own.channel,
		username: cfg.Own.username,
	}, nil
}

// Name returns "slack" or the name set by WithName.
func (n *Notifier) Name() string { return n.endpoint.Name() }

// String returns the notifier's name and the scheme and host of its
// webhook, e.g. "slack(https://hooks.slack.com)".
func (n *Notifier) String() string { return n.endpoint.String() }

// GoString is String, so that %#v does not print the webhook either.
func (n *Notifier) GoString() string { return n.String() }

// Notify posts a as one message, once. See the package documentation for
// the payload and for how its error classifies the failure.
func (n *Notifier) Notify(ctx context.Context, a alerting.Alert) error {
	return n.endpoint.PostJSON(ctx, newPayload(a, n.channel, n.username, n.endpoint.Now), nil)
}

// onStatus adds Slack's error code (a plain-text body such as
// "invalid_payload" or "no_service") to the error.
func onStatus(se *alerting.StatusError, body []byte) error {
	if code := string(body); isCode(code) {
		return fmt.Errorf("%w (%s)", se, code)
	}
	return se
}

// isCode reports whether s looks like a Slack error code: 1 to 64 of
// [a-z_], so that nothing else from the body reaches the error.
func isCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '_' {
			return false
		}
	}
	return true
}
