package alerting

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/listsync/otelmon/internal/httperr"
	"github.com/listsync/otelmon/internal/redact"
)

// Notifier delivers alerts somewhere: a webhook, a chat, Alertmanager, a log.
// It is the counterpart of the reference service's notification handler.
//
// The engine calls Notify from a delivery goroutine of that notifier's own,
// never from evaluation, so a slow notifier delays only itself. Notify is
// called for firing alerts and again, with State Resolved, when they resolve.
// Implementations must honour ctx and must be safe for concurrent use.
//
// An error tells the engine whether to retry: see [Retryable].
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
	// Name identifies the notifier in metrics and logs, e.g. "discord". It must
	// not contain secrets.
	Name() string
}

// Resender is implemented by notifiers whose receiver forgets a firing
// alert unless it is sent again: Alertmanager resolves an alert on its own
// once its endsAt passes or, without one, after its resolve_timeout. The
// engine sends such a notifier every firing alert it was told about again
// each ResendInterval, whatever the rule's rate limit and even when the
// alert is acknowledged, until the alert resolves. Other notifiers are not
// affected.
type Resender interface {
	ResendInterval() time.Duration
}

// StatusError is returned by HTTP notifiers when the receiver answers with a
// status other than 2xx. Its message holds the status only: never the URL,
// which for webhooks is a secret. Its Delay is how long the receiver asked
// the sender to wait (the Retry-After header, or a body field such as
// Discord's retry_after). It is the same type as otelmon.StatusError and
// healthcheck.StatusError: one type for every HTTP answer otelmon counts as
// a failure.
type StatusError = httperr.StatusError

// ErrPermanent marks a delivery error that retrying cannot fix (a bad
// payload, a missing webhook). Wrap it: fmt.Errorf("...: %w", ErrPermanent).
var ErrPermanent = errors.New("alerting: permanent delivery failure")

// Retryable reports whether a failed delivery should be tried again and, if
// the receiver said so, after how long. Rules, as in Alertmanager's notify
// package: 429 and 5xx are retried, other statuses are not; errors wrapping
// ErrPermanent are not; the caller's cancellation is not; other errors
// (connection refused, timeouts, resets) are.
func Retryable(err error) (retry bool, after time.Duration) {
	if err == nil || errors.Is(err, ErrPermanent) || errors.Is(err, context.Canceled) {
		return false, 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		if se.StatusCode == http.StatusTooManyRequests || se.StatusCode >= 500 {
			return true, se.Delay
		}
		return false, 0
	}
	return true, 0
}

// CheckResponse turns a receiver's response into nil for 2xx or a
// *StatusError carrying the Retry-After header (seconds or an HTTP date,
// relative to now). Notifiers call it after every request.
func CheckResponse(resp *http.Response, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return httperr.FromResponse(resp, now)
}

// RedactError returns err with the URL of the *url.Error that http.Client
// wraps every error in reduced to its scheme and host, since a webhook URL
// is a secret (the token sits in its path or query). The cause stays in the
// chain: errors.Is still finds context.Canceled and the like. Secrets
// quoted in the text of any error err wraps or joins (a URL with its
// query, a webhook path, a token= pair, a header line, a JSON member, a
// bearer token) are masked, and every part's text is kept. Custom
// notifiers call it on the errors of their requests.
func RedactError(err error) error { return redact.Error(err) }
