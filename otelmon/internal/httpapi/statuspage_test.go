package httpapi

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

// The page names every API path relative to itself: an absolute one would
// leave a prefix the page is served under.
func TestStatusPageRelativePaths(t *testing.T) {
	abs := regexp.MustCompile(`["'\x60]/(api|metrics)\b`)
	if loc := abs.FindIndex(statusPage); loc != nil {
		t.Errorf("status page names an absolute path: %q", statusPage[loc[0]:min(loc[1]+30, len(statusPage))])
	}
	if !strings.Contains(string(statusPage), `"api/v3/monitoring/status"`) {
		t.Error("status page does not read api/v3/monitoring/status relative to itself")
	}
}
