// Package labels bounds the label values otelmon records: each raw value
// (a source, service or cache type a host passes) maps to one sanitized
// label and one per-label entry, and past a cardinality limit every new
// value shares the Overflow label, so unbounded names cannot grow memory
// or the number of series.
package labels

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/strutil"
)

// Label values with a special meaning.
const (
	// Unknown is recorded for an empty source, service or cache type.
	Unknown = "unknown"
	// Overflow is recorded for values beyond the cardinality limit.
	Overflow = "__overflow__"
	// MaxLen bounds a label value in bytes.
	MaxLen = 128
)

// Table maps raw label values to per-value entries of type T. Lookups
// of known values take no lock: the map is copied on write and swapped
// atomically, and writes (a value seen for the first time) are rare.
type Table[T any] struct {
	key   attribute.Key
	limit int
	make  func(label string, set attribute.Set) *T

	byRaw atomic.Pointer[map[string]*T] // raw input → entry; copy on write

	mu       sync.Mutex    // serializes inserts; guards the fields below
	byLabel  map[string]*T // sanitized label → entry
	entries  []*T          // in insertion order, for collection
	overflow *T
}

// NewTable returns a table whose entries mk makes for the label under key,
// with at most limit labels before Overflow.
func NewTable[T any](key string, limit int, mk func(string, attribute.Set) *T) *Table[T] {
	t := &Table[T]{key: attribute.Key(key), limit: limit, make: mk, byLabel: map[string]*T{}}
	m := map[string]*T{}
	t.byRaw.Store(&m)
	return t
}

// Get returns the entry for raw, creating it on first use.
func (t *Table[T]) Get(raw string) *T {
	if e, ok := (*t.byRaw.Load())[raw]; ok {
		return e
	}
	return t.insert(raw)
}

func (t *Table[T]) insert(raw string) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.byRaw.Load()
	if e, ok := old[raw]; ok {
		return e
	}
	label := Sanitize(raw)
	e, ok := t.byLabel[label]
	if !ok {
		if len(t.byLabel) >= t.limit {
			if t.overflow == nil {
				t.overflow = t.newEntryLocked(Overflow)
			}
			// Not remembered under raw: unbounded inputs must not grow the map.
			return t.overflow
		}
		e = t.newEntryLocked(label)
		t.byLabel[label] = e
	}
	// Raw spellings of one label (cut or repaired values) are remembered up
	// to a bound; beyond it they still resolve, through this slower path.
	if len(old) < 4*t.limit {
		m := make(map[string]*T, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[raw] = e
		t.byRaw.Store(&m)
	}
	return e
}

func (t *Table[T]) newEntryLocked(label string) *T {
	e := t.make(label, attribute.NewSet(t.key.String(label)))
	t.entries = append(t.entries, e)
	return e
}

// Each calls fn for every entry, overflow included, in insertion order.
func (t *Table[T]) Each(fn func(*T)) {
	t.mu.Lock()
	entries := t.entries[:len(t.entries):len(t.entries)]
	t.mu.Unlock()
	for _, e := range entries {
		fn(e)
	}
}

// Sanitize maps a raw value to the label value that is exported.
func Sanitize(s string) string {
	if s == "" {
		return Unknown
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strutil.Truncate(s, MaxLen)
}
