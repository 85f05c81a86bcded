package promtextexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vppstats/vppstats/promtextexporter/internal/metadata"
)

// The component type, prometheus_text (metadata.yaml): Prometheus text
// exposition, as opposed to the contrib "prometheus" exporter built on
// client_golang's registry.
var componentType = metadata.Type

// NewFactory returns the prometheus_text exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		componentType,
		createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		ServerConfig:     confighttp.NewDefaultServerConfig(),
		ConstLabels:      map[string]string{},
		MetricExpiration: 5 * time.Minute,
	}
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	e := newExporter(c, set.TelemetrySettings)
	return exporterhelper.NewMetrics(ctx, set, cfg, e.ConsumeMetrics,
		exporterhelper.WithStart(e.Start),
		exporterhelper.WithShutdown(e.Shutdown),
		// ConsumeMetrics only reads the pdata: no copy is needed upstream.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
}
