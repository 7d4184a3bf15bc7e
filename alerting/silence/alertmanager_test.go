package silence

import (
	"errors"
	"slices"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Alertmanager's own time-interval tests, ported to TimeInterval: the
// tables of timeinterval/timeinterval_test.go in
// github.com/prometheus/alertmanager (Apache-2.0, Copyright 2020
// Prometheus Team), as of commit 68fb2d5759b3a92c0bb2a1a13d4ef7ff5b06256d.
// Each case keeps its inputs and the instants it says are inside or
// outside; the YAML cases are decoded as Alertmanager writes them (amYAML)
// and turned into TimeIntervals. Where our semantics differ on purpose, the
// case says so (differs).
//
// Times are written as Alertmanager's tests write them (RFC 822 with a
// numeric zone) and parsed strictly: Alertmanager's tests ignore parse
// errors, which made one of their instants (noted below) the zero time.
//
// One difference holds throughout: without a location, Alertmanager's
// TimeInterval.ContainsTime reads an instant in the instant's own zone,
// while its Intervener, which mutes, reads it in UTC; ours reads it in
// UTC, as the Intervener does. Every instant of the tables' intervals
// without a location is in UTC, so the tables cannot tell.

// amTime parses an instant of Alertmanager's tests.
func amTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC822Z, s)
	if err != nil {
		t.Fatalf("instant %q: %v", s, err)
	}
	return v
}

// amYAML is an entry of Alertmanager's time_intervals as its configuration
// writes it.
type amYAML struct {
	Times []struct {
		StartTime string `yaml:"start_time"`
		EndTime   string `yaml:"end_time"`
	} `yaml:"times"`
	Weekdays    []string `yaml:"weekdays"`
	DaysOfMonth []string `yaml:"days_of_month"`
	Months      []string `yaml:"months"`
	Years       []string `yaml:"years"`
	Location    string   `yaml:"location"`
}

func (y amYAML) interval() TimeInterval {
	ti := TimeInterval{Weekdays: y.Weekdays, DaysOfMonth: y.DaysOfMonth, Months: y.Months, Years: y.Years, Location: y.Location}
	for _, tr := range y.Times {
		ti.Times = append(ti.Times, TimeRange{Start: tr.StartTime, End: tr.EndTime})
	}
	return ti
}

// checkInstants checks that the intervals contain every instant of in
// and none of out (an instant is inside when one of them contains it).
func checkInstants(t *testing.T, ivs []interval, in, out []string) {
	t.Helper()
	contains := func(at time.Time) bool {
		return slices.ContainsFunc(ivs, func(iv interval) bool { return iv.contains(at) })
	}
	for _, s := range in {
		if !contains(amTime(t, s)) {
			t.Errorf("%s is outside, want inside", s)
		}
	}
	for _, s := range out {
		if contains(amTime(t, s)) {
			t.Errorf("%s is inside, want outside", s)
		}
	}
}

func compileAll(t *testing.T, tis ...TimeInterval) []interval {
	t.Helper()
	var out []interval
	for _, ti := range tis {
		iv, errs := ti.compile()
		if errs != nil {
			t.Fatalf("compile %+v: %v", ti, errs[0])
		}
		out = append(out, iv)
	}
	return out
}

