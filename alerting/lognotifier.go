package alerting

import (
	"context"
	"log/slog"
	"maps"
	"slices"
)

// NewLogNotifier returns a Notifier, named "log", that writes each
// notification to l: firing alerts at error (Critical), warn (Warning) or
// info (Info) level, resolved ones at info level. A nil l means
// slog.Default(). It never fails and is safe for concurrent use.
func NewLogNotifier(l *slog.Logger) Notifier {
	if l == nil {
		l = slog.Default()
	}
	return logNotifier{l: l}
}

type logNotifier struct{ l *slog.Logger }

func (logNotifier) Name() string { return "log" }

func (n logNotifier) Notify(ctx context.Context, a Alert) error {
	level := slog.LevelInfo
	if a.State != Resolved {
		switch a.Level {
		case Critical:
			level = slog.LevelError
		case Warning:
			level = slog.LevelWarn
		}
	}
	attrs := []slog.Attr{
		slog.String("id", a.ID),
		slog.String("rule", a.Rule),
		slog.String("severity", a.Level.String()),
		slog.String("state", a.State.String()),
		slog.Float64("value", a.Value),
	}
	if len(a.Labels) > 0 {
		labels := make([]any, 0, len(a.Labels))
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			labels = append(labels, slog.String(k, a.Labels[k]))
		}
		attrs = append(attrs, slog.Group("labels", labels...))
	}
	if a.HeldBack > 0 {
		attrs = append(attrs, slog.Int("heldBack", a.HeldBack))
	}
	if a.Flapping {
		attrs = append(attrs, slog.Bool("flapping", true))
	}
	if a.Acknowledged {
		attrs = append(attrs, slog.String("acknowledgedBy", a.AcknowledgedBy))
	}
	n.l.LogAttrs(ctx, level, "alert "+a.State.String()+": "+a.Title, attrs...)
	return nil
}
