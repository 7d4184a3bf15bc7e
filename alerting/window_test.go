package alerting

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

// TestMaintenanceWindowAcrossDST drives an engine with the fake clock
// through Berlin's spring-forward night: the 03:00–03:15 window opens at
// 03:00 CEST, one hour of UTC after it opened the night before.
func TestMaintenanceWindowAcrossDST(t *testing.T) {
	mustLoad(t, "Europe/Berlin")
	ctx := context.Background()
	cfg := Config{MaintenanceWindows: []MaintenanceWindow{plexNightly}}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	// From 29 March 2025 00:00 UTC, every 5 minutes for two days: record
	// when the alert is muted, in UTC.
	h.clk.Advance(time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC).Sub(t0))
	h.up.Record(ctx, 0, svc("plex"))
	var muted []string
	for range 2 * 24 * 12 {
		h.step(5 * time.Minute)
		if a, _ := h.eng.Alert(plex); a.MutedBy != nil {
			muted = append(muted, h.clk.Now().UTC().Format("01-02T15:04"))
		}
	}
	want := []string{
		"03-29T02:00", "03-29T02:05", "03-29T02:10", // CET: 03:00 Berlin is 02:00 UTC
		"03-30T01:00", "03-30T01:05", "03-30T01:10", // CEST from 30 March: 01:00 UTC
	}
	if !slices.Equal(muted, want) {
		t.Fatalf("muted at %q, want %q", muted, want)
	}
	// Each time the window closed the firing alert was notified once.
	var notified int
	for _, a := range h.drain() {
		if a.State == Firing {
			notified++
		}
	}
	if notified != 3 { // the first firing, then once after each window
		t.Fatalf("%d firing notifications, want 3", notified)
	}
}
