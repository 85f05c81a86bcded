package promtextexporter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
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

	// responses keeps buffers between requests: a sync.Pool would drop
	// them at every GC.
	responses chan *response
	plainSize atomic.Int64 // of the last uncompressed body
}

func newExporter(cfg *Config, set component.TelemetrySettings) *promTextExporter {
	return &promTextExporter{cfg: cfg, set: set, store: newStore(cfg, set.Logger), responses: make(chan *response, 2)}
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

// A response is what a /metrics request reuses: the chunk the text is
// rendered in, the gzip writer and the body.
type response struct {
	chunk []byte
	zw    *gzip.Writer
	body  bytes.Buffer
}

// keepBody is the largest body kept for the next request: a compressed
// exposition is well under it, an uncompressed one (megabytes, for clients
// that refuse gzip) is left to the GC.
const keepBody = 4 << 20

// serveMetrics writes the exposition, gzipped when the client accepts it
// (as Prometheus does; klauspost/compress's gzip, already in the
// collector's build, at BestSpeed takes about half the CPU of the standard
// library's). The body is rendered, and compressed, under the
// store's lock and written to the client after it is released, so a slow
// client never blocks ConsumeMetrics.
func (e *promTextExporter) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var resp *response
	select {
	case resp = <-e.responses:
	default:
		resp = &response{}
	}
	defer func() {
		if resp.body.Cap() > keepBody {
			resp.body = bytes.Buffer{}
		}
		select {
		case e.responses <- resp:
		default: // as many kept as concurrent requests seen, up to cap
		}
	}()

	resp.body.Reset()
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	var out io.Writer = &resp.body
	if !gz { // one allocation of about the right size, not a doubling series
		resp.body.Grow(int(e.plainSize.Load()) * 9 / 8)
	}
	if gz {
		if resp.zw == nil {
			resp.zw, _ = gzip.NewWriterLevel(&resp.body, gzip.BestSpeed)
		} else {
			resp.zw.Reset(&resp.body)
		}
		out = resp.zw
	}
	var err error
	resp.chunk, err = e.store.writeText(out, resp.chunk, time.Now())
	if err == nil && gz {
		err = resp.zw.Close()
	}
	if err != nil { // writing to memory: not expected
		e.set.Logger.Error("rendering /metrics", zap.Error(err))
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	if !gz {
		e.plainSize.Store(int64(resp.body.Len()))
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(resp.body.Len()))
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	if _, err := w.Write(resp.body.Bytes()); err != nil {
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