// TestAlertmanagerContainsTime is timeIntervalTestCases (TestContainsTime).
// Alertmanager builds those intervals as structs, minutes and numbers;
// here they are written as a configuration writes them.
func TestAlertmanagerContainsTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ti      TimeInterval
		in, out []string
		// days, when set, replaces the compiled DaysOfMonth: a range our
		// configuration refuses, as Alertmanager's does, that
		// Alertmanager's table builds as a struct to test clamping.
		days []span
	}{
		{
			name: "the zero interval",
			ti:   TimeInterval{},
			in:   []string{"02 Jan 06 15:04 +0000", "03 Jan 07 10:04 +0000", "04 Jan 06 09:04 +0000"},
		},
		{
			name: "9am to 5pm, monday to friday",
			ti:   TimeInterval{Times: []TimeRange{{"09:00", "17:00"}}, Weekdays: []string{"monday:friday"}},
			in:   []string{"04 May 20 15:04 +0000", "05 May 20 10:04 +0000", "09 Jun 20 09:04 +0000"},
			out:  []string{"03 May 20 15:04 +0000", "04 May 20 08:59 +0000", "05 May 20 05:00 +0000"},
		},
		{
			name: "Easter 2020",
			ti:   TimeInterval{DaysOfMonth: []string{"4:6"}, Months: []string{"april"}, Years: []string{"2020"}},
			in:   []string{"04 Apr 20 15:04 +0000", "05 Apr 20 00:00 +0000", "06 Apr 20 23:05 +0000"},
			out: []string{"03 May 18 15:04 +0000", "03 Apr 20 23:59 +0000", "04 Jun 20 23:59 +0000",
				"06 Apr 19 23:59 +0000", "07 Apr 20 00:00 +0000"},
		},
		{
			name: "negative days of the month: the last 3 days of each month",
			ti:   TimeInterval{DaysOfMonth: []string{"-3:-1"}},
			in: []string{"31 Jan 20 15:04 +0000", "30 Jan 20 15:04 +0000", "29 Jan 20 15:04 +0000",
				"30 Jun 20 00:00 +0000", "29 Feb 20 23:05 +0000"},
			out: []string{"03 May 18 15:04 +0000", "27 Jan 20 15:04 +0000", "03 Apr 20 23:59 +0000",
				"04 Jun 20 23:59 +0000", "06 Apr 19 23:59 +0000", "07 Apr 20 00:00 +0000", "01 Mar 20 00:00 +0000"},
		},
		{
			// Alertmanager's table writes the last instant "1 Jul 20 00:00
			// +0000", which RFC 822 does not parse: its test checked the
			// zero time instead. 1 July is what it means.
			name: "out of bound days are clamped to the month",
			ti:   TimeInterval{Months: []string{"june"}},
			days: []span{{-31, 31}},
			in:   []string{"30 Jun 20 00:00 +0000", "01 Jun 20 00:00 +0000"},
			out:  []string{"31 May 20 00:00 +0000", "01 Jul 20 00:00 +0000"},
		},
		{
			name: "another time zone: AEST 9am to 5pm, monday to friday",
			ti:   TimeInterval{Times: []TimeRange{{"09:00", "17:00"}}, Weekdays: []string{"monday:friday"}, Location: "Australia/Sydney"},
			in:   []string{"06 Apr 21 13:00 +1000"},
			out:  []string{"06 Apr 21 13:00 +0000"},
		},
		{
			name: "another time zone in daylight saving time",
			ti: TimeInterval{Times: []TimeRange{{"09:00", "17:00"}}, Weekdays: []string{"monday:friday"}, Months: []string{"november"},
				Location: "Australia/Sydney"},
			in:  []string{"01 Nov 21 09:00 +1100", "31 Oct 21 22:00 +0000"},
			out: []string{"31 Oct 21 21:00 +0000"},
		},
		{
			name: "the last day does not shift in a spring-forward month",
			ti:   TimeInterval{DaysOfMonth: []string{"-1"}, Location: "America/New_York"},
			in:   []string{"31 Mar 21 12:00 -0400"},
			out:  []string{"30 Mar 21 12:00 -0400"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ti.Location != "" {
				mustLoad(t, tc.ti.Location)
			}
			ivs := compileAll(t, tc.ti)
			if tc.days != nil {
				if errs := (TimeInterval{DaysOfMonth: []string{"-31:31"}}).check(); errs == nil {
					t.Fatal(`"-31:31" is accepted: the case's range should be refused as written`)
				}
				ivs[0].days = tc.days
			}
			checkInstants(t, ivs, tc.in, tc.out)
		})
	}
}

// check returns what compile refuses in ti.
func (ti TimeInterval) check() []*FieldError {
	_, errs := ti.compile()
	return errs
}

