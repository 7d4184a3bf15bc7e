// Package notifyhttp holds what the HTTP notifiers of alerting share: one
// JSON POST per Notify call, its outcome classified for the engine's
// retrier, and the receiver's URL (a secret) kept out of every error.
//
// Each notifier package's config is a [Config] of its own settings, built
// by [NewConfig] from the package's sealed options (value in, value out);
// [Name], [HTTPClient] and [Clock] are the bodies of its WithName,
// WithHTTPClient and WithClock. Invalid arguments and options are
// [*ConfigError]s wrapping [ErrInvalidConfig], which the packages export
// under those names. A Notifier holds the [Endpoint] that Config makes,
// which names, prints and posts.
//
// It plays the part of util.go in Alertmanager's notify package.
package notifyhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/redact"
)

// UserAgent is the User-Agent header of every notification request.
const UserAgent = "otelmon"

// DefaultTimeout bounds one notification request made with [NewClient].
const DefaultTimeout = 10 * time.Second

// MaxErrorBody is how much of a non-2xx response body Post reads and hands
// to [Request.OnStatus].
const MaxErrorBody = 4 << 10

// maxDrain is how much of a response body Post reads before closing it, so
// that the connection can be reused; a longer body costs the connection.
const maxDrain = 64 << 10

// NewClient returns the client notifiers use when none is given: a
// DefaultTimeout timeout and no redirects followed, so that a moved receiver
// shows up as a non-retryable 3xx StatusError rather than a POST silently
// turned into a GET somewhere else.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ParseURL parses raw, which must be an absolute http or https URL with a
// host. Its errors say what is wrong ("must not be empty", "does not
// parse", "scheme must be http or https", "has no host") but never repeat
// raw, which may carry a token: errors from url.Parse quote the whole URL,
// so they are dropped.
func ParseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("must not be empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("scheme must be http or https")
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	return u, nil
}

// MarshalJSON encodes v without HTML escaping (receivers show '<', '>' and
// '&' as they are) and without a trailing newline. Its errors wrap
// alerting.ErrPermanent: a payload that does not encode never will.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode payload: %w: %w", err, alerting.ErrPermanent)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Request is one notification POST.
type Request struct {
	// URL is the receiver. Required. It is a secret: errors show at most its
	// scheme and host.
	URL *url.URL
	// Body is the JSON payload.
	Body []byte
	// Header holds extra headers (Authorization, signatures), secrets too:
	// they never appear in errors. Post sets Content-Type to
	// application/json and User-Agent to UserAgent unless Header does.
	Header http.Header
	// Now tells the time against which a Retry-After date is read. Nil
	// means time.Now.
	Now func() time.Time
	// OnStatus, if not nil, is called for a non-2xx response with the
	// *alerting.StatusError that alerting.CheckResponse made of it and up
	// to MaxErrorBody bytes of the body; Post returns what it returns. It
	// may adjust se (Discord's retry_after) or wrap it (Slack's error code).
	OnStatus func(se *alerting.StatusError, body []byte) error
}

// Post sends r with c, exactly once, and returns nil for a 2xx answer, the
// *alerting.StatusError of alerting.CheckResponse (through OnStatus) for
// any other, or the transport error with the URL redacted. It honours ctx
// (the error then wraps ctx.Err()) and drains, boundedly, and closes the
// response body.
func Post(ctx context.Context, c *http.Client, r Request) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL.String(), bytes.NewReader(r.Body))
	if err != nil {
		return fmt.Errorf("build request: %w: %w", redact.Error(err), alerting.ErrPermanent)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	resp, err := c.Do(req)
	if err != nil {
		return redact.Error(err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	err = alerting.CheckResponse(resp, now())
	var se *alerting.StatusError
	if err == nil || r.OnStatus == nil || !errors.As(err, &se) {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	return r.OnStatus(se, body)
}

// Truncate shortens s to at most limit characters, counted as UTF-16 code
// units (what JavaScript-based receivers such as Discord count), ending a
// shortened string with "…". Invalid UTF-8 is replaced first.
func Truncate(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf16Len(s) <= limit {
		return s
	}
	if limit <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if n+w > limit-1 { // room for the ellipsis
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// Len returns the length of s as Truncate counts it.
func Len(s string) int { return utf16Len(s) }

// FormatValue formats an alert's value the shortest way that reads back
// exactly: 3, 0.25, 1e+21, NaN, +Inf.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// SortedKeys returns the keys of m in order, so that payloads built from
// labels are the same on every call.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EventTime is the time an alert notification is about: when it resolved
// for a resolved alert, when it started otherwise, falling back to
// UpdatedAt and then to now when those are unset.
func EventTime(a alerting.Alert, now func() time.Time) time.Time {
	if a.State == alerting.Resolved && a.ResolvedAt != nil && !a.ResolvedAt.IsZero() {
		return *a.ResolvedAt
	}
	if a.State != alerting.Resolved && !a.StartsAt.IsZero() {
		return a.StartsAt
	}
	if !a.UpdatedAt.IsZero() {
		return a.UpdatedAt
	}
	return now()
}

// TraceIDs returns a's trace ids as one line, comma-separated, or "" when
// it has none. Trace ids are hex digits: nothing in them needs escaping.
func TraceIDs(a alerting.Alert) string { return strings.Join(a.TraceIDs, ", ") }
