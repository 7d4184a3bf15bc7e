package otelmon

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/listsync/otelmon/alerting"
)

// Bounds on acknowledgement fields.
const (
	maxAckBy      = 128
	maxAckComment = 2048
)

// serveAlerts lists alerts: active ones by default; ?level= and ?state=
// filter (comma-separated, e.g. level=critical,warning); ?all=true adds
// resolved ones.
func (m *Monitor) serveAlerts(w http.ResponseWriter, r *http.Request) {
	if m.alerts == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "alerting is disabled")
		return
	}
	q := r.URL.Query()
	var f alerting.Filter
	for _, v := range splitList(q["level"]) {
		l, err := alerting.ParseLevel(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "level must be info, warning or critical")
			return
		}
		f.Levels = append(f.Levels, l)
	}
	for _, v := range splitList(q["state"]) {
		s, err := alerting.ParseState(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "state must be pending, firing or resolved")
			return
		}
		f.States = append(f.States, s)
	}
	switch all := q.Get("all"); all {
	case "", "false", "0":
	case "true", "1":
		f.IncludeResolved = true
	default:
		writeError(w, http.StatusBadRequest, CodeBadRequest, "all must be true or false")
		return
	}
	alerts := m.alerts.Alerts(f)
	if alerts == nil {
		alerts = []alerting.Alert{}
	}
	writeJSON(w, http.StatusOK, alerts)
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// ackRequest is the optional body of an acknowledgement.
type ackRequest struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
}

func (m *Monitor) serveAcknowledge(w http.ResponseWriter, r *http.Request) {
	if m.alerts == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "alerting is disabled")
		return
	}
	var req ackRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case len(req.By) > maxAckBy || len(req.Comment) > maxAckComment:
		writeError(w, http.StatusBadRequest, CodeBadRequest, "by or comment too long")
		return
	case !utf8.ValidString(req.By) || !utf8.ValidString(req.Comment):
		writeError(w, http.StatusBadRequest, CodeBadRequest, "by and comment must be UTF-8")
		return
	}
	if req.By == "" {
		req.By = "api"
	}
	a, err := m.alerts.Acknowledge(r.PathValue("id"), req.By, req.Comment)
	switch {
	case errors.Is(err, alerting.ErrAlertNotFound):
		writeError(w, http.StatusNotFound, CodeNotFound, "no such alert")
	case errors.Is(err, alerting.ErrAlertResolved):
		writeError(w, http.StatusConflict, CodeConflict, "alert already resolved")
	case err != nil:
		writeError(w, http.StatusInternalServerError, CodeInternal, "acknowledge failed")
	default:
		writeJSON(w, http.StatusOK, a)
	}
}