// TestAlertmanagerTimeRanges is timeStringTestCases (TestParseTimeString):
// a time range is [start, end) in minutes of the day.
func TestAlertmanagerTimeRanges(t *testing.T) {
	for _, tc := range []struct {
		tr         TimeRange
		start, end int  // Alertmanager's StartMinute, EndMinute
		invalid    bool // and the field at fault
		field      string
	}{
		{tr: TimeRange{"00:00", "24:00"}, start: 0, end: 1440},
		{tr: TimeRange{"01:35", "17:39"}, start: 95, end: 1059},
		{tr: TimeRange{"09:35", "09:39"}, start: 575, end: 579},
		{tr: TimeRange{"17:31", "17:31"}, invalid: true, field: "Times[0]"},     // begin and end the same
		{tr: TimeRange{"12:30", "24:01"}, invalid: true, field: "Times[0].End"}, // end out of range
		{tr: TimeRange{"09:30", "07:41"}, invalid: true, field: "Times[0]"},     // start after end
		{tr: TimeRange{"24:00", "17:41"}, invalid: true, field: "Times[0]"},     // start out of range and after end
		{tr: TimeRange{Start: "14:03"}, invalid: true, field: "Times[0].End"},   // no end
	} {
		t.Run(tc.tr.Start+"-"+tc.tr.End, func(t *testing.T) {
			iv, errs := TimeInterval{Times: []TimeRange{tc.tr}}.compile()
			if tc.invalid {
				if len(errs) != 1 || errs[0].Field != tc.field {
					t.Fatalf("errors %v, want one on %s", errs, tc.field)
				}
				return
			}
			if errs != nil {
				t.Fatal(errs[0])
			}
			if want := []span{{tc.start, tc.end - 1}}; !slices.Equal(iv.minutes, want) {
				t.Fatalf("minutes %v, want %v", iv.minutes, want)
			}
		})
	}
}

