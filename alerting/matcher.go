package alerting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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
func (m Matcher) MarshalJSON() ([]byte, error) {
	eq := m.Type == MatchEqual || m.Type == MatchRegexp
	return json.Marshal(matcherJSON{Name: m.Name, Value: m.Value, IsRegex: m.Type == MatchRegexp || m.Type == MatchNotRegexp, IsEqual: &eq})
}

// UnmarshalJSON decodes a matcher in Alertmanager v2's shape; a missing
// isEqual means true. A field other than those four is an error, whatever
// the decoder: a misspelt isRegex would otherwise make an equality matcher
// that mutes nothing.
func (m *Matcher) UnmarshalJSON(b []byte) error { return m.decode(b, true) }

// decode decodes a matcher; strict refuses unknown fields.
func (m *Matcher) decode(b []byte, strict bool) error {
	var j matcherJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&j); err != nil {
		return err
	}
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
	*m = Matcher{Name: j.Name, Value: j.Value, Type: t}
	return nil
}

// savedMatcher is a Matcher in the state file, decoded leniently: a field
// a later version adds does not make the file unreadable (and moved aside
// as corrupt) after a downgrade.
type savedMatcher Matcher

// MarshalJSON encodes it as a Matcher.
func (m savedMatcher) MarshalJSON() ([]byte, error) { return Matcher(m).MarshalJSON() }

// UnmarshalJSON decodes it as a Matcher, ignoring unknown fields.
func (m *savedMatcher) UnmarshalJSON(b []byte) error { return (*Matcher)(m).decode(b, false) }

func toSaved(ms []Matcher) []savedMatcher {
	out := make([]savedMatcher, len(ms))
	for i, m := range ms {
		out[i] = savedMatcher(m)
	}
	return out
}

func fromSaved(ms []savedMatcher) []Matcher {
	out := make([]Matcher, len(ms))
	for i, m := range ms {
		out[i] = Matcher(m)
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

// compileMatchers compiles ms; field names the list in errors.
func compileMatchers(field string, ms []Matcher) ([]labelMatcher, []fieldError) {
	out := make([]labelMatcher, 0, len(ms))
	var errs []fieldError
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if m.Name == "" {
			errs = append(errs, fieldError{field: f + ".name", reason: "must not be empty"})
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
