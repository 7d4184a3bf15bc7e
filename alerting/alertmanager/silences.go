package alertmanager

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
	"github.com/listsync/otelmon/alerting/silence"
	"github.com/listsync/otelmon/internal/redact"
)

// The silences of the Alertmanager cluster, through its v2 API:
//
//	POST   {base}/api/v2/silences       a postable silence → {"silenceID": "..."}
//	GET    {base}/api/v2/silences       every silence the cluster keeps
//	DELETE {base}/api/v2/silence/{id}   expires it
//
// The engine calls these methods itself once the notifier is registered
// (see alerting.Engine.CreateSilence): silences made through the Monitor
// are then the cluster's, which replicates them to every member, and its
// other notifiers are muted by them. Each request is one attempt with the
// notifier's client and credentials; the engine tries the next member of
// the cluster when one does not answer. Errors, like the Notify's, never
// hold the URL's path, query or credentials.

// Paths of the v2 API's silence endpoints.
const (
	silencesPath = "/api/v2/silences"
	silencePath  = "/api/v2/silence"
)

// maxCreatedAnswer bounds the answer to POST /silences: {"silenceID": ...}.
const maxCreatedAnswer = 4 << 10

// postableSilence is a silence as POST /api/v2/silences takes it (the v2
// API's postableSilence, without an id: a new silence).
type postableSilence struct {
	Matchers  []silence.MatcherJSON `json:"matchers"`
	StartsAt  time.Time             `json:"startsAt"`
	EndsAt    time.Time             `json:"endsAt"`
	CreatedBy string                `json:"createdBy"`
	Comment   string                `json:"comment"`
}

// gettableSilence is a silence as GET /api/v2/silences lists it (the v2
// API's gettableSilence). Its status is left out: the engine reads the
// state from the times, as Alertmanager computes it. Fields a later
// version adds are ignored.
type gettableSilence struct {
	ID        string                `json:"id"`
	Matchers  []silence.MatcherJSON `json:"matchers"`
	StartsAt  time.Time             `json:"startsAt"`
	EndsAt    time.Time             `json:"endsAt"`
	UpdatedAt time.Time             `json:"updatedAt"`
	CreatedBy string                `json:"createdBy"`
	Comment   string                `json:"comment"`
}

// SilenceLabels returns the labels Notify sends for a (alertname,
// severity, its labels under valid names, then job, instance and the
// external labels): those Alertmanager's silences match, and so those the
// engine matches the cluster's silences against to mute its other
// notifiers.
func (n *Notifier) SilenceLabels(a alerting.Alert) map[string]string { return labels(a, n.external) }

// CreateSilence creates s in Alertmanager (POST /api/v2/silences) and
// returns the ID Alertmanager gave it; s.ID and s.Status are not sent. A
// silence Alertmanager refuses (400) is a *alerting.SilenceError wrapping
// alerting.ErrInvalidSilence with Alertmanager's reason; other failures
// are classified as Notify's are (see alerting.Retryable).
func (n *Notifier) CreateSilence(ctx context.Context, s alerting.Silence) (string, error) {
	p := postableSilence{StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(), CreatedBy: s.CreatedBy, Comment: s.Comment}
	for _, m := range s.Matchers {
		p.Matchers = append(p.Matchers, m.JSON())
	}
	body, err := notifyhttp.MarshalJSON(p)
	if err != nil {
		return "", fmt.Errorf("alertmanager: silence: %w", err)
	}
	resp, err := n.request(ctx, http.MethodPost, n.base.JoinPath(silencesPath), body)
	if err != nil {
		return "", err
	}
	defer closeBody(resp)
	if err := n.check(resp); err != nil {
		var se *alerting.StatusError
		if errors.As(err, &se) && se.StatusCode == http.StatusBadRequest {
			return "", &alerting.SilenceError{Reason: "Alertmanager refused it: " + reasonOf(err), Err: alerting.ErrInvalidSilence}
		}
		return "", err
	}
	var created struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCreatedAnswer)).Decode(&created); err != nil || created.SilenceID == "" {
		return "", errors.New("alertmanager: silence: answer without a silenceID")
	}
	return created.SilenceID, nil
}

