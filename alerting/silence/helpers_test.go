package silence

import "time"

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func eq(name, value string) Matcher { return Matcher{Name: name, Value: value} }

// labelMap is a set of labels as matchers read them.
type labelMap map[string]string

func (m labelMap) Get(name string) string { return m[name] }
