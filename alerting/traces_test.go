package alerting

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// traced returns a context carrying a sampled span of trace n, and the
// trace's id in hex.
func traced(n byte) (context.Context, string) {
	tid := trace.TraceID{0xab, 15: n}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0xcd, 7: n}, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), tid.String()
}

// An alert names the traces of the measurements that satisfied its
// condition, read from the exemplars: failures from the threshold on, the
// slow syncs only; a new occurrence starts afresh.
func TestAlertTraceIDs(t *testing.T) {
	type step struct {
		advance time.Duration
		do      func(h *harness)
		want    []string // the alert's TraceIDs; nil: no active alert
	}
	var ids [16]string
	ctxs := make([]context.Context, 16)
	for i := range ctxs {
		ctxs[i], ids[i] = traced(byte(i + 1))
	}
	for _, tc := range []struct {
		name  string
		rule  Rule
		steps []step
	}{
		{
			name: "consecutive failures",
			rule: Rule{Name: "cf", Level: Warning, Condition: ConsecutiveFailures{Count: 3}},
			steps: []step{
				{do: func(h *harness) { h.failures.Record(ctxs[0], 1, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctxs[1], 2, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctxs[2], 3, src("imdb")) }, want: []string{ids[2]}},
				{advance: time.Minute, want: []string{ids[2]}}, // nothing new
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctxs[3], 4, src("imdb")) }, want: []string{ids[2], ids[3]}},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctxs[4], 0, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) { h.failures.Record(ctxs[5], 3, src("imdb")) }, want: []string{ids[5]}},
			},
		},
		{
			name: "slow syncs",
			rule: Rule{Name: "slow", Level: Warning, Condition: SlowOperation{Threshold: 5 * time.Minute, Window: 5 * time.Minute}},
			steps: []step{
				{do: func(h *harness) { h.duration.Record(ctxs[0], 12, src("imdb")) }},
				{advance: time.Minute, do: func(h *harness) {
					h.duration.Record(ctxs[1], 20, src("imdb"))
					h.duration.Record(ctxs[2], 400, src("imdb"))
				}, want: []string{ids[2]}},
				{advance: time.Minute, do: func(h *harness) { h.duration.Record(ctxs[3], 700, src("imdb")) }, want: []string{ids[2], ids[3]}},
			},
		},
		{
			name: "untraced measurements",
			rule: Rule{Name: "cf", Level: Warning, Condition: ConsecutiveFailures{Count: 3}},
			steps: []step{
				{do: func(h *harness) { h.failures.Record(context.Background(), 3, src("imdb")) }, want: []string{}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.addRules(tc.rule)
			h.eval()
			for i, s := range tc.steps {
				h.clk.Advance(s.advance)
				if s.do != nil {
					s.do(h)
				}
				h.eval()
				act := h.eng.Active()
				switch {
				case s.want == nil && len(act) != 0:
					t.Fatalf("step %d: active %+v, want none", i, act)
				case s.want == nil:
				case len(act) != 1:
					t.Fatalf("step %d: active %+v, want one", i, act)
				case !slices.Equal(act[0].TraceIDs, s.want) && (len(s.want) > 0 || act[0].TraceIDs != nil):
					t.Fatalf("step %d: TraceIDs %v, want %v", i, act[0].TraceIDs, s.want)
				}
			}
		})
	}
}

func TestMergeTraceIDs(t *testing.T) {
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("%032x", i))
	}
	old := []string{many[0], many[1]}
	for _, tc := range []struct {
		name       string
		old, fresh []string
		want       []string
	}{
		{"nothing new", old, nil, old},
		{"repeats", old, []string{many[1], many[1]}, old},
		{"appended", old, []string{many[2], many[1]}, []string{many[0], many[1], many[2]}},
		{"newest ten kept", old, many[2:], many[2:]},
		{"from none", nil, many[:1], many[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.old)
			got := mergeTraceIDs(tc.old, tc.fresh)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if !slices.Equal(tc.old, before) {
				t.Error("old was changed")
			}
		})
	}
}
