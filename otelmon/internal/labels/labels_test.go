package labels

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

type entry struct{ label string }

func newEntry(label string, _ attribute.Set) *entry { return &entry{label} }

// Values map to sanitized labels; past the limit new labels share
// Overflow, and neither the labels nor the remembered raw spellings grow
// without bound, whatever a host sends.
func TestTableBounds(t *testing.T) {
	const limit = 3
	tb := NewTable("source", limit, newEntry)
	for raw, want := range map[string]string{
		"":                       Unknown,
		"bad\xff":                "bad\uFFFD",
		strings.Repeat("a", 300): strings.Repeat("a", MaxLen),
	} {
		if got := tb.Get(raw).label; got != want {
			t.Errorf("Get(%q) = %q, want %q", raw, got, want)
		}
	}
	if got := tb.Get("one more").label; got != Overflow {
		t.Errorf("past the limit: %q, want %q", got, Overflow)
	}
	// Many spellings of one label: "a"*300 plus a tail, all cut to the
	// same label.
	for i := range 1000 {
		tb.Get(strings.Repeat("a", 300) + fmt.Sprint(i))
	}
	if n := len(*tb.byRaw.Load()); n > 4*limit {
		t.Errorf("raw map grew to %d entries, want at most %d", n, 4*limit)
	}
	var labels []string
	tb.Each(func(e *entry) { labels = append(labels, e.label) })
	if len(labels) != limit+1 || labels[limit] != Overflow {
		t.Errorf("entries %q, want %d labels and the overflow last", labels, limit)
	}
}
