package silence

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file is the recurring time of a maintenance window, with the
// semantics of Alertmanager's time_intervals: a TimeInterval is a set of
// optional fields, each a list of ranges; an instant is inside the interval
// when, in the interval's location, every field that is set has a range
// that contains it. An empty field matches every instant.

// TimeInterval is one recurring interval, as one entry of Alertmanager's
// time_intervals. Every field is optional; the zero value contains every
// instant. Ranges are inclusive except Times, whose end is exclusive.
// Ranges are written as Alertmanager writes them: "monday:friday",
// "saturday", "1:7", "-1" (the last day of the month), "january:march",
// "2025:2026".
type TimeInterval struct {
	// Times are ranges of the time of day, e.g. {Start: "03:00", End:
	// "03:15"}. The end is exclusive and may be "24:00"; the start must be
	// before the end. A window across midnight is two ranges, e.g.
	// 22:00–24:00 and 00:00–02:00, and each part belongs to its own day for
	// Weekdays and DaysOfMonth.
	Times []TimeRange `json:"times,omitempty"`
	// Weekdays are ranges of days of the week, "sunday" to "saturday", e.g.
	// "monday:friday". Case-insensitive.
	Weekdays []string `json:"weekdays,omitempty"`
	// DaysOfMonth are ranges of days of the month, 1 to 31, or -1 (the last
	// day) to -31 counted from the end, e.g. "1:5", "-3:-1". A range is
	// clamped to the month's length; a negative start needs a negative end.
	DaysOfMonth []string `json:"daysOfMonth,omitempty"`
	// Months are ranges of months, by name ("january") or number (1 to 12),
	// e.g. "june:august".
	Months []string `json:"months,omitempty"`
	// Years are ranges of years, e.g. "2025:2026".
	Years []string `json:"years,omitempty"`
	// Location is the IANA time zone in which the fields are read, e.g.
	// "Europe/Berlin". Default "UTC"; "Local" is the host's zone.
	Location string `json:"location,omitempty"`
}

// TimeRange is a range of the time of day, "HH:MM" to "HH:MM", the end
// exclusive (and at most "24:00").
type TimeRange struct {
	Start string `json:"startTime"`
	End   string `json:"endTime"`
}

// span is an inclusive range of integers.
type span struct{ begin, end int }

// interval is a TimeInterval compiled for contains.
type interval struct {
	minutes, weekdays, days, months, years []span
	loc                                    *time.Location
}

var weekdayNames = map[string]int{
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
}

var monthNames = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}

