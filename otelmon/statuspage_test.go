package otelmon

import (
	"regexp"
	"strings"
	"testing"
)

// The status page is one file with everything in it, and renders what the
// API says as text: no text from the API is ever parsed as HTML, and
// nothing is loaded from elsewhere.
func TestStatusPageSelfContained(t *testing.T) {
	page := string(statusPage)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "DOMParser", "eval("} {
		if strings.Contains(page, bad) {
			t.Errorf("the status page uses %s: it must render through textContent", bad)
		}
	}
	// No script, style sheet, image or font from another place.
	external := regexp.MustCompile(`(?i)(<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?(https?:)?//|src=["']?(https?:)?//)`)
	if loc := external.FindStringIndex(page); loc != nil {
		t.Errorf("the status page loads something from elsewhere: %q", page[loc[0]:min(loc[1]+40, len(page))])
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("the status page has %d scripts, want its one inline script", n)
	}
}
