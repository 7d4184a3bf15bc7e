package notifyhttp

import (
	"testing"

	"github.com/listsync/otelmon/alerting"
)

func TestHeading(t *testing.T) {
	for _, tc := range []struct {
		a           alerting.Alert
		emoji, word string
		color       int
	}{
		{alerting.Alert{Level: alerting.Info, State: alerting.Firing}, "🔵", "INFO", 0x3498DB},
		{alerting.Alert{Level: alerting.Warning, State: alerting.Firing}, "🟠", "WARNING", 0xF39C12},
		{alerting.Alert{Level: alerting.Critical, State: alerting.Firing}, "🔴", "CRITICAL", 0xE74C3C},
		{alerting.Alert{Level: alerting.Critical, State: alerting.Resolved}, "✅", "RESOLVED", 0x2ECC71},
	} {
		emoji, word, color := Heading(tc.a)
		if emoji != tc.emoji || word != tc.word || color != tc.color {
			t.Errorf("Heading(%v %v) = %s %s %06X", tc.a.Level, tc.a.State, emoji, word, color)
		}
	}
}
