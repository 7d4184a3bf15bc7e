package strutil

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"héllo", 2, "h"}, // é is two bytes: not cut in half
		{"héllo", 3, "hé"},
		{"", 0, ""},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestDisallowed(t *testing.T) {
	for _, tc := range []struct {
		c    rune
		want bool
	}{
		{'a', false},
		{'é', false},
		{' ', false},
		{'\u200d', false},     // zero-width joiner: emoji sequences
		{'\U000E0067', false}, // emoji tag character
		{'\x00', true},
		{'\a', true},
		{'\t', true}, // multiline callers allow it themselves
		{'\n', true},
		{'\x7f', true},
		{'\u0085', true}, // next line, a C1 control
		{'\u2028', true},
		{'\u202e', true}, // right-to-left override
		{'\u200b', true}, // zero-width space
		{'\ufeff', true}, // byte order mark
	} {
		if got := Disallowed(tc.c); got != tc.want {
			t.Errorf("Disallowed(%U) = %v, want %v", tc.c, got, tc.want)
		}
	}
}
