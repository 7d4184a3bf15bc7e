package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// evaluation reads the metrics and turns them into the alerts' changes:
// it collects the reader once, has the series store hand every reading to
// the lifecycle, gives the alerts no series confirmed their verdict, and
// records the rules that cannot be evaluated. Its fields are guarded by
// the ledger's change lock, seq by its mu too.
type evaluation struct {
	reader *sdkmetric.ManualReader
	grace  time.Duration // Config.RestoreGrace
	log    *slog.Logger

	rm         metricdata.ResourceMetrics // the collection, reused
	store      *seriesStore
	slos       *sloStore
	seq        uint64    // evaluations so far
	graceUntil time.Time // end of RestoreGrace, set by the first evaluation
}

// run evaluates once as one change of l: see Engine.Evaluate.
func (ev *evaluation) run(ctx context.Context, l *ledger) error {
	l.change.Lock()
	defer l.change.Unlock()
	var errs []error
	if err := ev.reader.Collect(ctx, &ev.rm); err != nil {
		if errors.Is(err, sdkmetric.ErrReaderNotRegistered) || errors.Is(err, sdkmetric.ErrReaderShutdown) || ctx.Err() != nil {
			return fmt.Errorf("alerting: collect metrics: %w", err)
		}
		// A failing observable callback spoils its own instruments only:
		// evaluate what was collected.
		errs = append(errs, fmt.Errorf("alerting: collect metrics: %w", err))
	}
	l.mu.Lock()
	ev.seq++
	p := l.begin()
	p.seq = ev.seq
	if p.seq == 1 {
		ev.graceUntil = p.now.Add(ev.grace)
	}
	ev.store.ingest(&ev.rm, l.rules, p.seq, p.now, p)
	ev.slos.ingest(&ev.rm, l.rules, p.now, p)
	ev.sweep(p, l.rules)
	ev.store.forget(l.rules, p.now)
	errs = append(errs, ev.ruleErrors(p, l.rules)...)
	l.commit(p)
	return errors.Join(errs...)
}

// sweep gives every active alert that no series confirmed in this
// evaluation (its series disappeared, or its rule is gone) a clear verdict.
// Alerts of a rule that failed to evaluate are left alone.
func (ev *evaluation) sweep(p *evalPass, rules *ruleSet) {
	for _, rec := range p.alerts.active {
		if rec.touched == p.seq {
			continue
		}
		// A restored alert waits out the grace period, both for its series
		// to reappear and for its rule, which a host may add after Start.
		if rec.restored && p.now.Before(ev.graceUntil) {
			continue
		}
		re := rules.get(rec.st.a.Rule)
		kind := obsGone
		switch {
		case re == nil || re.rule.Disabled:
			kind = obsRetire
		case p.errs[re] != nil:
			continue
		}
		rec.touched = p.seq
		p.apply(rec, re, observation{kind: kind})
	}
}

// ruleErrors records the rules' evaluation errors, logs the ones that
// changed and returns them in rule order.
func (ev *evaluation) ruleErrors(p *evalPass, rules *ruleSet) []error {
	var errs []error
	for _, re := range rules.order {
		err := p.errs[re]
		if err != nil {
			errs = append(errs, err)
		}
		switch {
		case err != nil && (re.err == nil || re.err.Error() != err.Error()):
			ev.log.Error("alerting: rule cannot be evaluated", slog.String("rule", re.rule.Name), slog.Any("error", err))
		case err == nil && re.err != nil:
			ev.log.Info("alerting: rule evaluates again", slog.String("rule", re.rule.Name))
		}
		re.err = err
	}
	return errs
}
