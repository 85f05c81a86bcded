package vppsim

import "fmt"

// Node names of a VPP without DPDK, in registration order; /sys/node/names
// starts with null-node like VPP's.
var knownNodes = []string{
	"null-node", "ip6-icmp-echo-request", "ip4-icmp-echo-request", "ip4-icmp-echo-reply",
	"ip6-icmp-echo-reply", "ethernet-input", "ethernet-input-type", "ethernet-input-not-l2",
	"l2-input", "l2-output", "l2-fwd", "l2-learn", "l2-flood", "l2-input-classify",
	"ip4-input", "ip4-input-no-checksum", "ip4-lookup", "ip4-rewrite", "ip4-arp",
	"ip4-glean", "ip4-local", "ip4-drop", "ip4-punt", "ip4-icmp-input", "ip4-icmp-error",
	"ip4-udp-lookup", "ip4-load-balance", "ip4-mfib-forward-lookup", "ip6-input",
	"ip6-lookup", "ip6-rewrite", "ip6-local", "ip6-drop", "ip6-punt", "ip6-icmp-input",
	"ip6-discover-neighbor", "ip6-load-balance", "ip6-mfib-forward-lookup", "arp-input",
	"arp-reply", "arp-proxy", "arp-disabled", "error-drop", "error-punt", "drop", "punt",
	"interface-output", "interface-tx", "local0-output", "local0-tx", "loop0-output",
	"loop0-tx", "pg-input", "tap0-output", "tap0-tx", "virtio-input", "vxlan4-input",
	"vxlan4-encap", "adj-midchain-tx", "mpls-input", "mpls-lookup", "api-rx-from-ring",
	"unix-epoll-input", "startup-config-process", "ip4-full-reassembly", "ip6-full-reassembly",
	"session-queue", "session-queue-process", "memif-input", "bfd-process",
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i < len(knownNodes) {
			out[i] = knownNodes[i]
		} else {
			out[i] = fmt.Sprintf("sim-node-%d", i)
		}
	}
	return out
}

// Error counters of real nodes; reasons carry spaces and the odd slash, as
// VPP's do (the symlinks keep them verbatim).
var knownErrors = [][2]string{
	{"null-node", "blackholed packets"},
	{"ip4-input", "valid ip4 packets"},
	{"ip4-input", "ip4 length > l2 length"},
	{"ip4-input", "ip4 ttl <= 1"},
	{"ip4-input", "bad ip4 checksum"},
	{"ip4-local", "unknown ip protocol"},
	{"ip4-local", "ip4 source lookup miss"},
	{"ip4-arp", "ARP requests throttled"},
	{"ip4-arp", "ARP requests sent"},
	{"ip4-glean", "address overflow drops"},
	{"ip4-udp-lookup", "No listener for dst port"},
	{"ip4-icmp-input", "echo replies sent"},
	{"ip4-icmp-error", "destination unreachable response sent"},
	{"ip6-input", "ip6 packets with hop-by-hop options"},
	{"ip6-local", "unknown ip protocol"},
	{"ip6-icmp-input", "neighbor solicitations for unknown targets"},
	{"ip6-pop-hop-by-hop", "Pkts w/ removed ip6 hop-by-hop options"},
	{"arp-reply", "ARP replies sent"},
	{"arp-reply", "IP4 destination address not local to subnet"},
	{"arp-input", "ARP request IP4 source address learned"},
	{"ethernet-input", "unknown ethernet type"},
	{"ethernet-input", "unknown vlan"},
	{"ethernet-input", "l3 mac mismatch"},
	{"l2-input", "L2 input packets"},
	{"l2-fwd", "L2 forward packets"},
	{"l2-flood", "L2 flood packets"},
	{"error-drop", "no error"},
	{"interface-output", "interface is down"},
	{"interface-output", "interface is deleted"},
	{"vxlan4-input", "no such tunnels"},
	{"vxlan4-encap", "good packets encapsulated"},
	{"tap0-tx", "no free tx slots"},
}

func errorName(i int) (node, reason string) {
	if i < len(knownErrors) {
		return knownErrors[i][0], knownErrors[i][1]
	}
	return fmt.Sprintf("sim-node-%d", i/8), fmt.Sprintf("sim error %d", i%8)
}
