package promtextexporter

import (
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// contentType is the text exposition format, version 0.0.4.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

type promTextExporter struct {
	cfg    *Config
	set    component.TelemetrySettings
	store  *store
	server *http.Server
	done   chan struct{}

	// bufs keeps exposition buffers between requests: an exposition is
	// megabytes, which a sync.Pool would drop at every GC.
	bufs  chan []byte
	gzips sync.Pool // *gzip.Writer
}

func newExporter(cfg *Config, set component.TelemetrySettings) *promTextExporter {
	return &promTextExporter{cfg: cfg, set: set, store: newStore(cfg, set.Logger), bufs: make(chan []byte, 2)}
}

// ConsumeMetrics keeps the latest point of every series.
func (e *promTextExporter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	e.store.consume(md, time.Now())
	return nil
}

func (e *promTextExporter) Start(ctx context.Context, host component.Host) error {
	ln, err := e.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", http.HandlerFunc(e.serveMetrics))
	srv, err := e.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), e.set, mux)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	e.server = srv
	go func() { _ = srv.Serve(ln) }()

	// Forget expired series even when nothing is consumed or scraped, so a
	// stopped pipeline does not hold their memory.
	e.done = make(chan struct{})
	go func(done <-chan struct{}) {
		t := time.NewTicker(e.cfg.MetricExpiration)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				e.store.expire(now)
			case <-done:
				return
			}
		}
	}(e.done)
	return nil
}

func (e *promTextExporter) Shutdown(ctx context.Context) error {
	if e.done != nil {
		close(e.done)
		e.done = nil
	}
	if e.server != nil {
		return e.server.Shutdown(ctx)
	}
	return nil
}

// serveMetrics writes the exposition, gzipped when the client accepts it
// (as Prometheus does). The text is rendered into a pooled buffer under the
// store's lock and written after it is released, so a slow client never
// blocks ConsumeMetrics.
func (e *promTextExporter) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var text []byte
	select {
	case text = <-e.bufs:
	default:
	}
	text = e.store.appendText(text[:0], time.Now())
	defer func() {
		select {
		case e.bufs <- text:
		default: // as many buffers kept as concurrent requests seen, up to cap
		}
	}()

	h := w.Header()
	h.Set("Content-Type", contentType)
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if _, err := w.Write(text); err != nil {
			e.set.Logger.Debug("writing /metrics", zap.Error(err))
		}
		return
	}
	h.Set("Content-Encoding", "gzip")
	zw, _ := e.gzips.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
	} else {
		zw.Reset(w)
	}
	defer e.gzips.Put(zw)
	if _, err := zw.Write(text); err != nil {
		e.set.Logger.Debug("writing /metrics", zap.Error(err))
		return
	}
	if err := zw.Close(); err != nil {
		e.set.Logger.Debug("writing /metrics", zap.Error(err))
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
	}
	return false
}
