// Package pods attributes VPP interfaces to Kubernetes pods.
//
// A Source maps sw_if_index to the pod that owns the interface. The one
// implementation today, CalicoVPP, reads the state file the Calico/VPP agent
// persists about the pods it wired (calicovpp_state.v11.json under
// /var/run/vpp/); another CNI's state or a static table fits behind the same
// interface.
package pods

// Pod is the Kubernetes identity of the pod behind an interface.
type Pod struct {
	Namespace string
	Name      string
	// IP is the pod's IP on the default pod network (the first IPv4
	// container IP, else the first one): what k8sattributesprocessor
	// associates on as k8s.pod.ip. The interfaces of a pod's other
	// (multinet) networks carry the same Pod.
	IP string
}

// Source maps VPP interfaces to pods.
type Source interface {
	// Pods returns the current sw_if_index → pod mapping. It never fails:
	// an unreadable source is an empty mapping (reported in the log). The
	// map is shared and must not be modified.
	Pods() map[uint32]Pod
}
