package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestKubernetesConfigsAreValid runs `otelcol-vpp validate` on the collector
// configurations of the Kubernetes recipe (deploy/kubernetes, mounted by the
// DaemonSet from the ConfigMap kustomization.yaml generates), and checks that
// the identity settings they rely on are validated: a relative
// api_socket_path or pods::calico_vpp_state is refused, naming the key.
func TestKubernetesConfigsAreValid(t *testing.T) {
	otelcol, _ := binaries(t)
	validate := func(cfg string) (string, error) {
		c, cancel := context.WithTimeout(ctx(t), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(c, otelcol, "validate", "--config", cfg)
		cmd.Env = append(os.Environ(), "OTLP_ENDPOINT=http://127.0.0.1:4318")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	for _, f := range []string{"prometheus.yaml", "otlp.yaml"} {
		cfg := repoPath(t, "deploy", "kubernetes", f)
		if out, err := validate(cfg); err != nil {
			t.Errorf("deploy/kubernetes/%s: %v\n%s", f, err, out)
		}
		body, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"api_socket_path: /var/run/vpp/vpp-api.sock", "calico_vpp_state: /var/run/vpp/calicovpp_state.v11.json"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("deploy/kubernetes/%s does not set %q", f, want)
			}
		}
	}

	dir := shortTempDir(t)
	for _, c := range []struct{ setting, want string }{
		{"api_socket_path: vpp-api.sock", "api_socket_path"},
		{"pods:\n      calico_vpp_state: calicovpp_state.v11.json", "pods::calico_vpp_state"},
	} {
		cfg := writeConfig(t, dir, "bad.yaml", `
receivers:
  vppstats:
    socket_path: /var/run/vpp/stats.sock
    `+c.setting+`
exporters:
  debug:
service:
  pipelines:
    metrics:
      receivers: [vppstats]
      exporters: [debug]
`+serviceTelemetry)
		out, err := validate(cfg)
		if err == nil {
			t.Errorf("validate accepted %q", c.setting)
		} else if !strings.Contains(out, c.want) {
			t.Errorf("validate refused %q without naming %s:\n%s", c.setting, c.want, out)
		}
	}
}
