package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/vppstats/vppstats/internal/pods"
)

// PodsConfig chooses where pod attribution comes from. Empty: no pods.
type PodsConfig struct {
	// CalicoVPPState is the Calico/VPP agent's state file, usually
	// /var/run/vpp/calicovpp_state.v11.json (pods.DefaultCalicoVPPState).
	CalicoVPPState string `mapstructure:"calico_vpp_state"`

	_ struct{}
}

// enabled reports whether a pod source is configured.
func (pc PodsConfig) enabled() bool { return pc.CalicoVPPState != "" }

func (cfg *Config) validateIdentity() error {
	var errs []error
	if p := cfg.APISocketPath; p != "" && !filepath.IsAbs(p) {
		errs = append(errs, fmt.Errorf("api_socket_path %q must be an absolute path (VPP's `socksvr { socket-name }`, default /run/vpp/api.sock), or \"\" to switch the interface state metrics off", p))
	}
	if p := cfg.Pods.CalicoVPPState; p != "" && !filepath.IsAbs(p) {
		errs = append(errs, fmt.Errorf("pods::calico_vpp_state %q must be an absolute path (the Calico/VPP agent's state file, usually %s)", p, pods.DefaultCalicoVPPState))
	}
	return errors.Join(errs...)
}
