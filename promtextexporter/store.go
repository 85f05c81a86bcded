package promtextexporter

import (
	"hash/maphash"
	"slices"
	"sync"
	"time"

	prometheustranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// kind is a family's Prometheus type.
type kind uint8

const (
	kindCounter kind = iota
	kindGauge
	kindHistogram
	kindSummary
)

var kindText = [...]string{
	kindCounter:   "counter",
	kindGauge:     "gauge",
	kindHistogram: "histogram",
	kindSummary:   "summary",
}

var kindProto = [...]dto.MetricType{
	kindCounter:   dto.MetricType_COUNTER,
	kindGauge:     dto.MetricType_GAUGE,
	kindHistogram: dto.MetricType_HISTOGRAM,
	kindSummary:   dto.MetricType_SUMMARY,
}

// A series is the latest point of one labelled series. line is its
// labels as the exposition writes them after the family's name, {a="x",...},
// and its key in the family.
type series struct {
	line      string
	value     float64
	ts, start pcommon.Timestamp
	seen      int64       // UnixNano of the ConsumeMetrics that last set it
	msg       *dto.Metric // histograms and summaries, encoded by expfmt
	keys      []rawKey    // its keys in family.byKey
	gone      bool        // removed (no recorded value); dropped at the next expire
}

// A family is one Prometheus metric name with its type, help and series, in
// first-seen order.
type family struct {
	name   string
	kind   kind
	help   string
	header []byte
	series map[string]*series // by line
	byKey  map[rawKey]*series // by raw attributes, see seriesFor
	list   []*series
}

// A nameKey identifies an OTel metric's naming inputs.
type nameKey struct {
	name, unit string
	typ        otlptranslator.MetricType
}

// A labelName is an attribute key's translated label name (or why it has none).
type labelName struct {
	name string
	err  error
}

// store holds the latest point of every series; consume and writeText are
// its two halves, serialised by mu.
type store struct {
	mu     sync.Mutex
	logger *zap.Logger

	expiration               time.Duration
	withoutScopeInfo         bool
	resourceLabels           bool
	excludeServiceAttributes bool
	metricNamer              otlptranslator.MetricNamer
	labelNamer               otlptranslator.LabelNamer
	targetInfoName           string
	constLabels              []labelPair

	names    map[nameKey]string
	labels   map[string]labelName
	families map[string]*family
	sorted   []*family // by name, as client_golang's Gather orders them
	warned   map[string]bool

	baseIDs    map[string]uint32 // base label renderings, see internBase
	nextBaseID uint32
	baseID     uint32 // of the scope being consumed
	seeds      [2]maphash.Seed

	// scratch, reused by every point
	point []labelPair
	base  []labelPair
	line  []byte
	key   []byte
}

func newStore(cfg *Config, logger *zap.Logger) *store {
	labelNamer := otlptranslator.LabelNamer{
		PreserveMultipleUnderscores: !prometheustranslator.DropSanitizationGate.IsEnabled(),
	}
	s := &store{
		logger:                   logger,
		expiration:               cfg.MetricExpiration,
		withoutScopeInfo:         cfg.WithoutScopeInfo,
		resourceLabels:           cfg.ResourceToTelemetrySettings.Enabled,
		excludeServiceAttributes: cfg.ResourceToTelemetrySettings.ExcludeServiceAttributes,
		metricNamer: otlptranslator.MetricNamer{
			WithMetricSuffixes: strategies[cfg.strategy()],
			Namespace:          cfg.Namespace,
		},
		labelNamer:     labelNamer,
		targetInfoName: prometheustranslator.TargetInfoMetricName,
		names:          map[nameKey]string{},
		labels:         map[string]labelName{},
		families:       map[string]*family{},
		baseIDs:        map[string]uint32{},
		seeds:          [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		warned:         map[string]bool{},
	}
	if cfg.Namespace != "" {
		if ns, err := labelNamer.Build(cfg.Namespace); err == nil {
			s.targetInfoName = ns + "_" + s.targetInfoName
		}
	}
	for k, v := range cfg.ConstLabels {
		s.constLabels = append(s.constLabels, labelPair{name: k, str: v})
	}
	return s
}

// warnOnce logs a reason for dropping data once per key, so a pipeline that
// keeps sending it does not flood the log.
func (s *store) warnOnce(key, msg string, fields ...zap.Field) {
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	s.logger.Warn(msg, fields...)
}

func (s *store) labelName(key string) (string, error) {
	if l, ok := s.labels[key]; ok {
		return l.name, l.err
	}
	name, err := s.labelNamer.Build(key)
	s.labels[key] = labelName{name, err}
	return name, err
}

func (s *store) metricName(m pmetric.Metric) (string, error) {
	k := nameKey{name: m.Name(), unit: m.Unit(), typ: translatorType(m)}
	if n, ok := s.names[k]; ok {
		return n, nil
	}
	n, err := s.metricNamer.Build(otlptranslator.Metric{Name: k.name, Unit: k.unit, Type: k.typ})
	if err != nil {
		return "", err
	}
	s.names[k] = n
	return n, nil
}

// translatorType is the otlptranslator type of a metric, as the contrib
// exporter derives it.
func translatorType(m pmetric.Metric) otlptranslator.MetricType {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return otlptranslator.MetricTypeGauge
	case pmetric.MetricTypeSum:
		if m.Sum().IsMonotonic() {
			return otlptranslator.MetricTypeMonotonicCounter
		}
		return otlptranslator.MetricTypeNonMonotonicCounter
	case pmetric.MetricTypeHistogram:
		return otlptranslator.MetricTypeHistogram
	case pmetric.MetricTypeExponentialHistogram:
		return otlptranslator.MetricTypeExponentialHistogram
	case pmetric.MetricTypeSummary:
		return otlptranslator.MetricTypeSummary
	}
	return otlptranslator.MetricTypeUnknown
}

// family returns the family of name, creating it; nil when name already
// has another type (the contrib exporter drops such metrics too).
func (s *store) family(name, help string, k kind) *family {
	f := s.families[name]
	if f == nil {
		f = &family{name: name, kind: k, help: help, header: familyHeader(name, help, k), series: map[string]*series{}, byKey: map[rawKey]*series{}}
		s.families[name] = f
		i, _ := slices.BinarySearchFunc(s.sorted, name, func(f *family, n string) int {
			switch {
			case f.name < n:
				return -1
			case f.name > n:
				return 1
			}
			return 0
		})
		s.sorted = slices.Insert(s.sorted, i, f)
		return f
	}
	if f.kind != k {
		s.warnOnce("type:"+name, "dropping metric: its Prometheus name already has another type",
			zap.String("metric", name), zap.String("existing", kindText[f.kind]), zap.String("dropped", kindText[k]))
		return nil
	}
	return f
}

// lookup returns the series of the line in s.line, creating it with the
// labels' dto form for histograms and summaries.
func (s *store) lookup(f *family, pointPairs []labelPair) *series {
	if ser := f.series[string(s.line)]; ser != nil {
		return ser
	}
	ser := &series{line: string(s.line)}
	if f.kind == kindHistogram || f.kind == kindSummary {
		ser.msg = &dto.Metric{Label: dtoLabels(pointPairs, s.base)}
	}
	f.series[ser.line] = ser
	f.list = append(f.list, ser)
	return ser
}

func dtoLabels(point, base []labelPair) []*dto.LabelPair {
	var out []*dto.LabelPair
	mergeLabels(point, base, func(p *labelPair) {
		name, value := p.name, p.value()
		out = append(out, &dto.LabelPair{Name: &name, Value: &value})
	})
	return out
}

// remove forgets a series (whose point carried no recorded value, or that
// expired); expire drops it from the list.
func (f *family) remove(ser *series) {
	if ser.gone {
		return // a new series may have its line and keys by now
	}
	delete(f.series, ser.line)
	for _, k := range ser.keys {
		delete(f.byKey, k)
	}
	ser.gone = true
}

// expire drops series not updated within the expiration, and removed ones,
// and families left without series.
func (s *store) expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.expiration).UnixNano()
	kept := s.sorted[:0]
	for _, f := range s.sorted {
		live := f.list[:0]
		for _, ser := range f.list {
			if ser.gone || ser.seen < cutoff {
				f.remove(ser)
				continue
			}
			live = append(live, ser)
		}
		clear(f.list[len(live):])
		f.list = live
		if len(live) == 0 {
			delete(s.families, f.name)
			continue
		}
		kept = append(kept, f)
	}
	clear(s.sorted[len(kept):])
	s.sorted = kept
}
