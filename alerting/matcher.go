package alerting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
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
	out, errs, _ := compileMatchersBounded(field, ms, regexBounds{})
	return out, errs
}

// regexBounds bounds the regular expressions of one list of matchers. A
// zero field bounds nothing.
type regexBounds struct {
	maxLength int // bytes of one expression, as written
	maxMemory int // estimated bytes of the list's expressions compiled (regexMemory)
}

// boundError is a fieldError about a bound: limit names the SilenceConfig
// field that sets it.
type boundError struct {
	fieldError
	limit string
}

// compileMatchersBounded is compileMatchers with the regular expressions
// held to b: an expression longer than b.maxLength, or expressions that
// would take more than b.maxMemory compiled, are refused with boundErrors,
// before any of them is compiled into a *regexp.Regexp.
func compileMatchersBounded(field string, ms []Matcher, b regexBounds) ([]labelMatcher, []fieldError, []boundError) {
	var errs []fieldError
	var berrs []boundError
	parsed := make([]bool, len(ms))
	memory := 0
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if m.Name == "" {
			errs = append(errs, fieldError{field: f + ".name", reason: "must not be empty"})
		}
		for _, part := range []struct{ name, s string }{{"name", m.Name}, {"value", m.Value}} {
			if reason := checkMatcherText(part.s); reason != "" {
				errs = append(errs, fieldError{field: f + "." + part.name, reason: reason})
			}
		}
		switch m.Type {
		case MatchEqual, MatchNotEqual:
		case MatchRegexp, MatchNotRegexp:
			if b.maxLength > 0 && len(m.Value) > b.maxLength {
				berrs = append(berrs, boundError{fieldError{field: f + ".value",
					reason: fmt.Sprintf("the regular expression is %d bytes, longer than the maximum %d", len(m.Value), b.maxLength)}, "MaxRegexLength"})
				continue
			}
			prog, err := parseRegex(m.Value)
			if err != nil {
				errs = append(errs, fieldError{field: f + ".value", value: strconv.Quote(m.Value), reason: "invalid regular expression: " + err.Error()})
				continue
			}
			parsed[i] = true
			if b.maxMemory > 0 {
				memory += regexMemory(anchor(m.Value), prog)
			}
		default:
			errs = append(errs, fieldError{field: f + ".type", value: m.Type.String(), reason: "unknown match type"})
		}
	}
	if b.maxMemory > 0 && memory > b.maxMemory {
		berrs = append(berrs, boundError{fieldError{field: field,
			reason: fmt.Sprintf("compiled, the regular expressions would take about %d bytes (repetitions such as a{100} and Unicode classes such as \\pL take far more than their text), more than the maximum %d", memory, b.maxMemory)}, "MaxRegexMemory"})
	}
	if errs != nil || berrs != nil {
		return nil, errs, berrs
	}
	out := make([]labelMatcher, len(ms))
	for i, m := range ms {
		out[i] = labelMatcher{Matcher: m}
		if !parsed[i] {
			continue
		}
		re, err := regexp.Compile(anchor(m.Value)) // it parsed: this compiles it again, the same way
		if err != nil {
			errs = append(errs, fieldError{field: fmt.Sprintf("%s[%d].value", field, i), value: strconv.Quote(m.Value), reason: "invalid regular expression: " + err.Error()})
		}
		out[i].re = re
	}
	if errs != nil {
		return nil, errs, nil
	}
	return out, nil, nil
}

// anchor anchors a matcher's regular expression at both ends.
func anchor(v string) string { return "^(?:" + v + ")$" }

// parseRegex parses and compiles a matcher's regular expression, anchored,
// as regexp.Compile does: the program tells what the *regexp.Regexp will
// cost before it is made.
func parseRegex(v string) (*syntax.Prog, error) {
	re, err := syntax.Parse(anchor(v), syntax.Perl)
	if err != nil {
		return nil, err
	}
	return syntax.Compile(re.Simplify())
}

// regexMemory estimates the heap, in bytes, that the *regexp.Regexp of
// expr, whose program is prog, keeps: its program, the rune ranges of its
// character classes, the one-pass copy the regexp package makes of a
// small anchored program (where every instruction that branches or passes
// through keeps the ranges of the runes that may follow it), and the
// expression itself. It errs high: measured on expressions of many shapes
// (literals, alternations, classes, Unicode classes, repetitions,
// optional and starred pieces, groups), the heap they keep is between 0.2
// and 0.9 times the estimate (TestRegexMemoryEstimate).
func regexMemory(expr string, prog *syntax.Prog) int {
	n := 1024 + 2*len(expr)
	for i := range prog.Inst {
		n += 160
		switch in := &prog.Inst[i]; in.Op {
		case syntax.InstRune:
			n += 192 + 8*len(in.Rune)
		case syntax.InstAlt, syntax.InstAltMatch:
			n += 192
		}
	}
	if len(prog.Inst) < onePassMaxInst {
		n += 8 * onePassRunes(prog)
	}
	return n
}

// onePassMaxInst is the size from which the regexp package makes no
// one-pass copy of a program.
const onePassMaxInst = 1000

// onePassRunes returns how many runes the one-pass copy of prog would
// keep, were prog one-pass: each class, alternation and instruction that
// passes input through (a group, an empty-width assertion) keeps the
// ranges of the runes that may come next.
func onePassRunes(prog *syntax.Prog) int {
	const unknown, visiting = -1, -2
	next := make([]int, len(prog.Inst))
	for i := range next {
		next[i] = unknown
	}
	var runesAt func(pc uint32) int
	runesAt = func(pc uint32) int {
		switch next[pc] {
		case unknown:
		case visiting:
			return 0 // an empty loop: no rune leads on
		default:
			return next[pc]
		}
		next[pc] = visiting
		in := &prog.Inst[pc]
		r := 0
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1:
			r = max(len(in.Rune), 2)
			if len(in.Rune) == 1 && syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				r = 8 // the rune and its case folds, each a range
			}
		case syntax.InstRuneAny:
			r = 2
		case syntax.InstRuneAnyNotNL:
			r = 4
		case syntax.InstAlt, syntax.InstAltMatch:
			r = runesAt(in.Out) + runesAt(in.Arg)
		case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			r = runesAt(in.Out)
		}
		next[pc] = r
		return r
	}
	total := 0
	for pc := range prog.Inst {
		switch prog.Inst[pc].Op {
		case syntax.InstRune, syntax.InstAlt, syntax.InstAltMatch, syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			total += runesAt(uint32(pc))
		}
	}
	return total
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
