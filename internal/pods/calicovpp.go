package pods

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultCalicoVPPState is where the Calico/VPP agent (state file version
// 11) persists its pods.
const DefaultCalicoVPPState = "/var/run/vpp/calicovpp_state.v11.json"

// maxStateSize bounds what is read: the file holds one small record per pod
// interface, well under a kilobyte each.
const maxStateSize = 64 << 20

// invalidIndex is what the agent stores for an interface a pod does not
// have.
const invalidIndex = ^uint32(0)

// calicoState is the part of the agent's state file (model.CniServerState
// in projectcalico/vpp-dataplane) that identifies pods.
type calicoState struct {
	Version  int                      `json:"version"`
	PodSpecs map[string]calicoPodSpec `json:"podSpecs"`
}

type calicoPodSpec struct {
	WorkloadID   string   `json:"workloadID"` // namespace/pod
	ContainerIPs []string `json:"containerIps"`
	NetworkName  string   `json:"networkName"`
	// The pod's interfaces in VPP (LocalPodSpecStatus).
	TunTapSwIfIndex   *uint32 `json:"tunTapSwIfIndex"`
	MemifSwIfIndex    *uint32 `json:"memifSwIfIndex"`
	LoopbackSwIfIndex *uint32 `json:"loopbackSwIfIndex"`
}

// supportedCalicoVersions are the state file versions whose layout is
// calicoState.
var supportedCalicoVersions = map[int]bool{11: true}

// CalicoVPP is a Source reading the Calico/VPP agent's state file. It
// follows the file with a stat per call and parses it only when it
// changed (the agent replaces it by rename on every pod added or deleted).
type CalicoVPP struct {
	path string
	log  *zap.Logger

	mu      sync.Mutex
	loaded  bool
	seen    fileStamp
	pods    map[uint32]Pod
	lastLog string
}

type fileStamp struct {
	exists bool
	ino    uint64
	size   int64
	mtime  time.Time
}

// NewCalicoVPP returns a Source reading the state file at path.
func NewCalicoVPP(path string, logger *zap.Logger) *CalicoVPP {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &CalicoVPP{path: path, log: logger.With(zap.String("calico_vpp_state", path)), pods: map[uint32]Pod{}}
}

// Pods implements Source.
func (c *CalicoVPP) Pods() map[uint32]Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := stamp(c.path)
	if c.loaded && st == c.seen {
		return c.pods
	}
	c.loaded, c.seen = true, st
	pods, err := readCalicoState(c.path)
	if err != nil {
		c.pods = map[uint32]Pod{}
		c.report(err.Error(), func() { c.log.Warn("no pod attribution", zap.Error(err)) })
		return c.pods
	}
	c.pods = pods
	c.report("ok", func() {
		c.log.Info("pod attribution from the Calico/VPP agent's state file", zap.Int("pod_interfaces", len(pods)))
	})
	return c.pods
}

// report logs once per state ("ok" or a failure), not once per scrape.
func (c *CalicoVPP) report(state string, log func()) {
	if state == c.lastLog {
		return
	}
	c.lastLog = state
	log()
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, ino: inode(fi), size: fi.Size(), mtime: fi.ModTime()}
}

func readCalicoState(path string) (map[uint32]Pod, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the Calico/VPP agent's state file %s does not exist (is this a Calico/VPP node, and is /var/run/vpp mounted? set pods::calico_vpp_state to its path, or remove the pods section)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the Calico/VPP agent's state file: %w (the agent writes it with mode 0200: reading needs root or CAP_DAC_READ_SEARCH)", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; not a Calico/VPP state file?", path, maxStateSize>>20)
	}
	return parseCalicoState(data)
}

func parseCalicoState(data []byte) (map[uint32]Pod, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a Calico/VPP state file (invalid JSON: %w)", err)
	}
	if head.Version == nil || !supportedCalicoVersions[*head.Version] {
		v := "none"
		if head.Version != nil {
			v = fmt.Sprint(*head.Version)
		}
		return nil, fmt.Errorf("unsupported Calico/VPP state file version %s (supported: 11); pods are not attributed until vppstats supports it", v)
	}
	var st calicoState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("Calico/VPP state file version %d does not have the expected layout: %w", st.Version, err)
	}
	// A pod has one spec per network (multinet); its IP is the one of the
	// default network.
	ips := map[string]string{}
	for _, spec := range st.PodSpecs {
		if spec.NetworkName == "" {
			ips[spec.WorkloadID] = podIP(spec.ContainerIPs)
		}
	}
	pods := make(map[uint32]Pod, len(st.PodSpecs))
	for _, spec := range st.PodSpecs {
		ns, name, ok := strings.Cut(spec.WorkloadID, "/")
		if !ok || ns == "" || name == "" {
			continue // not a Kubernetes pod
		}
		p := Pod{Namespace: ns, Name: name, IP: ips[spec.WorkloadID]}
		for _, idx := range []*uint32{spec.TunTapSwIfIndex, spec.MemifSwIfIndex, spec.LoopbackSwIfIndex} {
			if idx != nil && *idx != invalidIndex {
				pods[*idx] = p
			}
		}
	}
	return pods, nil
}

// podIP picks the IP k8sattributesprocessor will know the pod by: the
// first IPv4 one (Kubernetes' status.podIP on dual-stack IPv4-first
// clusters), else the first one.
func podIP(ips []string) string {
	first := ""
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		if ip.To4() != nil {
			return ip.String()
		}
		if first == "" {
			first = ip.String()
		}
	}
	return first
}
