package otelmon

import (
	"cmp"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// The silence endpoints, in Alertmanager v2's shape (camelCase JSON):
//
//	POST   /api/v3/monitoring/silences              {"matchers":[{"name","value","isRegex","isEqual"}],"startsAt","endsAt","createdBy","comment"} → 201 {"id"}
//	GET    /api/v3/monitoring/silences              every silence kept, with status.state pending|active|expired
//	GET    /api/v3/monitoring/silences/{id}         one silence
//	DELETE /api/v3/monitoring/silences/{id}         expires it → 200 the silence
//	POST   /api/v3/monitoring/alerts/{id}/silence   {"duration":"2h","comment":"...","createdBy":"..."} → 201 the silence
//	GET    /api/v3/monitoring/maintenance-windows   the configured windows, each with "active"
//
// Bad input is a JSON 400 that says what is wrong, an unknown ID 404, and a
// change the alert state file could not take 503 (it was not kept).

// Bounds on silence text fields.
const (
	maxSilenceBy      = 128
	maxSilenceComment = 2048
)

// silenceRequest is the body of POST /silences.
type silenceRequest struct {
	ID        string             `json:"id"`
	Matchers  []alerting.Matcher `json:"matchers"`
	StartsAt  time.Time          `json:"startsAt"`
	EndsAt    time.Time          `json:"endsAt"`
	CreatedBy string             `json:"createdBy"`
	Comment   string             `json:"comment"`
}

// silenceCreated is the answer to POST /silences.
type silenceCreated struct {
	ID string `json:"id"`
}

// alertSilenceRequest is the body of POST /alerts/{id}/silence.
type alertSilenceRequest struct {
	Duration  string `json:"duration"`
	Comment   string `json:"comment"`
	CreatedBy string `json:"createdBy"`
}

func (m *Monitor) serveSilences(w http.ResponseWriter, _ *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	writeJSON(w, http.StatusOK, m.alerts.Silences())
}

func (m *Monitor) serveMaintenanceWindows(w http.ResponseWriter, _ *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	writeJSON(w, http.StatusOK, m.alerts.MaintenanceWindows())
}

func (m *Monitor) serveSilence(w http.ResponseWriter, r *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	s, ok := m.alerts.Silence(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, "no such silence")
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (m *Monitor) serveCreateSilence(w http.ResponseWriter, r *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	var req silenceRequest
	if !decodeBody(w, r, &req) || !checkSilenceText(w, req.CreatedBy, req.Comment) {
		return
	}
	s, err := m.alerts.CreateSilence(alerting.Silence{
		ID: req.ID, Matchers: req.Matchers, StartsAt: req.StartsAt, EndsAt: req.EndsAt,
		CreatedBy: cmp.Or(req.CreatedBy, "api"), Comment: req.Comment,
	})
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, silenceCreated{ID: s.ID})
}

func (m *Monitor) serveExpireSilence(w http.ResponseWriter, r *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	s, err := m.alerts.ExpireSilence(r.PathValue("id"))
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (m *Monitor) serveSilenceAlert(w http.ResponseWriter, r *http.Request) {
	if !m.alertingOn(w) {
		return
	}
	var req alertSilenceRequest
	if !decodeBody(w, r, &req) || !checkSilenceText(w, req.CreatedBy, req.Comment) {
		return
	}
	if req.Duration == "" {
		writeError(w, http.StatusBadRequest, CodeBadRequest, `duration: required, e.g. "2h" or "30m"`)
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil || d <= 0 {
		writeError(w, http.StatusBadRequest, CodeBadRequest, `duration: must be a positive duration such as "2h" or "30m"`)
		return
	}
	s, err := m.alerts.SilenceAlert(r.PathValue("id"), d, cmp.Or(req.CreatedBy, "api"), req.Comment)
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s)
}

// alertingOn answers 503 and reports false when alerting is disabled.
func (m *Monitor) alertingOn(w http.ResponseWriter) bool {
	if m.alerts == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "alerting is disabled")
		return false
	}
	return true
}

func writeSilenceError(w http.ResponseWriter, err error) {
	status, code, msg := silenceError(err)
	writeError(w, status, code, msg)
}

// checkSilenceText answers 400 naming the fields when createdBy or comment
// is too long or holds characters checkText refuses.
func checkSilenceText(w http.ResponseWriter, by, comment string) bool {
	var bad []string
	for _, err := range []error{
		checkText("createdBy", by, maxSilenceBy, false),
		checkText("comment", comment, maxSilenceComment, true),
	} {
		if err != nil {
			bad = append(bad, err.Error())
		}
	}
	if bad != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.Join(bad, "; "))
		return false
	}
	return true
}

// silenceError maps an error of the engine's silence methods to the API's
// answer: what is wrong with the silence (or too many of them) is 400 with
// every problem named, an unknown silence or alert 404, a change the state
// file could not take 503, since it was not kept and may succeed later.
func silenceError(err error) (status int, code, msg string) {
	var se *alerting.SilenceError
	switch {
	case errors.As(err, &se):
		var parts []string
		for _, e := range leaves(err) {
			if errors.As(e, &se) {
				p := se.Reason
				if se.Field != "" {
					p = se.Field + ": " + p
				}
				if errors.Is(se, alerting.ErrTooManySilences) {
					p = "too many silences: " + p
				}
				parts = append(parts, p)
			}
		}
		return http.StatusBadRequest, CodeBadRequest, strings.Join(parts, "; ")
	case errors.Is(err, alerting.ErrSilenceNotFound):
		return http.StatusNotFound, CodeNotFound, "no such silence"
	case errors.Is(err, alerting.ErrAlertNotFound):
		return http.StatusNotFound, CodeNotFound, "no such alert"
	case errors.Is(err, alerting.ErrNotSaved):
		return http.StatusServiceUnavailable, CodeUnavailable, "the change could not be saved, so it was not kept; try again"
	case errors.Is(err, alerting.ErrShutdown):
		return http.StatusServiceUnavailable, CodeUnavailable, "alerting is shut down"
	default:
		return http.StatusInternalServerError, CodeInternal, "silence change failed"
	}
}

// leaves returns the errors joined in err, flattened, or err alone.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
