package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter's default codec
	"google.golang.org/grpc/stats"
)

// otlpSink is an OTLP metrics server, over gRPC and over HTTP, that counts
// what it receives and keeps nothing, so the collector's export path is
// measured, not a backend. It refuses what the Collector's OTLP receiver
// refuses by default, so a pipeline that sends too-big requests fails here
// as it would against a real gateway: gRPC messages over 4 MiB (gRPC's
// default, checked after decompression) and OTLP/HTTP bodies over 20 MiB
// (confighttp's max_request_body_size, checked as sent and as decoded).
type otlpSink struct {
	pmetricotlp.UnimplementedGRPCServer
	points, exports atomic.Int64
	// wire and raw are the bytes of the received messages as sent
	// (compressed) and decoded.
	wire, raw atomic.Int64
	// refused counts the OTLP/HTTP requests answered with an error.
	refused atomic.Int64
	grpc    *grpc.Server
	http    *http.Server
	// endpoints is what each OTLP exporter type of a pipeline is pointed
	// at: otlp_grpc at host:port, otlp_http at a URL.
	endpoints map[string]string
}

// maxHTTPBody is the Collector's OTLP/HTTP receiver's default body limit
// (confighttp, v0.159).
const maxHTTPBody = 20 << 20

func (s *otlpSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	s.points.Add(int64(req.Metrics().DataPointCount()))
	s.exports.Add(1)
	return pmetricotlp.NewExportResponse(), nil
}

func startSink() (*otlpSink, error) {
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gl.Close()
		return nil, err
	}
	s := &otlpSink{endpoints: map[string]string{
		"otlp_grpc": gl.Addr().String(),
		"otlp_http": "http://" + hl.Addr().String(),
	}}
	s.grpc = grpc.NewServer(grpc.StatsHandler(sinkStats{s}))
	pmetricotlp.RegisterGRPCServer(s.grpc, s)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", s.serveHTTP)
	s.http = &http.Server{Handler: mux}
	go func() { _ = s.grpc.Serve(gl) }()
	go func() { _ = s.http.Serve(hl) }()
	return s, nil
}

func (s *otlpSink) stop() {
	s.grpc.Stop()
	_ = s.http.Close()
}

// serveHTTP takes one OTLP/HTTP protobuf request.
func (s *otlpSink) serveHTTP(w http.ResponseWriter, r *http.Request) {
	wire, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPBody))
	if err == nil {
		var raw []byte
		if raw, err = decodeBody(r.Header.Get("Content-Encoding"), wire); err == nil {
			req := pmetricotlp.NewExportRequest()
			if err = req.UnmarshalProto(raw); err == nil {
				s.wire.Add(int64(len(wire)))
				s.raw.Add(int64(len(raw)))
				_, _ = s.Export(r.Context(), req)
			}
		}
	}
	if err != nil {
		s.refused.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, _ := pmetricotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// decoders are the Content-Encodings the otlp_http exporter offers, each
// bounded to maxHTTPBody decoded bytes.
var decoders = map[string]func([]byte) ([]byte, error){
	"": func(b []byte) ([]byte, error) { return b, nil },
	"gzip": func(b []byte) ([]byte, error) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return readBounded(zr)
	},
	"zstd": func(b []byte) ([]byte, error) {
		d, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return readBounded(d)
	},
	// The exporter's "snappy" is the block format (one snappy.Encode).
	"snappy": func(b []byte) ([]byte, error) {
		n, err := snappy.DecodedLen(b)
		if err != nil {
			return nil, err
		}
		if n > maxHTTPBody {
			return nil, errTooBig
		}
		return snappy.Decode(nil, b)
	},
}

var errTooBig = fmt.Errorf("decoded body over %d bytes (the Collector's OTLP/HTTP receiver's default max_request_body_size)", maxHTTPBody)

func decodeBody(encoding string, b []byte) ([]byte, error) {
	dec, ok := decoders[encoding]
	if !ok {
		return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
	return dec(b)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxHTTPBody+1))
	if err == nil && len(b) > maxHTTPBody {
		err = errTooBig
	}
	return b, err
}

// sinkStats counts the payload bytes of every received gRPC message.
type sinkStats struct{ s *otlpSink }

func (h sinkStats) HandleRPC(_ context.Context, st stats.RPCStats) {
	if in, ok := st.(*stats.InPayload); ok {
		h.s.wire.Add(int64(in.CompressedLength))
		h.s.raw.Add(int64(in.Length))
	}
}
func (sinkStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (sinkStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (sinkStats) HandleConn(context.Context, stats.ConnStats)                       {}

// The otlp_grpc exporter also offers zstd and snappy; a gRPC server decodes
// only the codecs registered in its process.
func init() {
	encoding.RegisterCompressor(zstdCodec{})
	encoding.RegisterCompressor(snappyCodec{})
}

type zstdCodec struct{}

func (zstdCodec) Name() string { return "zstd" }
func (zstdCodec) Compress(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w)
}
func (zstdCodec) Decompress(r io.Reader) (io.Reader, error) {
	d, err := zstd.NewReader(r)
	if err != nil {
		return nil, err
	}
	return d.IOReadCloser(), nil
}

type snappyCodec struct{}

func (snappyCodec) Name() string { return "snappy" }
func (snappyCodec) Compress(w io.Writer) (io.WriteCloser, error) {
	return snappy.NewBufferedWriter(w), nil
}
func (snappyCodec) Decompress(r io.Reader) (io.Reader, error) { return snappy.NewReader(r), nil }
