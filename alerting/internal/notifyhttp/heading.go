package notifyhttp

import "github.com/listsync/otelmon/alerting"

// The colours of Heading, as 0xRRGGBB.
const (
	colorInfo     = 0x3498DB // blue
	colorWarning  = 0xF39C12 // amber
	colorCritical = 0xE74C3C // red
	colorResolved = 0x2ECC71 // green
)

// Heading returns how the chat notifiers head a message about a: an emoji,
// a word and a colour (0xRRGGBB). A resolved alert is "✅ RESOLVED" in
// green whatever its level; a firing one is "🔴 CRITICAL" in red,
// "🟠 WARNING" in amber or "🔵 INFO" in blue.
func Heading(a alerting.Alert) (emoji, word string, color int) {
	if a.State == alerting.Resolved {
		return "✅", "RESOLVED", colorResolved
	}
	switch a.Level {
	case alerting.Critical:
		return "🔴", "CRITICAL", colorCritical
	case alerting.Warning:
		return "🟠", "WARNING", colorWarning
	default:
		return "🔵", "INFO", colorInfo
	}
}
