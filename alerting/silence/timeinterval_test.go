package silence

import (
	"testing"
	"time"
)

func mustCompile(t *testing.T, ti TimeInterval) interval {
	t.Helper()
	iv, errs := ti.compile()
	if errs != nil {
		t.Fatalf("compile %+v: %v", ti, errs)
	}
	return iv
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func TestTimeIntervalContains(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	nightly := TimeInterval{Times: []TimeRange{{"03:00", "03:15"}}, Location: "Europe/Berlin"}
	// Saturday night across midnight: each part belongs to its own day.
	saturdayNight := TimeInterval{Times: []TimeRange{{"22:00", "24:00"}, {"00:00", "02:00"}}, Weekdays: []string{"saturday"}}
	for _, tc := range []struct {
		name string
		ti   TimeInterval
		at   time.Time
		want bool
	}{
		{"zero interval: always", TimeInterval{}, utc("2025-06-01T00:00:00Z"), true},
		{"Berlin 03:00 in winter is 02:00 UTC", nightly, utc("2025-01-15T02:00:00Z"), true},
		{"Berlin 03:14:59 in winter", nightly, utc("2025-01-15T02:14:59Z"), true},
		{"Berlin 03:15 is the exclusive end", nightly, utc("2025-01-15T02:15:00Z"), false},
		{"03:00 UTC is 04:00 in Berlin", nightly, utc("2025-01-15T03:00:00Z"), false},
		{"Berlin 03:00 in summer is 01:00 UTC", nightly, utc("2025-07-15T01:00:00Z"), true},
		{"02:00 UTC in summer is 04:00 in Berlin", nightly, utc("2025-07-15T02:00:00Z"), false},
		// Spring forward: on 30 March 2025 Berlin's clocks go from 02:00
		// CET to 03:00 CEST; 03:00 CEST is 01:00 UTC, an hour after 02:00 CET
		// would have been.
		{"spring forward: 03:00 CEST", nightly, utc("2025-03-30T01:00:00Z"), true},
		{"spring forward: 00:59 UTC is 01:59 CET", nightly, utc("2025-03-30T00:59:00Z"), false},
		{"spring forward: a window in the skipped hour never opens (02:30 CET does not exist)",
			TimeInterval{Times: []TimeRange{{"02:00", "03:00"}}, Location: "Europe/Berlin"}, utc("2025-03-30T01:00:00Z"), false},
		// Fall back: on 26 October 2025 03:00 CEST becomes 02:00 CET, so
		// 02:00–03:00 happens twice: 00:00–01:00 UTC and 01:00–02:00 UTC.
		{"fall back: first 02:30 (CEST)", TimeInterval{Times: []TimeRange{{"02:00", "03:00"}}, Location: "Europe/Berlin"}, utc("2025-10-26T00:30:00Z"), true},
		{"fall back: second 02:30 (CET)", TimeInterval{Times: []TimeRange{{"02:00", "03:00"}}, Location: "Europe/Berlin"}, utc("2025-10-26T01:30:00Z"), true},
		{"fall back: 03:00 CET", nightly, utc("2025-10-26T02:00:00Z"), true},
		{"fall back: 03:00 CET is not 02:00 UTC + 1h of CEST", nightly, utc("2025-10-26T01:00:00Z"), false},
		{"across midnight: Saturday 23:30", saturdayNight, utc("2025-03-01T23:30:00Z"), true},
		{"across midnight: Sunday 00:30 is not Saturday", saturdayNight, utc("2025-03-02T00:30:00Z"), false},
		{"across midnight: Saturday 00:30", saturdayNight, utc("2025-03-01T00:30:00Z"), true},
		{"across midnight: Saturday 02:00 is the end", saturdayNight, utc("2025-03-01T02:00:00Z"), false},
		{"weekday range", TimeInterval{Weekdays: []string{"Monday:Friday"}}, utc("2025-03-03T12:00:00Z"), true},
		{"weekday range, Sunday", TimeInterval{Weekdays: []string{"monday:friday"}}, utc("2025-03-02T12:00:00Z"), false},
		{"weekday in the interval's zone: Sunday 23:30 UTC is Monday in Berlin",
			TimeInterval{Weekdays: []string{"monday"}, Location: "Europe/Berlin"}, utc("2025-03-02T23:30:00Z"), true},
		{"last day of February", TimeInterval{DaysOfMonth: []string{"-1"}}, utc("2025-02-28T12:00:00Z"), true},
		{"last day of a leap February", TimeInterval{DaysOfMonth: []string{"-1"}}, utc("2024-02-28T12:00:00Z"), false},
		{"last three days", TimeInterval{DaysOfMonth: []string{"-3:-1"}}, utc("2025-04-28T12:00:00Z"), true},
		{"last three days, 27 April", TimeInterval{DaysOfMonth: []string{"-3:-1"}}, utc("2025-04-27T12:00:00Z"), false},
		{"25th to the last", TimeInterval{DaysOfMonth: []string{"25:-1"}}, utc("2025-02-28T12:00:00Z"), true},
		{"31st in a 30-day month never matches", TimeInterval{DaysOfMonth: []string{"31"}}, utc("2025-04-30T12:00:00Z"), false},
		{"end clamped to the month", TimeInterval{DaysOfMonth: []string{"28:31"}}, utc("2025-02-28T12:00:00Z"), true},
		{"months by name and number", TimeInterval{Months: []string{"1", "june:august"}}, utc("2025-07-01T00:00:00Z"), true},
		{"months, outside", TimeInterval{Months: []string{"january", "june:august"}}, utc("2025-09-01T00:00:00Z"), false},
		{"years", TimeInterval{Years: []string{"2024:2025"}}, utc("2025-12-31T23:59:59Z"), true},
		{"years, outside", TimeInterval{Years: []string{"2024:2025"}}, utc("2026-01-01T00:00:00Z"), false},
		{"every field must match", TimeInterval{Weekdays: []string{"saturday"}, Months: []string{"april"}}, utc("2025-03-01T12:00:00Z"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iv := mustCompile(t, tc.ti)
			if got := iv.contains(tc.at); got != tc.want {
				t.Fatalf("contains(%s, Berlin %s) = %v, want %v", tc.at.UTC().Format(time.RFC3339), tc.at.In(berlin).Format("Mon 15:04 MST"), got, tc.want)
			}
		})
	}
}

func TestTimeIntervalInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ti    TimeInterval
		field string
	}{
		{"start after end", TimeInterval{Times: []TimeRange{{"03:15", "03:00"}}}, "Times[0]"},
		{"empty range", TimeInterval{Times: []TimeRange{{"03:00", "03:00"}}}, "Times[0]"},
		{"bad clock", TimeInterval{Times: []TimeRange{{"3:00", "04:00"}}}, "Times[0].Start"},
		{"past 24:00", TimeInterval{Times: []TimeRange{{"00:00", "24:01"}}}, "Times[0].End"},
		{"minute 60", TimeInterval{Times: []TimeRange{{"00:60", "01:00"}}}, "Times[0].Start"},
		{"weekday", TimeInterval{Weekdays: []string{"funday"}}, "Weekdays[0]"},
		{"weekday number", TimeInterval{Weekdays: []string{"1"}}, "Weekdays[0]"},
		{"weekday order", TimeInterval{Weekdays: []string{"friday:monday"}}, "Weekdays[0]"},
		{"day zero", TimeInterval{DaysOfMonth: []string{"0"}}, "DaysOfMonth[0]"},
		{"day 32", TimeInterval{DaysOfMonth: []string{"1:32"}}, "DaysOfMonth[0]"},
		{"negative start, positive end", TimeInterval{DaysOfMonth: []string{"-3:5"}}, "DaysOfMonth[0]"},
		{"always empty day range", TimeInterval{DaysOfMonth: []string{"-1:-3"}}, "DaysOfMonth[0]"},
		{"month", TimeInterval{Months: []string{"13"}}, "Months[0]"},
		{"month order", TimeInterval{Months: []string{"march:january"}}, "Months[0]"},
		{"year order", TimeInterval{Years: []string{"2026:2025"}}, "Years[0]"},
		{"location", TimeInterval{Location: "Europe/Atlantis"}, "Location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := tc.ti.compile()
			if len(errs) != 1 || errs[0].Field != tc.field {
				t.Fatalf("errors %+v, want one on %s", errs, tc.field)
			}
		})
	}
}
