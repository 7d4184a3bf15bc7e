package alerting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/listsync/otelmon/internal/strutil"
)

// MatchType is how a Matcher compares a label's value. The zero value is
// MatchEqual.
type MatchType int

// Match types, as Alertmanager's: =, !=, =~ and !~.
const (
	MatchEqual MatchType = iota
	MatchNotEqual
	MatchRegexp
	MatchNotRegexp
)

// String returns "=", "!=", "=~" or "!~".
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return fmt.Sprintf("MatchType(%d)", int(t))
}

// Matcher selects alerts by one label. Names are the alert's labels
// (source, service, ...) plus alertname, the rule's name, and severity, the
// level ("info", "warning", "critical"), as the Alertmanager notifier sends
// them; alertname and severity win over labels of the same name. A label
// the alert does not have reads as "", as in Prometheus: service!="plex"
// matches an alert without a service label. A regular expression is
// anchored at both ends (service=~"imdb|tmdb").
//
// In JSON it is Alertmanager v2's shape: {"name", "value", "isRegex",
// "isEqual"}; isEqual defaults to true and isRegex to false.
type Matcher struct {
	Name  string
	Value string
	Type  MatchType
}

// String returns the matcher as Alertmanager writes it, e.g.
// service="imdb".
func (m Matcher) String() string {
	return m.Name + m.Type.String() + strconv.Quote(m.Value)
}

type matcherJSON struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

// MarshalJSON encodes the matcher in Alertmanager v2's shape.
func (m Matcher) MarshalJSON() ([]byte, error) { return json.Marshal(m.toJSON()) }

func (m Matcher) toJSON() matcherJSON {
	eq := m.Type == MatchEqual || m.Type == MatchRegexp
	return matcherJSON{Name: m.Name, Value: m.Value, IsRegex: m.Type == MatchRegexp || m.Type == MatchNotRegexp, IsEqual: &eq}
}

// matcher returns the Matcher j encodes; a missing isEqual means true.
func (j matcherJSON) matcher() Matcher {
	eq := j.IsEqual == nil || *j.IsEqual
	t := MatchEqual
	switch {
	case j.IsRegex && eq:
		t = MatchRegexp
	case j.IsRegex:
		t = MatchNotRegexp
	case !eq:
		t = MatchNotEqual
	}
	return Matcher{Name: j.Name, Value: j.Value, Type: t}
}

// UnmarshalJSON decodes a matcher in Alertmanager v2's shape; a missing
// isEqual means true. A field other than those four is an error, whatever
// the decoder: a misspelt isRegex would otherwise make an equality matcher
// that mutes nothing.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var j matcherJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*m = j.matcher()
	return nil
}

// savedMatcher is a Matcher in the state file, in the same shape, decoded
// leniently: a field a later version adds does not make the file
// unreadable (and moved aside as corrupt) after a downgrade. It is a plain
// struct, encoded without a MarshalJSON method: the state file, silences
// included, is written at every change.
type savedMatcher = matcherJSON

func toSaved(ms []Matcher) []savedMatcher {
	out := make([]savedMatcher, len(ms))
	for i, m := range ms {
		out[i] = m.toJSON()
	}
	return out
}

func fromSaved(ms []savedMatcher) []Matcher {
	out := make([]Matcher, len(ms))
	for i, m := range ms {
		out[i] = m.matcher()
	}
	return out
}

// labelMatcher is a Matcher ready to match.
type labelMatcher struct {
	Matcher
	re *regexp.Regexp // MatchRegexp, MatchNotRegexp
}

func (m *labelMatcher) matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// compileMatchers compiles ms; field names the list in errors. Names and
// values must be UTF-8 without the characters strutil.Disallowed refuses.
func compileMatchers(field string, ms []Matcher) ([]labelMatcher, []fieldError) {
	out := make([]labelMatcher, 0, len(ms))
	var errs []fieldError
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		bad := false
		for _, part := range []struct{ name, s string }{{"name", m.Name}, {"value", m.Value}} {
			if reason := checkMatcherText(part.s); reason != "" {
				errs = append(errs, fieldError{field: f + "." + part.name, reason: reason})
				bad = true
			}
		}
		if m.Name == "" {
			errs = append(errs, fieldError{field: f + ".name", reason: "must not be empty"})
			continue
		}
		if bad {
			continue
		}
		c := labelMatcher{Matcher: m}
		switch m.Type {
		case MatchEqual, MatchNotEqual:
		case MatchRegexp, MatchNotRegexp:
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err != nil {
				errs = append(errs, fieldError{field: f + ".value", value: strconv.Quote(m.Value), reason: "invalid regular expression: " + err.Error()})
				continue
			}
			c.re = re
		default:
			errs = append(errs, fieldError{field: f + ".type", value: m.Type.String(), reason: "unknown match type"})
			continue
		}
		out = append(out, c)
	}
	return out, errs
}

// checkMatcherText returns why a matcher's name or value cannot be kept,
// or "".
func checkMatcherText(s string) string {
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	for _, c := range s {
		if strutil.Disallowed(c) {
			return fmt.Sprintf("character %U not allowed (control or invisible formatting character)", c)
		}
	}
	return ""
}

// matchesAlert reports whether every matcher matches a's labels.
func matchesAlert(ms []labelMatcher, a *Alert) bool {
	for i := range ms {
		if !ms[i].matches(alertLabel(a, ms[i].Name)) {
			return false
		}
	}
	return true
}

// alertLabel returns the value of a's label name as the Alertmanager
// notifier sends it: alertname and severity first, then a's own labels.
func alertLabel(a *Alert, name string) string {
	switch name {
	case "alertname":
		return a.Rule
	case "severity":
		return a.Level.String()
	}
	return a.Labels[name]
}
