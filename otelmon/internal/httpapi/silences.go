package httpapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
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
// Bad input is a JSON 400 that says what is wrong (a silence beyond a bound
// of Config.Silences names the bound), an unknown ID 404, and a change the
// alert state file could not take 503 (it was not kept).
//
// When the engine sends alerts to Alertmanager, the silences are the
// Alertmanager cluster's (see alerting.Engine.CreateSilence): the answers
// keep their shape, a change no member of the cluster answered is 503,
// and GET /silences says where its list comes from in headers:
//
//	X-Silences-Source: alertmanager          (absent for in-process silences)
//	X-Silences-Fetched-At: <RFC 3339>        when the list was last fetched
//	X-Silences-Stale-Since: <RFC 3339>       since when fetching fails, if it does

// Bounds on silence text fields.
const (
	maxSilenceBy      = 128
	maxSilenceComment = 2048
)

// silenceRequest is the body of POST /silences: {"id", "matchers",
// "startsAt", "endsAt", "createdBy", "comment"} (see decodeFields).
type silenceRequest struct {
	ID        string
	Matchers  []alerting.Matcher
	StartsAt  time.Time
	EndsAt    time.Time
	CreatedBy string
	Comment   string
}

// decode reads the request from a JSON body, naming the field of each
// problem: matchers one by one, as "matchers[i].name".
func (req *silenceRequest) decode(raw json.RawMessage) error {
	var ms []json.RawMessage
	errs := []error{decodeFields(raw, "", map[string]any{
		"id": &req.ID, "matchers": &ms, "startsAt": &req.StartsAt, "endsAt": &req.EndsAt,
		"createdBy": &req.CreatedBy, "comment": &req.Comment,
	})}
	for i, m := range ms {
		var name, value string
		var isRegex bool
		var isEqual *bool
		prefix := fmt.Sprintf("matchers[%d].", i)
		err := decodeFields(m, prefix, map[string]any{"name": &name, "value": &value, "isRegex": &isRegex, "isEqual": &isEqual})
		if string(m) == "null" {
			err = fmt.Errorf("matchers[%d]: must be an object", i)
		}
		if err == nil {
			// The shape is right: the matcher's own decoding maps it.
			var am alerting.Matcher
			if err = json.Unmarshal(m, &am); err == nil {
				req.Matchers = append(req.Matchers, am)
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// silenceCreated is the answer to POST /silences.
type silenceCreated struct {
	ID string `json:"id"`
}

// alertSilenceRequest is the body of POST /alerts/{id}/silence:
// {"duration", "comment", "createdBy"}.
type alertSilenceRequest struct {
	Duration  string
	Comment   string
	CreatedBy string
}

func (req *alertSilenceRequest) decode(raw json.RawMessage) error {
	return decodeFields(raw, "", map[string]any{"duration": &req.Duration, "comment": &req.Comment, "createdBy": &req.CreatedBy})
}

// decodeFields decodes the JSON object raw field by field into the targets
// fields names, so that each problem names its field (prefix+name): a
// field not in fields, a value of the wrong type, a time that is not RFC
// 3339. Names are matched exactly. A null object or value leaves the
// targets alone. The problems are joined, in field name order.
func decodeFields(raw json.RawMessage, prefix string, fields map[string]any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s: must be an object", cmp.Or(strings.TrimSuffix(prefix, "."), "body"))
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		target, ok := fields[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s%s: unknown field", prefix, name))
		case json.Unmarshal(obj[name], target) != nil:
			errs = append(errs, fmt.Errorf("%s%s: must be %s", prefix, name, jsonKind(reflect.TypeOf(target).Elem())))
		}
	}
	return errors.Join(errs...)
}

// jsonKind describes the JSON values a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return `an RFC 3339 time such as "2025-03-01T12:00:00Z"`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a number"
}

// Headers of GET /silences that say where its list comes from.
const (
	headerSilencesSource     = "X-Silences-Source"
	headerSilencesFetchedAt  = "X-Silences-Fetched-At"
	headerSilencesStaleSince = "X-Silences-Stale-Since"
)

func (a *api) serveSilences(w http.ResponseWriter, _ *http.Request) {
	if src := alerting.SilenceSourceOf(a.cfg.Alerts); src.Alertmanager {
		h := w.Header()
		h.Set(headerSilencesSource, "alertmanager")
		for name, t := range map[string]time.Time{headerSilencesFetchedAt: src.FetchedAt, headerSilencesStaleSince: src.StaleSince} {
			if !t.IsZero() {
				h.Set(name, t.UTC().Format(time.RFC3339))
			}
		}
	}
	writeJSON(w, http.StatusOK, a.cfg.Alerts.Silences())
}

func (a *api) serveMaintenanceWindows(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.cfg.Alerts.MaintenanceWindows())
}

func (a *api) serveSilence(w http.ResponseWriter, r *http.Request) {
	s, ok := a.cfg.Alerts.Silence(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, "no such silence")
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) serveCreateSilence(w http.ResponseWriter, r *http.Request) {
	var req silenceRequest
	if !decodeFieldsBody(w, r, req.decode) || !checkSilenceText(w, req.CreatedBy, req.Comment) {
		return
	}
	s, err := a.cfg.Alerts.CreateSilence(alerting.Silence{
		ID: req.ID, Matchers: req.Matchers, StartsAt: req.StartsAt, EndsAt: req.EndsAt,
		CreatedBy: cmp.Or(req.CreatedBy, "api"), Comment: req.Comment,
	})
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, silenceCreated{ID: s.ID})
}