// ListSilences reads every silence Alertmanager keeps (GET
// /api/v2/silences) and hands each to each, in the order listed, without
// its Status; it stops at the first error each returns, and returns it.
// It reads at most maxBytes of the answer: a longer one is an error, as
// is one that is not a JSON array of silences. The answer is decoded as it
// is read, so what it costs in memory is what each keeps.
func (n *Notifier) ListSilences(ctx context.Context, maxBytes int64, each func(alerting.Silence) error) error {
	resp, err := n.request(ctx, http.MethodGet, n.base.JoinPath(silencesPath), nil)
	if err != nil {
		return err
	}
	defer closeBody(resp)
	if err := n.check(resp); err != nil {
		return err
	}
	body := &io.LimitedReader{R: resp.Body, N: maxBytes}
	malformed := func(err error) error {
		if body.N <= 0 {
			return fmt.Errorf("alertmanager: silences: the answer is larger than %d bytes", maxBytes)
		}
		return fmt.Errorf("alertmanager: silences: malformed answer: %w", err)
	}
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return malformed(cmp.Or(err, errors.New("not an array")))
	}
	for dec.More() {
		var g gettableSilence
		if err := dec.Decode(&g); err != nil {
			return malformed(err)
		}
		s := alerting.Silence{ID: g.ID, StartsAt: g.StartsAt, EndsAt: g.EndsAt, UpdatedAt: g.UpdatedAt, CreatedBy: g.CreatedBy, Comment: g.Comment}
		for _, m := range g.Matchers {
			s.Matchers = append(s.Matchers, m.Matcher())
		}
		if err := each(s); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	return nil
}

// ExpireSilence expires the silence id in Alertmanager (DELETE
// /api/v2/silence/{id}); expiring an expired silence succeeds. An ID
// Alertmanager does not know is an error wrapping
// alerting.ErrSilenceNotFound: it answers 404 (or, before version 0.27,
// 500 "silence not found"), and 422 to an ID that is not a UUID, which no
// silence of its has. Other failures are classified as Notify's are.
func (n *Notifier) ExpireSilence(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty ID", alerting.ErrSilenceNotFound)
	}
	resp, err := n.request(ctx, http.MethodDelete, n.base.JoinPath(silencePath, id), nil)
	if err != nil {
		return err
	}
	defer closeBody(resp)
	err = n.check(resp)
	var se *alerting.StatusError
	if errors.As(err, &se) {
		switch {
		case se.StatusCode == http.StatusNotFound, se.StatusCode == http.StatusUnprocessableEntity,
			se.StatusCode == http.StatusInternalServerError && strings.Contains(reasonOf(err), "not found"):
			return fmt.Errorf("%w: %q", alerting.ErrSilenceNotFound, id)
		}
	}
	return err
}

// request sends one request with the notifier's client and credentials.
// Its transport error has the URL redacted.
func (n *Notifier) request(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: build request: %w: %w", redact.Error(err), alerting.ErrPermanent)
	}
	for k, vs := range n.header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", notifyhttp.UserAgent)
	resp, err := n.endpoint.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", redact.Error(err))
	}
	return resp, nil
}

// check returns nil for a 2xx answer, or its *alerting.StatusError with
// Alertmanager's reason added as Notify's errors have it.
func (n *Notifier) check(resp *http.Response) error {
	err := alerting.CheckResponse(resp, n.endpoint.Now())
	var se *alerting.StatusError
	if !errors.As(err, &se) {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, notifyhttp.MaxErrorBody))
	if r := reason(body); r != "" {
		return &reasonError{err: fmt.Errorf("alertmanager: %w (%s)", se, r), reason: r}
	}
	return fmt.Errorf("alertmanager: %w", se)
}

// reasonError is an error answer with Alertmanager's reason.
type reasonError struct {
	err    error
	reason string
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

// reasonOf returns Alertmanager's reason in err, or its text.
func reasonOf(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return err.Error()
}

// reason returns the reason an error answer gives, shortened: the v2 API
// answers with a JSON string, or an object with a message.
func reason(body []byte) string {
	var r string
	if json.Unmarshal(body, &r) != nil {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &obj) != nil {
			return ""
		}
		r = obj.Message
	}
	return notifyhttp.Truncate(strings.TrimSpace(r), 200)
}

// closeBody drains a bounded part of the body, so that the connection can
// be reused, and closes it.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
