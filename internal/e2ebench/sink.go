package main

import (
	"context"
	"io"
	"net"
	"sync/atomic"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp exporter's default codec
	"google.golang.org/grpc/stats"
)

// otlpSink is an OTLP/gRPC metrics server that counts what it receives and
// keeps nothing, so the collector's export path is measured, not a backend.
// Like the collector's OTLP receiver by default, it takes messages of up to
// 4 MiB (gRPC's default, checked after decompression): a pipeline that
// sends bigger ones would fail against a real gateway, and fails here.
type otlpSink struct {
	pmetricotlp.UnimplementedGRPCServer
	points, exports atomic.Int64
	// wire and raw are the bytes of the received messages as sent
	// (compressed) and decoded.
	wire, raw atomic.Int64
	srv       *grpc.Server
	addr      string
}

func (s *otlpSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	s.points.Add(int64(req.Metrics().DataPointCount()))
	s.exports.Add(1)
	return pmetricotlp.NewExportResponse(), nil
}

func startSink() (*otlpSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &otlpSink{addr: l.Addr().String()}
	s.srv = grpc.NewServer(grpc.StatsHandler(sinkStats{s}))
	pmetricotlp.RegisterGRPCServer(s.srv, s)
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *otlpSink) stop() { s.srv.Stop() }

// sinkStats counts the payload bytes of every received message.
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

// The otlp exporter also offers zstd and snappy; a gRPC server decodes only
// the codecs registered in its process.
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
