// Package strutil holds small string helpers shared by otelmon's packages.
package strutil

import "unicode/utf8"

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
