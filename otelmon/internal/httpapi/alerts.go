package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/strutil"
)

// Bounds on acknowledgement fields.
const (
	MaxAckBy      = 128
	MaxAckComment = 2048
)

// serveAlerts lists alerts: active ones by default; ?level= and ?state=
// filter (comma-separated, e.g. level=critical,warning); ?all=true adds
// resolved ones.
func (a *api) serveAlerts(w http.ResponseWriter, r *http.Request) {
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
	alerts := a.cfg.Alerts.Alerts(f)
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

// ackRequest is the optional body of an acknowledgement: {"by",
// "comment"} (see decodeFields).
type ackRequest struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
}

// decode reads the request from a JSON body, naming the field of each
// problem, as the silence endpoints do.
func (req *ackRequest) decode(raw json.RawMessage) error {
	return decodeFields(raw, "", map[string]any{"by": &req.By, "comment": &req.Comment})
}

func (a *api) serveAcknowledge(w http.ResponseWriter, r *http.Request) {
	var req ackRequest
	if !decodeFieldsBody(w, r, req.decode) {
		return
	}
	var bad []string
	for _, err := range []error{
		checkText("by", req.By, MaxAckBy, false),
		checkText("comment", req.Comment, MaxAckComment, true),
	} {
		if err != nil {
			bad = append(bad, err.Error())
		}
	}
	if bad != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.Join(bad, "; "))
		return
	}
	if req.By == "" {
		req.By = "api"
	}
	acked, err := a.cfg.Alerts.Acknowledge(r.PathValue("id"), req.By, req.Comment)
	if err != nil {
		status, code, msg := ackError(err)
		writeError(w, status, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, acked)
}

// ackError maps an error of alerting.Engine.Acknowledge to the API's
// answer (see engineError); acknowledging a resolved alert is 409.
func ackError(err error) (status int, code, msg string) {
	if errors.Is(err, alerting.ErrAlertResolved) {
		return http.StatusConflict, CodeConflict, "alert already resolved"
	}
	return engineError(err, "the acknowledgement")
}

// engineError maps what every change through the alert engine may fail
// with to the API's answer: an unknown alert is 404, a change the state
// file could not take 503 (it was not kept and may succeed later), as is
// an engine shut down; anything else 500. change names what failed.
func engineError(err error, change string) (status int, code, msg string) {
	switch {
	case errors.Is(err, alerting.ErrAlertNotFound):
		return http.StatusNotFound, CodeNotFound, "no such alert"
	case errors.Is(err, alerting.ErrNotSaved):
		return http.StatusServiceUnavailable, CodeUnavailable, change + " could not be saved, so it was not kept; try again"
	case errors.Is(err, alerting.ErrShutdown):
		return http.StatusServiceUnavailable, CodeUnavailable, "alerting is shut down"
	default:
		return http.StatusInternalServerError, CodeInternal, change + " failed"
	}
}

// checkText returns an error naming field when s is too long, not UTF-8,
// or holds a character that would let it pass for something else once
// shown or logged (strutil.Disallowed: control, separator and invisible
// formatting characters; multiline text may hold tabs and newlines).
func checkText(field, s string, maxLen int, multiline bool) error {
	if len(s) > maxLen {
		return fmt.Errorf("%s: longer than %d bytes", field, maxLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not UTF-8", field)
	}
	for _, c := range s {
		if multiline && (c == '\t' || c == '\n') {
			continue
		}
		if strutil.Disallowed(c) {
			return fmt.Errorf("%s: character %U not allowed (control or invisible formatting character)", field, c)
		}
	}
	return nil
}
