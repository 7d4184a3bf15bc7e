package otelmon

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// The status JSON serves each source's last success twice, in
// "lastSuccessfulSync" and in its "syncs" entry, from one reading: the two
// agree, and a source that never succeeded is in neither.
func TestStatusLastSuccessHasOneSource(t *testing.T) {
	m, clk := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 0, 1)
	clk.Advance(time.Minute)
	m.RecordSyncOperation(ctx, "imdb", false, time.Second, 0, 0, 0)
	m.RecordSyncOperation(ctx, "tmdb", false, time.Second, 0, 0, 0)

	st := m.Status()
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		LastSuccessfulSync map[string]time.Time `json:"lastSuccessfulSync"`
		Syncs              []struct {
			Source      string    `json:"source"`
			LastSuccess time.Time `json:"lastSuccess"`
			LastRun     time.Time `json:"lastRun"`
		} `json:"syncs"`
		StartedAt time.Time `json:"startedAt"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	wantImdb := time.Unix(1_700_000_000, 0).UTC()
	if len(doc.LastSuccessfulSync) != 1 || !doc.LastSuccessfulSync["imdb"].Equal(wantImdb) {
		t.Fatalf("lastSuccessfulSync = %v, want only imdb at %v", doc.LastSuccessfulSync, wantImdb)
	}
	if len(doc.Syncs) != 2 {
		t.Fatalf("syncs = %+v", doc.Syncs)
	}
	for _, s := range doc.Syncs {
		if got, ok := doc.LastSuccessfulSync[s.Source]; ok != !s.LastSuccess.IsZero() || !got.Equal(s.LastSuccess) {
			t.Errorf("%s: syncs[] says %v, lastSuccessfulSync says %v", s.Source, s.LastSuccess, got)
		}
	}
	if doc.StartedAt.IsZero() || !doc.Syncs[0].LastRun.After(doc.Syncs[0].LastSuccess) {
		t.Errorf("other fields lost in encoding: %s", body)
	}
	if got := st.LastSuccessfulSync(); len(got) != 1 || !got["imdb"].Equal(wantImdb) {
		t.Errorf("Status.LastSuccessfulSync() = %v", got)
	}
}

// A Status without syncs encodes the map as {}, never null, as before.
func TestStatusJSONEmptyMap(t *testing.T) {
	body, err := json.Marshal(Status{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc["lastSuccessfulSync"]) != "{}" {
		t.Fatalf("lastSuccessfulSync = %s", doc["lastSuccessfulSync"])
	}
}