// TestAlertmanagerConfigurations is yamlUnmarshalTestCases (TestYamlUnmarshal)
// and completeTestCases (TestTimeIntervalComplete): intervals as a
// configuration writes them, the instants they contain and exclude, and
// those they refuse, with the field at fault. Alertmanager's error texts
// are in the comments.
func TestAlertmanagerConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string // a list of intervals, or one (complete)
		in2     []string
		out     []string
		field   string // set: the configuration is refused, on this field of the first interval
		differs string // set: our semantics differ on purpose, and why
	}{
		{name: "simple business hours", in: `
- weekdays: ['monday:friday']
  times:
    - start_time: '09:00'
      end_time: '17:00'
`,
			in2: []string{"08 Jul 20 09:00 +0000", "08 Jul 20 16:59 +0000"},
			out: []string{"08 Jul 20 05:00 +0000", "08 Jul 20 08:59 +0000"}},
		{name: "negative indices and ranges", in: `
  # Last week, excluding Saturday, of the first quarter of the year during business hours from 2020 to 2025 and 2030-2035
- weekdays: ['monday:friday', 'sunday']
  months: ['january:march']
  days_of_month: ['-7:-1']
  years: ['2020:2025', '2030:2035']
  times:
    - start_time: '09:00'
      end_time: '17:00'
`,
			in2: []string{"27 Jan 21 09:00 +0000", "28 Jan 21 16:59 +0000", "29 Jan 21 13:00 +0000",
				"31 Mar 25 13:00 +0000", "31 Mar 25 13:00 +0000", "31 Jan 35 13:00 +0000"},
			out: []string{"30 Jan 21 13:00 +0000", "01 Apr 21 13:00 +0000", "30 Jan 26 13:00 +0000", "31 Jan 35 17:01 +0000"}},
		{name: "business hours, no trailing newline", in: `
- weekdays: ['monday:friday']
  times:
    - start_time: '09:00'
      end_time: '17:00'`,
			in2: []string{"01 Apr 21 13:00 +0000"}},
		{name: "invalid start time", in: `
- times:
    - start_time: '01:99'
      end_time: '23:59'`, field: "Times[0].Start"}, // couldn't parse timestamp 01:99, invalid format
		{name: "invalid end time", in: `
- times:
    - start_time: '00:00'
      end_time: '99:99'`, field: "Times[0].End"}, // couldn't parse timestamp 99:99, invalid format
		{name: "start day after end day", in: `
- weekdays: ['friday:monday']`, field: "Weekdays[0]"}, // start day cannot be before end day
		{name: "invalid weekdays", in: `
- weekdays: ['blurgsday:flurgsday']
`, field: "Weekdays[0]"}, // blurgsday is not a valid weekday
		{name: "numeric weekdays", in: `
- weekdays: ['1:3']
`, field: "Weekdays[0]"}, // 1 is not a valid weekday
		{name: "negative numeric weekdays", in: `
- weekdays: ['-2:-1']
`, field: "Weekdays[0]"}, // -2 is not a valid weekday
		{name: "day of month 0", in: `
- days_of_month: ['0']
`, field: "DaysOfMonth[0]"}, // 0 is not a valid day of the month: out of range
		{name: "start day of month below -31", in: `
- days_of_month: ['-50:-20']
`, field: "DaysOfMonth[0]"}, // -50 is not a valid day of the month: out of range
		{name: "end day of month above 31", in: `
- days_of_month: ['1:50']
`, field: "DaysOfMonth[0]"}, // 50 is not a valid day of the month: out of range
		{name: "negative indices (added)", in: `
- days_of_month: ['1:-1']
`, in2: []string{"01 Feb 21 00:00 +0000", "28 Feb 21 23:59 +0000", "31 Mar 21 12:00 +0000"}},
		{name: "a negative start day needs a negative end day", in: `
- days_of_month: ['-15:5']
`, field: "DaysOfMonth[0]"}, // end day must be negative if start day is negative
		{name: "negative end day before positive start day", in: `
- days_of_month: ['10:-25']
`, field: "DaysOfMonth[0]"}, // end day -25 is always before start day 10
		{name: "months regardless of case (added)", in: `
- months: ['January:december']
`, in2: []string{"01 Jan 21 00:00 +0000", "31 Dec 21 23:59 +0000"}},
		{name: "a time zone by location (added)", in: `
- years: ['2020:2022']
  location: 'Australia/Sydney'
`, in2: []string{"31 Dec 19 14:00 +0000"}, out: []string{"31 Dec 22 13:00 +0000"}},
		{name: "invalid start month", in: `
- months: ['martius:june']
`, field: "Months[0]"}, // martius is not a valid month
		{name: "invalid end month", in: `
- months: ['march:junius']
`, field: "Months[0]"}, // junius is not a valid month
		{name: "start month after end month", in: `
- months: ['december:january']
`, field: "Months[0]"}, // end month january is before start month december
		{name: "start year after end year", in: `
- years: ['2022:2020']
`, field: "Years[0]"}, // end year 2020 is before start year 2022

		// completeTestCases: one interval each.
		{name: "complete", in: `
weekdays: ['monday:wednesday', 'saturday', 'sunday']
times:
  - start_time: '13:00'
    end_time: '15:00'
days_of_month: ['1', '10', '20:-1']
years: ['2020:2023']
months: ['january:march']
`,
			in2: []string{"10 Jan 21 13:00 +0000", "30 Jan 21 14:24 +0000"},
			out: []string{"09 Jan 21 13:00 +0000", "20 Jan 21 12:59 +0000", "02 Feb 21 13:00 +0000"}},
		{name: "no clamping of a start after the month's end", in: `
days_of_month: ['30:31']
years: ['2020:2023']
months: ['february']
`,
			out: []string{"28 Feb 21 13:00 +0000"}},

		// Where our checks differ from Alertmanager's.
		{name: "a range from a day to the last day that ends on it in February", in: `
- days_of_month: ['28:-1']
`, in2: []string{"28 Feb 21 12:00 +0000", "31 Mar 21 12:00 +0000"}, out: []string{"27 Feb 21 12:00 +0000"},
			differs: `Alertmanager refuses it ("end day -1 is always before start day 28"): it checks a range ` +
				`in a month of 28 days with -1 as the 27th. The 28th is the last day of such a month, so the range ` +
				`is never empty; we check with -1 as the 28th, and keep it.`},
		{name: "a range that is one day in February", in: `
- days_of_month: ['4:-25']
`, in2: []string{"04 Feb 21 12:00 +0000", "07 Mar 21 12:00 +0000"}, out: []string{"05 Feb 21 12:00 +0000"},
			differs: `Alertmanager refuses it ("end day -25 is always before start day 4"), for the same off-by-one: ` +
				`in February of 28 days, -25 is the 4th.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ys []amYAML
			if err := yaml.Unmarshal([]byte(tc.in), &ys); err != nil {
				var one amYAML
				if err := yaml.Unmarshal([]byte(tc.in), &one); err != nil {
					t.Fatalf("YAML: %v", err)
				}
				ys = []amYAML{one}
			}
			if tc.differs != "" {
				t.Log("differs from Alertmanager:", tc.differs)
			}
			var tis []TimeInterval
			for _, y := range ys {
				if y.Location != "" {
					mustLoad(t, y.Location)
				}
				tis = append(tis, y.interval())
			}
			if tc.field != "" {
				errs := tis[0].check()
				if len(errs) != 1 || errs[0].Field != tc.field {
					t.Fatalf("errors %v, want one on %s", errs, tc.field)
				}
				return
			}
			checkInstants(t, compileAll(t, tis...), tc.in2, tc.out)
		})
	}
}

// TestAlertmanagerMutes is TestIntervener_Mutes: windows of the evenings
// and the weekends in Sydney, and the instants they mute alerts at, named
// in configuration order (Alertmanager's test sorts them: the same order
// here).
func TestAlertmanagerMutes(t *testing.T) {
	sydney := mustLoad(t, "Australia/Sydney")
	var windows []*Window
	for _, mw := range []MaintenanceWindow{
		{Name: "evenings", TimeIntervals: []TimeInterval{{Times: []TimeRange{{"00:00", "09:00"}, {"17:00", "24:00"}}, Location: "Australia/Sydney"}}},
		{Name: "weekends", TimeIntervals: []TimeInterval{{Weekdays: []string{"saturday", "sunday"}, Location: "Australia/Sydney"}}},
	} {
		w, err := NewWindow(mw)
		if err != nil {
			t.Fatal(err)
		}
		windows = append(windows, w)
	}
	st := NewStore(Config{})
	for _, tc := range []struct {
		name    string
		now     time.Time
		mutedBy []string
	}{
		{"outside working hours", time.Date(2024, 1, 1, 0, 0, 0, 0, sydney), []string{"evenings"}},
		{"during working hours", time.Date(2024, 1, 1, 9, 0, 0, 0, sydney), nil},
		{"during weekends", time.Date(2024, 1, 6, 10, 0, 0, 0, sydney), []string{"weekends"}},
		{"during weekend evenings", time.Date(2024, 1, 6, 17, 0, 0, 0, sydney), []string{"evenings", "weekends"}},
		{"at 12pm UTC on a weekday", time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), []string{"evenings"}},
		{"at 12pm UTC on a weekend", time.Date(2024, 1, 6, 10, 0, 0, 0, time.UTC), []string{"evenings", "weekends"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, mutedBy := st.Mutes(windows, tc.now).Of(labelMap{"service": "plex"})
			if !slices.Equal(mutedBy, tc.mutedBy) {
				t.Fatalf("muted by %q, want %q", mutedBy, tc.mutedBy)
			}
		})
	}
}

// A configuration Alertmanager refuses is refused as a window's
// *FieldError, which wraps ErrInvalidWindow.
func TestAlertmanagerRefusedIsFieldError(t *testing.T) {
	_, err := NewWindow(MaintenanceWindow{Name: "w", TimeIntervals: []TimeInterval{{DaysOfMonth: []string{"-15:5"}}}})
	var fe *FieldError
	if !errors.Is(err, ErrInvalidWindow) || !errors.As(err, &fe) || fe.Field != "TimeIntervals[0].DaysOfMonth[0]" {
		t.Fatalf("NewWindow = %v, want a *FieldError on TimeIntervals[0].DaysOfMonth[0]", err)
	}
}
