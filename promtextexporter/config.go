package promtextexporter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/resourcetotelemetry"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/config/confighttp"
)

// Config is the prometheus_text exporter's configuration. Its keys are a
// subset of the contrib prometheus exporter's, with the same meaning, so a
// configuration moves between the two by changing the component type.
type Config struct {
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// Namespace, when set, prefixes every metric name (namespace_name).
	Namespace string `mapstructure:"namespace"`

	// ConstLabels are added to every series except target_info.
	ConstLabels map[string]string `mapstructure:"const_labels"`

	// MetricExpiration is how long a series is served after its last point.
	MetricExpiration time.Duration `mapstructure:"metric_expiration"`

	// ResourceToTelemetrySettings puts resource attributes on every series.
	ResourceToTelemetrySettings resourcetotelemetry.Settings `mapstructure:"resource_to_telemetry_conversion"`

	// WithoutScopeInfo drops the otel_scope_* labels.
	WithoutScopeInfo bool `mapstructure:"without_scope_info"`

	// TranslationStrategy is UnderscoreEscapingWithSuffixes (default) or
	// UnderscoreEscapingWithoutSuffixes, as in the contrib exporter.
	TranslationStrategy string `mapstructure:"translation_strategy"`
}

// The translation strategies this exporter serves, and whether each adds
// type and unit suffixes. The contrib exporter's UTF-8 strategies
// (NoUTF8EscapingWithSuffixes, NoTranslation) need the quoted-name syntax of
// newer exposition formats, which this text encoder does not write.
var strategies = map[string]bool{
	"UnderscoreEscapingWithSuffixes":    true,
	"UnderscoreEscapingWithoutSuffixes": false,
}

const defaultStrategy = "UnderscoreEscapingWithSuffixes"

// Validate checks the configuration; each error names the key and the fix.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.ServerConfig.NetAddr.Endpoint) == "" {
		errs = append(errs, errors.New(`endpoint: empty; set the listen address of /metrics, e.g. "127.0.0.1:9482"`))
	}
	if c.MetricExpiration <= 0 {
		errs = append(errs, fmt.Errorf("metric_expiration: %v; set a positive duration, e.g. 5m", c.MetricExpiration))
	}
	if _, ok := strategies[c.strategy()]; !ok {
		errs = append(errs, fmt.Errorf("translation_strategy: %q is not supported; use UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes (or the prometheus exporter for UTF-8 names)", c.TranslationStrategy))
	}
	for name := range c.ConstLabels {
		if !model.LegacyValidation.IsValidLabelName(name) {
			errs = append(errs, fmt.Errorf("const_labels: %q is not a valid Prometheus label name; use [a-zA-Z_][a-zA-Z0-9_]*", name))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) strategy() string {
	if c.TranslationStrategy == "" {
		return defaultStrategy
	}
	return c.TranslationStrategy
}
