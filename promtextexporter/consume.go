package promtextexporter

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// The resource attributes the contrib exporter maps to job and instance.
const (
	serviceName       = "service.name"
	serviceNamespace  = "service.namespace"
	serviceInstanceID = "service.instance.id"
)

func isServiceAttribute(k string) bool {
	return k == serviceName || k == serviceNamespace || k == serviceInstanceID
}

func jobOf(res pcommon.Map) (string, bool) {
	name, ok := res.Get(serviceName)
	if !ok {
		return "", false
	}
	if ns, ok := res.Get(serviceNamespace); ok {
		return ns.AsString() + "/" + name.AsString(), true
	}
	return name.AsString(), true
}

func instanceOf(res pcommon.Map) (string, bool) {
	v, ok := res.Get(serviceInstanceID)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// consume keeps the latest point of every series in md.
func (s *store) consume(md pmetric.Metrics, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := now.UnixNano()
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		job, hasJob := jobOf(res)
		instance, hasInstance := instanceOf(res)
		if job != "" && instance != "" {
			s.putTargetInfo(res, job, instance, seen)
		}
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			sm := sms.At(j)
			if !s.buildBase(res, sm, job, hasJob, instance, hasInstance) {
				continue
			}
			ms := sm.Metrics()
			for k := range ms.Len() {
				s.putMetric(ms.At(k), seen)
			}
		}
	}
}

// buildBase fills s.base with the labels every point of the scope shares:
// resource attributes (resource_to_telemetry_conversion), scope labels, job,
// instance and const labels, sorted; false when a name cannot be translated.
func (s *store) buildBase(res pcommon.Map, sm pmetric.ScopeMetrics, job string, hasJob bool, instance string, hasInstance bool) bool {
	s.base = s.base[:0]
	ok := true
	add := func(key, value string) {
		name, named := s.seriesLabelName(key)
		if !named {
			ok = false
			return
		}
		s.base = append(s.base, labelPair{name: name, str: value})
	}
	if s.resourceLabels {
		for k, v := range res.All() {
			if s.excludeServiceAttributes && isServiceAttribute(k) {
				continue
			}
			add(k, v.AsString())
		}
	}
	if !s.withoutScopeInfo {
		scope := sm.Scope()
		for k, v := range scope.Attributes().All() {
			if k == "name" || k == "version" || k == "schema_url" {
				continue
			}
			add("otel_scope_"+k, v.AsString())
		}
		s.base = append(s.base,
			labelPair{name: "otel_scope_name", str: scope.Name()},
			labelPair{name: "otel_scope_version", str: scope.Version()},
			labelPair{name: "otel_scope_schema_url", str: sm.SchemaUrl()})
	}
	if hasJob {
		s.base = append(s.base, labelPair{name: model.JobLabel, str: job})
	}
	if hasInstance {
		s.base = append(s.base, labelPair{name: model.InstanceLabel, str: instance})
	}
	s.base = append(s.base, s.constLabels...)
	s.base = sortDedup(s.base)
	s.internBase()
	return ok
}

// internBase sets s.baseID to the id of the base labels' rendering. Ids are
// never reused, so forgetting them all when a pipeline's resources churn
// (more than maxBases distinct sets) only costs the next points a slow path.
func (s *store) internBase() {
	s.line = appendLabels(s.line[:0], nil, s.base)
	if id, ok := s.baseIDs[string(s.line)]; ok {
		s.baseID = id
		return
	}
	if len(s.baseIDs) >= maxBases {
		clear(s.baseIDs)
	}
	s.nextBaseID++
	s.baseID = s.nextBaseID
	s.baseIDs[string(s.line)] = s.baseID
}

const maxBases = 4096

// seriesLabelName is the label name of attribute key; false, warned about
// once, when it has none and the series that carry it are dropped.
func (s *store) seriesLabelName(key string) (string, bool) {
	name, err := s.labelName(key)
	if err != nil {
		s.warnOnce("label:"+key, "dropping series: attribute has no Prometheus label name", zap.String("attribute", key), zap.Error(err))
		return "", false
	}
	return name, true
}

// pointLabels fills s.point with a point's attributes as labels, sorted;
// false when a key cannot be translated.
func (s *store) pointLabels(attrs pcommon.Map) bool {
	s.point = s.point[:0]
	for k, v := range attrs.All() {
		name, ok := s.seriesLabelName(k)
		if !ok {
			return false
		}
		s.point = append(s.point, labelPair{name: name, val: v, isVal: true})
	}
	s.point = sortDedup(s.point)
	return true
}

