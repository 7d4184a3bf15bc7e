package silence

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

// Labels is what matchers read of an alert: the value of one of its
// labels, "" for a label it does not have. Package alerting reads an
// alert's labels plus alertname, the rule's name, and severity, its level.
type Labels interface {
	Get(name string) string
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

// MatcherJSON is a Matcher in Alertmanager v2's JSON shape, as a plain
// struct: a file format that holds matchers (alerting's state file) encodes
// it without a MarshalJSON call and decodes it leniently, so that a field
// a later version adds does not make the file unreadable after a
// downgrade. Matcher's own JSON methods use the same shape.
type MatcherJSON struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

// JSON returns the matcher in Alertmanager v2's shape, isEqual set.
func (m Matcher) JSON() MatcherJSON {
	eq := m.Type == MatchEqual || m.Type == MatchRegexp
	return MatcherJSON{Name: m.Name, Value: m.Value, IsRegex: m.Type == MatchRegexp || m.Type == MatchNotRegexp, IsEqual: &eq}
}

// Matcher returns the Matcher j encodes; a missing isEqual means true.
func (j MatcherJSON) Matcher() Matcher {
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

// MarshalJSON encodes the matcher in Alertmanager v2's shape.
func (m Matcher) MarshalJSON() ([]byte, error) { return json.Marshal(m.JSON()) }

// UnmarshalJSON decodes a matcher in Alertmanager v2's shape; a missing
// isEqual means true. A field other than those four is an error, whatever
// the decoder: a misspelt isRegex would otherwise make an equality matcher
// that mutes nothing.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var j MatcherJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*m = j.Matcher()
	return nil
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

// matchers is a list of matchers compiled: it selects what all of them
// match.
type matchers []labelMatcher

// match reports whether every matcher matches l.
func (ms matchers) match(l Labels) bool {
	for i := range ms {
		if !ms[i].matches(l.Get(ms[i].Name)) {
			return false
		}
	}
	return true
}

// matchesEmpty reports whether every matcher matches the empty string.
func (ms matchers) matchesEmpty() bool {
	for i := range ms {
		if !ms[i].matches("") {
			return false
		}
	}
	return true
}

// compileMatchers compiles ms, their regular expressions held to b (see
// regexBounds); field names the list in errors. Names and values must be
// UTF-8 without the characters strutil.Disallowed refuses. It returns what
// makes ms invalid, or else what exceeds b; past a bound nothing is
// compiled into a *regexp.Regexp.
func compileMatchers(field string, ms []Matcher, b regexBounds) (matchers, []*FieldError, []boundError) {
	var errs []*FieldError
	var berrs []boundError
	parsed := make([]bool, len(ms))
	memory := 0
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if m.Name == "" {
			errs = append(errs, &FieldError{Field: f + ".name", Reason: "must not be empty"})
		}
		for _, part := range []struct{ name, s string }{{"name", m.Name}, {"value", m.Value}} {
			if reason := checkMatcherText(part.s); reason != "" {
				errs = append(errs, &FieldError{Field: f + "." + part.name, Reason: reason})
			}
		}
		switch m.Type {
		case MatchEqual, MatchNotEqual:
		case MatchRegexp, MatchNotRegexp:
			if b.maxLength > 0 && len(m.Value) > b.maxLength {
				berrs = append(berrs, boundError{field: f + ".value", limit: "MaxRegexLength",
					reason: fmt.Sprintf("the regular expression is %d bytes, longer than the maximum %d", len(m.Value), b.maxLength)})
				continue
			}
			prog, err := parseRegex(m.Value)
			if err != nil {
				errs = append(errs, &FieldError{Field: f + ".value", Value: strconv.Quote(m.Value), Reason: "invalid regular expression: " + err.Error()})
				continue
			}
			parsed[i] = true
			if b.maxMemory > 0 {
				memory += regexMemory(anchor(m.Value), prog)
			}
		default:
			errs = append(errs, &FieldError{Field: f + ".type", Value: m.Type.String(), Reason: "unknown match type"})
		}
	}
	if b.maxMemory > 0 && memory > b.maxMemory {
		berrs = append(berrs, boundError{field: field, limit: "MaxRegexMemory",
			reason: fmt.Sprintf("compiled, the regular expressions would take about %d bytes (repetitions such as a{100} and Unicode classes such as \\pL take far more than their text), more than the maximum %d", memory, b.maxMemory)})
	}
	if errs != nil || berrs != nil {
		return nil, errs, berrs
	}
	out := make(matchers, len(ms))
	for i, m := range ms {
		out[i] = labelMatcher{Matcher: m}
		if !parsed[i] {
			continue
		}
		re, err := regexp.Compile(anchor(m.Value)) // it parsed: this compiles it again, the same way
		if err != nil {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("%s[%d].value", field, i), Value: strconv.Quote(m.Value), Reason: "invalid regular expression: " + err.Error()})
		}
		out[i].re = re
	}
	if errs != nil {
		return nil, errs, nil
	}
	return out, nil, nil
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
