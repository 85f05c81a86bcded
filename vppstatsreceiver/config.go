package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

const (
	defaultStaleAfter         = 35 * time.Second
	defaultCollectionInterval = 10 * time.Second
)

// Config is the configuration of the vppstats receiver.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	metadata.MetricsBuilderConfig  `mapstructure:",squash"`

	// SocketPath is VPP's stats socket (`statseg { socket-name }`).
	SocketPath string `mapstructure:"socket_path"`
	// Instance names this VPP in the vpp.instance resource attribute
	// (omitted when empty).
	Instance string `mapstructure:"instance"`
	// PerThread keeps one point per VPP thread (vpp.thread.index) on
	// interface, node, error and catch-all counters instead of their sum.
	PerThread bool `mapstructure:"per_thread"`
	// StaleAfter is how long VPP may leave its stats socket unanswered
	// (main thread stopped or busy) before its values count as stale and
	// are no longer exported. 0 exports them however long VPP is silent.
	StaleAfter time.Duration `mapstructure:"stale_after"`

	// Interfaces filters interfaces by name.
	Interfaces FilterConfig `mapstructure:"interfaces"`
	// Nodes filters graph nodes by name (vpp.node.* counters).
	Nodes NodesConfig `mapstructure:"nodes"`
	// Errors filters error counters by "<node>/<reason>".
	Errors ErrorsConfig `mapstructure:"errors"`
	// Stats selects, by stat path, what vpp.stat.counter and vpp.stat.gauge
	// report (they are disabled by default).
	Stats FilterConfig `mapstructure:"stats"`

	// APISocketPath is VPP's binary API socket (socksvr), the source of the
	// interface state metrics (vpp.interface.admin.up, ...); "" switches
	// them off. See identity_config.go.
	APISocketPath string `mapstructure:"api_socket_path"`
	// Pods attributes pod interfaces to Kubernetes pods.
	Pods PodsConfig `mapstructure:"pods"`

	_ struct{}
}

// FilterConfig selects objects by name with regular expressions (Go RE2
// syntax, unanchored: use ^ and $ for whole names). An object is kept when it
// matches one of Include (or Include is empty) and none of Exclude.
type FilterConfig struct {
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
}

// NodesConfig is FilterConfig plus the node-specific switches.
type NodesConfig struct {
	FilterConfig `mapstructure:",squash"`
	// IncludeIdle emits the counters of nodes that have not run since
	// VPP started or `clear runtime` (calls = 0): all zero, and most of
	// the nodes of a large VPP (every interface has its own output and tx
	// nodes). VPP's `show runtime` leaves them out too.
	IncludeIdle bool `mapstructure:"include_idle"`
}

// ErrorsConfig is FilterConfig plus the error-specific switches.
type ErrorsConfig struct {
	FilterConfig `mapstructure:",squash"`
	// IncludeZero emits error counters that are zero (there are thousands).
	IncludeZero bool `mapstructure:"include_zero"`
}

// Validate checks the configuration; every message names the key at fault.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.SocketPath == "" {
		errs = append(errs, errors.New("socket_path must not be empty (VPP's stats socket, default "+statseg.DefaultSocketPath+")"))
	}
	if cfg.StaleAfter < 0 {
		errs = append(errs, fmt.Errorf("stale_after must not be negative (0 disables the check), got %v", cfg.StaleAfter))
	} else if cfg.StaleAfter > 0 && cfg.StaleAfter < probeTimeout {
		errs = append(errs, fmt.Errorf("stale_after %v is shorter than one probe of VPP's stats socket (%v); use at least that (default %v) or 0 to disable", cfg.StaleAfter, probeTimeout, defaultStaleAfter))
	}
	for _, f := range []struct {
		key string
		fc  FilterConfig
	}{
		{"interfaces", cfg.Interfaces},
		{"nodes", cfg.Nodes.FilterConfig},
		{"errors", cfg.Errors.FilterConfig},
		{"stats", cfg.Stats},
	} {
		if _, err := f.fc.compile(f.key); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, cfg.validateIdentity())
	return errors.Join(errs...)
}

// filter is a compiled FilterConfig.
type filter struct {
	include, exclude []*regexp.Regexp
}

func (fc FilterConfig) compile(key string) (filter, error) {
	var f filter
	var errs []error
	build := func(list []string, sub string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, s := range list {
			re, err := regexp.Compile(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s::%s: invalid regular expression %q: %w", key, sub, s, err))
				continue
			}
			out = append(out, re)
		}
		return out
	}
	f.include = build(fc.Include, "include")
	f.exclude = build(fc.Exclude, "exclude")
	return f, errors.Join(errs...)
}

// keep reports whether name passes the filter.
func (f filter) keep(name string) bool {
	if len(f.include) > 0 && !statseg.Match(f.include, name) {
		return false
	}
	for _, re := range f.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}