// seriesFor returns the series of a point's attributes in family f,
// creating it; nil when a label cannot be named. The fast path looks the
// point up by its raw attributes (s.key: the scope's base labels' id, then
// each attribute's key and value as they come), which needs no label-name
// translation, sorting or escaping; only a miss renders the series line,
// which is the identity: a point whose attributes come in another order
// finds the same series by its line, and its raw key becomes an alias.
func (s *store) seriesFor(f *family, attrs pcommon.Map) *series {
	s.key = appendRawKey(s.key[:0], s.baseID, attrs)
	key := rawKey{maphash.Bytes(s.seeds[0], s.key), maphash.Bytes(s.seeds[1], s.key)}
	if ser := f.byKey[key]; ser != nil {
		return ser
	}
	if !s.render(attrs) {
		return nil
	}
	ser := s.lookup(f, s.point)
	f.byKey[key] = ser
	ser.keys = append(ser.keys, key)
	return ser
}

// A rawKey is a 128-bit hash of a point's raw attributes (appendRawKey):
// 16 bytes a series instead of the attributes' ~100, and a collision is
// beyond reach (about 1e-27 for a million series).
type rawKey [2]uint64

// appendRawKey appends base and each attribute as length-prefixed key, type
// and value: unambiguous whatever bytes the strings hold.
func appendRawKey(dst []byte, base uint32, attrs pcommon.Map) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, base)
	for k, v := range attrs.All() {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		t := v.Type()
		dst = append(dst, byte(t))
		switch t {
		case pcommon.ValueTypeStr:
			str := v.Str()
			dst = binary.AppendUvarint(dst, uint64(len(str)))
			dst = append(dst, str...)
		case pcommon.ValueTypeInt:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Int()))
		default:
			str := v.AsString()
			dst = binary.AppendUvarint(dst, uint64(len(str)))
			dst = append(dst, str...)
		}
	}
	return dst
}

// render puts the point's rendered labels, its identity in the family, in s.line.
func (s *store) render(attrs pcommon.Map) bool {
	if !s.pointLabels(attrs) {
		return false
	}
	s.line = appendLabels(s.line[:0], s.point, s.base)
	return true
}

func (s *store) putMetric(m pmetric.Metric, seen int64) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		// A gauge from an untyped Prometheus metric (metadata prometheus.type:
		// unknown) stays a gauge: the contrib exporter's accumulator drops
		// that metadata, so it serves such metrics as gauges too.
		if f := s.familyOf(m, kindGauge); f != nil {
			s.putNumbers(f, m.Gauge().DataPoints(), false, seen)
		}
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		temporality := sum.AggregationTemporality()
		if temporality == pmetric.AggregationTemporalityUnspecified ||
			(temporality == pmetric.AggregationTemporalityDelta && !sum.IsMonotonic()) {
			s.warnOnce("sum:"+m.Name(), "dropping sum: Prometheus has no type for a sum with unspecified temporality or a non-monotonic delta", zap.String("metric", m.Name()))
			return
		}
		k := kindGauge
		if sum.IsMonotonic() {
			k = kindCounter
		}
		if f := s.familyOf(m, k); f != nil {
			s.putNumbers(f, sum.DataPoints(), temporality == pmetric.AggregationTemporalityDelta, seen)
		}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		if h.AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
			s.warnOnce("hist:"+m.Name(), "dropping histogram: only cumulative histograms are exposed; use the cumulativetodelta/deltatocumulative processor upstream", zap.String("metric", m.Name()))
			return
		}
		if f := s.familyOf(m, kindHistogram); f != nil {
			s.putHistograms(f, h.DataPoints(), seen)
		}
	case pmetric.MetricTypeSummary:
		if f := s.familyOf(m, kindSummary); f != nil {
			s.putSummaries(f, m.Summary().DataPoints(), seen)
		}
	default:
		s.warnOnce("type:"+m.Name(), "dropping metric: the Prometheus text format cannot carry exponential histograms; use the prometheus exporter (native histograms) or OTLP", zap.String("metric", m.Name()), zap.String("type", m.Type().String()))
	}
}

func (s *store) familyOf(m pmetric.Metric, k kind) *family {
	name, err := s.metricName(m)
	if err != nil {
		s.warnOnce("name:"+m.Name(), "dropping metric: no Prometheus name", zap.String("metric", m.Name()), zap.Error(err))
		return nil
	}
	return s.family(name, m.Description(), k)
}

// pointSeries returns the series a point at ts sets; nil when the point
// sets nothing: a label cannot be named, it carries no recorded value (its
// series is removed), or it is older than the point kept.
func (s *store) pointSeries(f *family, attrs pcommon.Map, flags pmetric.DataPointFlags, ts pcommon.Timestamp) *series {
	ser := s.seriesFor(f, attrs)
	if ser == nil {
		return nil
	}
	if flags.NoRecordedValue() {
		f.remove(ser)
		return nil
	}
	if ser.seen != 0 && ts < ser.ts {
		return nil
	}
	return ser
}

