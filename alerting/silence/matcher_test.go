package silence

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatchers(t *testing.T) {
	l := labelMap{"service": "imdb", "severity": "critical"}
	for _, tc := range []struct {
		m    Matcher
		want bool
	}{
		{eq("service", "imdb"), true},
		{eq("service", "tmdb"), false},
		{eq("severity", "critical"), true},
		{Matcher{Name: "service", Value: "imdb", Type: MatchNotEqual}, false},
		{Matcher{Name: "source", Value: "imdb", Type: MatchNotEqual}, true}, // absent reads as ""
		{Matcher{Name: "service", Value: "im", Type: MatchRegexp}, false},   // anchored
		{Matcher{Name: "service", Value: "im.*|tmdb", Type: MatchRegexp}, true},
		{Matcher{Name: "severity", Value: "warning|info", Type: MatchNotRegexp}, true},
		{Matcher{Name: "severity", Value: "crit.*", Type: MatchNotRegexp}, false},
	} {
		ms, errs, _ := compileMatchers("m", []Matcher{tc.m}, regexBounds{})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := ms.match(l); got != tc.want {
			t.Errorf("%s on %v = %v, want %v", tc.m, l, got, tc.want)
		}
	}
}

func TestMatcherJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MatchType
	}{
		{`{"name":"s","value":"v"}`, MatchEqual},
		{`{"name":"s","value":"v","isEqual":true,"isRegex":false}`, MatchEqual},
		{`{"name":"s","value":"v","isEqual":false}`, MatchNotEqual},
		{`{"name":"s","value":"v","isRegex":true}`, MatchRegexp},
		{`{"name":"s","value":"v","isRegex":true,"isEqual":false}`, MatchNotRegexp},
	} {
		var m Matcher
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil || m.Type != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.in, m.Type, err, tc.want)
		}
		b, _ := json.Marshal(m)
		var back Matcher
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Errorf("round trip of %s: %s -> %+v", tc.in, b, back)
		}
	}
	// An unknown field is refused, even by a lenient decoder: "regex"
	// for isRegex would otherwise make an equality matcher.
	var ms []Matcher
	if err := json.Unmarshal([]byte(`[{"name":"s","value":"im.*","regex":true}]`), &ms); err == nil || !strings.Contains(err.Error(), `"regex"`) {
		t.Errorf("unknown matcher field: %v, %+v; want an error naming it", err, ms)
	}
}