// compile checks ti and returns its compiled form; each error names the
// field (relative to ti) and what is wrong.
func (ti TimeInterval) compile() (interval, []*FieldError) {
	var out interval
	var errs []*FieldError
	bad := func(field, value, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	for i, tr := range ti.Times {
		field := fmt.Sprintf("Times[%d]", i)
		start, err1 := parseClock(tr.Start)
		end, err2 := parseClock(tr.End)
		switch {
		case err1 != nil:
			bad(field+".Start", strconv.Quote(tr.Start), "%v", err1)
		case err2 != nil:
			bad(field+".End", strconv.Quote(tr.End), "%v", err2)
		case start >= end:
			bad(field, tr.Start+"-"+tr.End, "start must be before end (a window across midnight is two ranges: to 24:00 and from 00:00)")
		default:
			out.minutes = append(out.minutes, span{start, end - 1})
		}
	}
	parseList := func(name string, list []string, member func(string) (int, error), check func(span) error) []span {
		var spans []span
		for i, s := range list {
			field := fmt.Sprintf("%s[%d]", name, i)
			sp, err := parseSpan(s, member)
			if err == nil {
				err = check(sp)
			}
			if err != nil {
				bad(field, strconv.Quote(s), "%v", err)
				continue
			}
			spans = append(spans, sp)
		}
		return spans
	}
	ordered := func(sp span) error {
		if sp.begin > sp.end {
			return fmt.Errorf("end %d is before start %d", sp.end, sp.begin)
		}
		return nil
	}
	out.weekdays = parseList("Weekdays", ti.Weekdays, named(weekdayNames, 1, 0), ordered)
	out.days = parseList("DaysOfMonth", ti.DaysOfMonth, number, checkDays)
	out.months = parseList("Months", ti.Months, named(monthNames, 1, 12), ordered)
	out.years = parseList("Years", ti.Years, number, func(sp span) error {
		if sp.begin < 1 {
			return fmt.Errorf("year %d out of range", sp.begin)
		}
		return ordered(sp)
	})
	out.loc = time.UTC
	if ti.Location != "" {
		loc, err := time.LoadLocation(ti.Location)
		if err != nil {
			bad("Location", strconv.Quote(ti.Location), "unknown time zone: %v", err)
		} else {
			out.loc = loc
		}
	}
	return out, errs
}

// checkDays validates a days-of-month range: 1 to 31 or -31 to -1, a
// negative start with a negative end, and a start that is not after the
// end in a month of 28 days, the shortest (where -1 is the 28th).
func checkDays(sp span) error {
	for _, d := range []int{sp.begin, sp.end} {
		if d == 0 || d < -31 || d > 31 {
			return fmt.Errorf("day %d out of range (1 to 31, or -31 to -1 from the month's end)", d)
		}
	}
	if sp.begin < 0 && sp.end > 0 {
		return fmt.Errorf("a negative start day needs a negative end day")
	}
	b, e := sp.begin, sp.end
	if b < 0 {
		b += 29
	}
	if e < 0 {
		e += 29
	}
	if b > e {
		return fmt.Errorf("end day %d is always before start day %d", sp.end, sp.begin)
	}
	return nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes of the day.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("want HH:MM")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("want HH:MM from 00:00 to 24:00")
	}
	return hh*60 + mm, nil
}

// parseSpan parses "a:b" or "a" with member parsing each end.
func parseSpan(s string, member func(string) (int, error)) (span, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, b, isRange := strings.Cut(s, ":")
	begin, err := member(a)
	if err != nil {
		return span{}, err
	}
	end := begin
	if isRange {
		if end, err = member(b); err != nil {
			return span{}, err
		}
	}
	return span{begin, end}, nil
}

func number(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return n, nil
}

// named parses a name of m, or, when lo <= hi, a number from lo to hi.
func named(m map[string]int, lo, hi int) func(string) (int, error) {
	return func(s string) (int, error) {
		if v, ok := m[s]; ok {
			return v, nil
		}
		if n, err := strconv.Atoi(s); err == nil && lo <= hi && n >= lo && n <= hi {
			return n, nil
		}
		return 0, fmt.Errorf("%q is not a valid name", s)
	}
}

// contains reports whether t, read in the interval's location, is inside
// every field that is set.
func (iv *interval) contains(t time.Time) bool {
	t = t.In(iv.loc)
	in := func(spans []span, v int) bool {
		if len(spans) == 0 {
			return true
		}
		for _, sp := range spans {
			if v >= sp.begin && v <= sp.end {
				return true
			}
		}
		return false
	}
	if !in(iv.minutes, t.Hour()*60+t.Minute()) || !in(iv.weekdays, int(t.Weekday())) ||
		!in(iv.months, int(t.Month())) || !in(iv.years, t.Year()) {
		return false
	}
	if len(iv.days) == 0 {
		return true
	}
	n := daysIn(t)
	for _, sp := range iv.days {
		b, e := sp.begin, sp.end
		if b < 0 {
			b += n + 1
		}
		if e < 0 {
			e += n + 1
		}
		if b > n {
			continue // the range starts after this month's end
		}
		b, e = max(b, 1), min(e, n)
		if d := t.Day(); d >= b && d <= e {
			return true
		}
	}
	return false
}

// daysIn returns the number of days in t's month.
func daysIn(t time.Time) int {
	return time.Date(t.Year(), t.Month()+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
