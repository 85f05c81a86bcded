package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// maxOTLPHTTPBody is the Collector's OTLP/HTTP receiver's default body limit
// (confighttp max_request_body_size in v0.159), applied like it to the body
// as sent and as decoded.
const maxOTLPHTTPBody = 20 << 20

// httpSink is an OTLP/HTTP metrics server (POST /v1/metrics, protobuf) that
// keeps what it receives and the Content-Encoding of every request.
type httpSink struct {
	*otlpSink
	mu        sync.Mutex
	encodings map[string]int
	refused   []string
}

// startHTTPSink serves an httpSink on a free localhost port and returns the
// URL to give otlp_http as its endpoint; with tls, it serves HTTPS with
// httptest's certificate, whose PEM it also returns.
func startHTTPSink(t *testing.T, tls bool) (s *httpSink, url string, certPEM []byte) {
	t.Helper()
	s = &httpSink{otlpSink: &otlpSink{}, encodings: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if tls {
		srv.StartTLS()
		certPEM = pemCert(srv.Certificate().Raw)
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return s, srv.URL, certPEM
}

func (s *httpSink) serve(w http.ResponseWriter, r *http.Request) {
	if err := s.export(r); err != nil {
		s.mu.Lock()
		s.refused = append(s.refused, err.Error())
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, err := pmetricotlp.NewExportResponse().MarshalProto()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func (s *httpSink) export(r *http.Request) error {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/metrics" {
		return fmt.Errorf("%s %s, want POST /v1/metrics", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return fmt.Errorf("Content-Type %q, want application/x-protobuf", ct)
	}
	enc := r.Header.Get("Content-Encoding")
	s.mu.Lock()
	s.encodings[enc]++
	s.mu.Unlock()
	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxOTLPHTTPBody)
	switch enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		body = zr
	default:
		return fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxOTLPHTTPBody+1))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if len(raw) > maxOTLPHTTPBody {
		return fmt.Errorf("decoded body over %d bytes", maxOTLPHTTPBody)
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		return fmt.Errorf("decoding the request: %w", err)
	}
	_, err = s.Export(r.Context(), req)
	return err
}

// requests returns the count of requests per Content-Encoding and the
// reasons of the refused ones.
func (s *httpSink) requests() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.encodings), slices.Clone(s.refused)
}