// putNumbers keeps the latest value of each gauge or sum point; a delta
// monotonic sum continuing the stored point (start == stored time) adds to
// it, as the contrib exporter's accumulator does.
func (s *store) putNumbers(f *family, dps pmetric.NumberDataPointSlice, delta bool, seen int64) {
	for i := range dps.Len() {
		dp := dps.At(i)
		ser := s.pointSeries(f, dp.Attributes(), dp.Flags(), dp.Timestamp())
		if ser == nil {
			continue
		}
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		start := dp.StartTimestamp()
		if delta && ser.seen != 0 && start == ser.ts {
			v += ser.value
			start = ser.start
		}
		ser.value, ser.ts, ser.start, ser.seen = v, dp.Timestamp(), start, seen
	}
}

func (s *store) putHistograms(f *family, dps pmetric.HistogramDataPointSlice, seen int64) {
	for i := range dps.Len() {
		dp := dps.At(i)
		ser := s.pointSeries(f, dp.Attributes(), dp.Flags(), dp.Timestamp())
		if ser == nil {
			continue
		}
		ser.msg.Histogram = histogramOf(dp)
		ser.ts, ser.seen = dp.Timestamp(), seen
	}
}

// histogramOf converts explicit buckets to cumulative ones (bounds sorted,
// duplicates kept once), as the contrib exporter does; expfmt adds +Inf.
func histogramOf(dp pmetric.HistogramDataPoint) *dto.Histogram {
	bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
	type bucket struct {
		bound float64
		count uint64
	}
	bs := make([]bucket, 0, bounds.Len())
	for i := range bounds.Len() {
		var c uint64
		if i < counts.Len() {
			c = counts.At(i)
		}
		bs = append(bs, bucket{bounds.At(i), c})
	}
	slices.SortStableFunc(bs, func(a, b bucket) int { return cmp.Compare(a.bound, b.bound) })
	bs = slices.CompactFunc(bs, func(a, b bucket) bool { return a.bound == b.bound })
	count, sum := dp.Count(), dp.Sum()
	h := &dto.Histogram{SampleCount: &count, SampleSum: &sum}
	var cum uint64
	for _, b := range bs {
		cum += b.count
		bound, c := b.bound, cum
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: &bound, CumulativeCount: &c})
	}
	return h
}

func (s *store) putSummaries(f *family, dps pmetric.SummaryDataPointSlice, seen int64) {
	for i := range dps.Len() {
		dp := dps.At(i)
		ser := s.pointSeries(f, dp.Attributes(), dp.Flags(), dp.Timestamp())
		if ser == nil {
			continue
		}
		count, sum := dp.Count(), dp.Sum()
		sm := &dto.Summary{SampleCount: &count, SampleSum: &sum}
		qs := dp.QuantileValues()
		for q := range qs.Len() {
			quantile, value := qs.At(q).Quantile(), qs.At(q).Value()
			sm.Quantile = append(sm.Quantile, &dto.Quantile{Quantile: &quantile, Value: &value})
		}
		slices.SortFunc(sm.Quantile, func(a, b *dto.Quantile) int { return cmp.Compare(a.GetQuantile(), b.GetQuantile()) })
		ser.msg.Summary = sm
		ser.ts, ser.seen = dp.Timestamp(), seen
	}
}

// putTargetInfo keeps target_info for a resource with job and instance: its
// other attributes as labels (values of keys that translate to one label
// name joined with ";"), value 1, as the contrib exporter emits it.
func (s *store) putTargetInfo(res pcommon.Map, job, instance string, seen int64) {
	f := s.family(s.targetInfoName, "Target metadata", kindGauge)
	if f == nil {
		return
	}
	s.point = s.point[:0]
	for k, v := range res.All() {
		if isServiceAttribute(k) {
			continue
		}
		name, err := s.labelName(k)
		if err != nil {
			s.warnOnce("label:"+k, "dropping target_info: attribute has no Prometheus label name", zap.String("attribute", k), zap.Error(err))
			return
		}
		if at := slices.IndexFunc(s.point, func(p labelPair) bool { return p.name == name }); at >= 0 {
			s.point[at].str = strings.Join([]string{s.point[at].str, v.AsString()}, ";")
			continue
		}
		s.point = append(s.point, labelPair{name: name, str: v.AsString()})
	}
	s.point = append(s.point, labelPair{name: model.JobLabel, str: job}, labelPair{name: model.InstanceLabel, str: instance})
	s.point = sortDedup(s.point)
	s.line = appendLabels(s.line[:0], s.point, nil)
	ser := s.lookup(f, s.point)
	ser.value, ser.seen = 1, seen
}
