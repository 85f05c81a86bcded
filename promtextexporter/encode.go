package promtextexporter

import (
	"bytes"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"
)

// appendText appends the exposition of every live series to dst: families by
// name, series in first-seen order. Counters and gauges are their stored
// line and the formatted value; histograms and summaries go through expfmt.
func (s *store) appendText(dst []byte, now time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.expiration).UnixNano()
	for _, f := range s.sorted {
		if f.kind == kindHistogram || f.kind == kindSummary {
			dst = s.appendProto(dst, f, cutoff)
			continue
		}
		header := false
		for _, ser := range f.list {
			if ser.gone || ser.seen < cutoff {
				continue
			}
			if !header {
				dst = append(dst, f.header...)
				header = true
			}
			dst = append(dst, ser.line...)
			dst = append(dst, ' ')
			dst = appendValue(dst, ser.value)
			dst = append(dst, '\n')
		}
	}
	return dst
}

func (s *store) appendProto(dst []byte, f *family, cutoff int64) []byte {
	mf := &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: kindProto[f.kind].Enum()}
	for _, ser := range f.list {
		if !ser.gone && ser.seen >= cutoff {
			mf.Metric = append(mf.Metric, ser.msg)
		}
	}
	if len(mf.Metric) == 0 {
		return dst
	}
	b := bytes.NewBuffer(dst)
	if _, err := expfmt.MetricFamilyToText(b, mf); err != nil {
		s.logger.Error("encoding a metric family", zap.String("metric", f.name), zap.Error(err))
	}
	return b.Bytes()
}
