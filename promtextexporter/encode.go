package promtextexporter

import (
	"bytes"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"
)

// chunkSize is how much text is rendered before it is handed to the writer:
// enough to amortise the writes, little enough that a gzip response never
// holds the whole uncompressed exposition (megabytes) in memory.
const chunkSize = 64 << 10

// writeText writes the exposition of every live series to w, rendered in
// chunk (returned for reuse): families by name, series in first-seen order.
// Counters and gauges are their stored line and the formatted value;
// histograms and summaries go through expfmt.
func (s *store) writeText(w io.Writer, chunk []byte, now time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.expiration).UnixNano()
	dst := chunk[:0]
	for _, f := range s.sorted {
		if f.kind == kindHistogram || f.kind == kindSummary {
			dst = s.appendProto(dst, f, cutoff)
		} else {
			header := false
			for _, ser := range f.list {
				if ser.gone || ser.seen < cutoff {
					continue
				}
				if !header {
					dst = append(dst, f.header...)
					header = true
				}
				dst = append(dst, f.name...)
				dst = append(dst, ser.line...)
				dst = append(dst, ' ')
				dst = appendValue(dst, ser.value)
				dst = append(dst, '\n')
				if len(dst) >= chunkSize {
					if _, err := w.Write(dst); err != nil {
						return dst, err
					}
					dst = dst[:0]
				}
			}
		}
	}
	_, err := w.Write(dst)
	return dst, err
}

// appendText appends the whole exposition to dst.
func (s *store) appendText(dst []byte, now time.Time) []byte {
	b := bytes.NewBuffer(dst)
	_, _ = s.writeText(b, nil, now) // a bytes.Buffer does not fail
	return b.Bytes()
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
