package silence

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The store alone: what the engine's silence API and state file rely on.
func TestStore(t *testing.T) {
	st := NewStore(Config{MaxSilences: 2, Retention: time.Hour})
	now := t0
	create := func(s Silence) Silence {
		t.Helper()
		got, err := st.Create(s, now)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a := create(Silence{Matchers: []Matcher{eq("service", "a")}, EndsAt: now.Add(time.Hour)})
	b := create(Silence{Matchers: []Matcher{eq("service", "b")}, StartsAt: now.Add(time.Minute), EndsAt: now.Add(time.Hour)})
	if a.Status.State != Active || b.Status.State != Pending || a.ID == "" || !a.StartsAt.Equal(now) || !a.UpdatedAt.Equal(now) {
		t.Fatalf("created %+v and %+v", a, b)
	}
	if _, err := st.Create(Silence{Matchers: []Matcher{eq("service", "c")}, EndsAt: now.Add(time.Hour)}, now); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a third live silence: %v, want ErrTooMany", err)
	}

	// A clone changes apart from the store.
	next := st.Clone()
	exp, err := next.Expire(a.ID, now)
	if err != nil || exp.Status.State != Expired || !exp.EndsAt.Equal(now) {
		t.Fatalf("Expire = %+v, %v", exp, err)
	}
	if got, _ := st.Get(a.ID, now); got.Status.State != Active {
		t.Fatalf("expiring in a clone changed the store: %+v", got)
	}
	if _, err := next.Expire("nope", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Expire of an unknown ID: %v", err)
	}
	st = next

	// Active first, then pending, then expired; All in ID order, without
	// status.
	var ids []string
	for _, s := range st.List(now) {
		ids = append(ids, s.ID)
	}
	if want := []string{b.ID, a.ID}; !slices.Equal(ids, want) {
		t.Fatalf("List = %q, want %q", ids, want)
	}
	all := st.All()
	if len(all) != 2 || all[0].ID > all[1].ID || all[0].Status != (Status{}) {
		t.Fatalf("All = %+v", all)
	}

	// What mutes at an instant: the active silences only.
	labels := labelMap{"service": "b"}
	if sil, _ := st.Mutes(nil, now).Of(labels); sil != nil {
		t.Fatalf("a pending silence mutes: %q", sil)
	}
	now = now.Add(time.Minute)
	if sil, _ := st.Mutes(nil, now).Of(labels); !slices.Equal(sil, []string{b.ID}) {
		t.Fatalf("silenced by %q, want [%s]", sil, b.ID)
	}

	// An expired silence is kept for the retention.
	if st.Prune(exp.EndsAt.Add(time.Hour)) {
		t.Fatal("pruned within the retention")
	}
	if !st.Prune(exp.EndsAt.Add(time.Hour+time.Second)) || len(st.All()) != 1 {
		t.Fatalf("kept past the retention: %+v", st.All())
	}
}

// A silence restored from a state file keeps its ID and times, and is held
// to the store's bounds.
func TestStoreRestore(t *testing.T) {
	st := NewStore(Config{MaxRegexLength: 4})
	s := Silence{ID: "s1", Matchers: []Matcher{eq("service", "plex")}, StartsAt: t0.Add(-2 * time.Hour), EndsAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour)}
	if err := st.Restore(s, t0); err != nil {
		t.Fatal(err)
	}
	if got, ok := st.Get("s1", t0); !ok || got.Status.State != Expired || !got.EndsAt.Equal(s.EndsAt) || st.byID["s1"].m != nil {
		t.Fatalf("restored %+v, %v; want it expired, without compiled matchers", got, ok)
	}
	long := Silence{ID: "s2", Matchers: []Matcher{{Name: "service", Value: "imdb|tmdb", Type: MatchRegexp}}, EndsAt: t0.Add(time.Hour)}
	var se *Error
	if err := st.Restore(long, t0); !errors.As(err, &se) || se.Limit != "MaxRegexLength" {
		t.Fatalf("Restore beyond a bound: %v", err)
	}
}