func (a *api) serveExpireSilence(w http.ResponseWriter, r *http.Request) {
	s, err := a.cfg.Alerts.ExpireSilence(r.PathValue("id"))
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) serveSilenceAlert(w http.ResponseWriter, r *http.Request) {
	var req alertSilenceRequest
	if !decodeFieldsBody(w, r, req.decode) || !checkSilenceText(w, req.CreatedBy, req.Comment) {
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
	s, err := a.cfg.Alerts.SilenceAlert(r.PathValue("id"), d, cmp.Or(req.CreatedBy, "api"), req.Comment)
	if err != nil {
		writeSilenceError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s)
}

// decodeFieldsBody reads an optional JSON body as decodeBody does (413,
// 400 for what is not one JSON value) and hands it to decode; a problem
// decode names is a 400 that says which fields are wrong.
func decodeFieldsBody(w http.ResponseWriter, r *http.Request, decode func(json.RawMessage) error) bool {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return false
	}
	if raw == nil {
		return true // no body
	}
	if err := decode(raw); err != nil {
		var parts []string
		for _, e := range leaves(err) {
			parts = append(parts, e.Error())
		}
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.Join(parts, "; "))
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
// answer: what is wrong with the silence (too large, or too many of them)
// is 400 with every problem named, and the bound exceeded, e.g.
// "(SilenceConfig.MaxRegexLength)"; an unknown silence or alert 404, a
// change the state file could not take 503, since it was not kept and may
// succeed later, as is one the Alertmanager cluster did not answer (the
// engine logs what each member failed with; the answer names none).
func silenceError(err error) (status int, code, msg string) {
	var se *alerting.SilenceError
	switch {
	case errors.Is(err, alerting.ErrSilencesUnavailable):
		return http.StatusServiceUnavailable, CodeUnavailable,
			"Alertmanager, which keeps the silences, did not answer (no member of the cluster could be reached): nothing was changed; try again"
	case errors.As(err, &se):
		var parts []string
		for _, e := range leaves(err) {
			if errors.As(e, &se) {
				p := se.ReasonWithLimit()
				if se.Field != "" {
					p = se.Field + ": " + p
				}
				switch {
				case errors.Is(se, alerting.ErrTooManySilences):
					p = "too many silences: " + p
				case errors.Is(se, alerting.ErrSilenceTooLarge):
					p = "silence too large: " + p
				}
				parts = append(parts, p)
			}
		}
		return http.StatusBadRequest, CodeBadRequest, strings.Join(parts, "; ")
	case errors.Is(err, alerting.ErrSilenceNotFound):
		return http.StatusNotFound, CodeNotFound, "no such silence"
	}
	return engineError(err, "the silence change")
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
