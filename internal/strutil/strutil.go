// Package strutil holds small string helpers shared by otelmon's packages.
package strutil

import (
	"unicode"
	"unicode/utf8"
)

// Truncate cuts s to at most n bytes, on a rune boundary so that valid
// UTF-8 stays valid.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Disallowed reports whether c is a character that would let text pass for
// something else once shown or logged: a control character (Unicode
// category Cc), a line or paragraph separator, or an invisible formatting
// character (category Cf: bidirectional overrides and isolates, zero-width
// spaces, the byte order mark, ...). Zero-width joiners and non-joiners
// and emoji tag characters, which emoji and some scripts need, are
// allowed. Callers that take multiline text allow tabs and newlines
// themselves.
func Disallowed(c rune) bool {
	switch {
	case c == '\u200c', c == '\u200d': // zero-width non-joiner and joiner
		return false
	case c >= 0xE0020 && c <= 0xE007F: // tag characters of emoji flags
		return false
	case c == '\u2028', c == '\u2029': // line and paragraph separators
		return true
	}
	return unicode.Is(unicode.Cc, c) || unicode.Is(unicode.Cf, c)
}
