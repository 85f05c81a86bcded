package vppstatsreceiver // import "github.com/vppstats/vppstats/vppstatsreceiver"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vppstats/vppstats/internal/pods"
	"github.com/vppstats/vppstats/internal/vppapi"
	"github.com/vppstats/vppstats/vppstatsreceiver/internal/metadata"
)

// Interface identity: state and metadata from VPP's binary API
// (internal/vppapi) and pod attribution (internal/pods). The scraper only
// reads snapshots here; all API traffic is on the client's own goroutine, so
// a missing, slow or incompatible API never delays or fails a scrape.

// identity is the scraper's state for interface identity.
type identity struct {
	api  interfaceSource // nil: api_socket_path is ""
	pods pods.Source     // nil: no pods section
}

// interfaceSource is what the scraper needs of *vppapi.Client.
type interfaceSource interface {
	Table() *vppapi.Table
	Refresh()
	Close()
}

// interfaceIndexKey is the attribute that ties a point to an interface, on
// the counters and on the state metrics alike.
const interfaceIndexKey = "vpp.interface.index"

func (s *vppScraper) startIdentity() {
	if s.cfg.APISocketPath != "" {
		s.id.api = vppapi.Start(vppapi.Config{SocketPath: s.cfg.APISocketPath, Logger: s.logger})
	}
	if s.cfg.Pods.CalicoVPPState != "" {
		s.id.pods = pods.NewCalicoVPP(s.cfg.Pods.CalicoVPPState, s.logger)
	}
}

func (s *vppScraper) stopIdentity() {
	if s.id.api != nil {
		s.id.api.Close()
		s.id.api = nil
	}
}

// directoryChanged is called when the stats directory changed after the
// first scrape (interfaces added or deleted, or a new VPP): the one moment
// the interface table is dumped again.
func (s *vppScraper) directoryChanged() {
	if s.id.api != nil {
		s.id.api.Refresh()
	}
}

// State attribute keys, from the generated code (the same on all four
// metrics).
var (
	keyIfName   = string(metadata.VppInterfaceAdminUpMetricAttributeKeyNetworkInterfaceName)
	keyIfIndex  = string(metadata.VppInterfaceAdminUpMetricAttributeKeyVppInterfaceIndex)
	keyIfDriver = string(metadata.VppInterfaceAdminUpMetricAttributeKeyVppInterfaceDriver)
	keyIfMAC    = string(metadata.VppInterfaceAdminUpMetricAttributeKeyHwNetworkPhysicalAddress)
	keyIfTag    = string(metadata.VppInterfaceAdminUpMetricAttributeKeyVppInterfaceTag)
	keyIfParent = string(metadata.VppInterfaceAdminUpMetricAttributeKeyVppInterfaceParentName)
	keyIfSubID  = string(metadata.VppInterfaceAdminUpMetricAttributeKeyVppInterfaceSubID)
)

// recordInterfaceState appends the vpp.interface.{admin.up,link.up,
// link.speed,mtu} points from the API client's current table (through
// metadata.StatePoints: one append per point, where Record* would compare
// each point with all before it).
func (s *vppScraper) recordInterfaceState(ts pcommon.Timestamp) {
	if s.id.api == nil {
		return
	}
	var slices [metadata.NumStateMetrics]pmetric.NumberDataPointSlice
	var on [metadata.NumStateMetrics]bool
	someOn := false
	for id := range metadata.NumStateMetrics {
		slices[id], on[id] = s.mb.StatePoints(id)
		someOn = someOn || on[id]
	}
	tb := s.id.api.Table()
	if !someOn || tb.Len() == 0 {
		return
	}
	attrs := pcommon.NewMap()
	for _, in := range tb.All() {
		if !s.interfaces.keep(in.Name) {
			continue
		}
		stateAttributes(tb, in, attrs)
		values := [metadata.NumStateMetrics]int64{boolInt(in.AdminUp), boolInt(in.LinkUp), int64(in.SpeedBytes), int64(in.MTU)}
		for id, v := range values {
			if !on[id] || v == 0 && (id == int(metadata.StateLinkSpeed) || id == int(metadata.StateMTU)) {
				continue // no speed or MTU reported: no point
			}
			dp := slices[id].AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetIntValue(v)
			attrs.CopyTo(dp.Attributes())
		}
	}
}

// stateAttributes writes an interface's identity into attrs: name, index
// and driver always; MAC, tag and parent/sub-id when it has them.
func stateAttributes(tb *vppapi.Table, in vppapi.Interface, attrs pcommon.Map) {
	attrs.Clear()
	attrs.EnsureCapacity(7)
	attrs.PutStr(keyIfName, in.Name)
	attrs.PutInt(keyIfIndex, int64(in.Index))
	attrs.PutStr(keyIfDriver, in.DevType)
	if in.MAC != "" {
		attrs.PutStr(keyIfMAC, in.MAC)
	}
	if in.Tag != "" {
		attrs.PutStr(keyIfTag, in.Tag)
	}
	if in.IsSub {
		if parent := tb.ParentName(in); parent != "" {
			attrs.PutStr(keyIfParent, parent)
		}
		attrs.PutInt(keyIfSubID, int64(in.SubID))
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// splitPods moves the points of pod interfaces (counters and state alike)
// out of the VPP resource into one resource per pod, carrying k8s.pod.name,
// k8s.namespace.name and k8s.pod.ip besides the VPP resource's attributes:
// kubeletstats' shape, so k8sattributesprocessor can associate on
// k8s.pod.ip and Prometheus (resource_to_telemetry_conversion) shows pod
// and namespace labels. Without a pod source, md is returned as is.
func (s *vppScraper) splitPods(md pmetric.Metrics) pmetric.Metrics {
	if s.id.pods == nil || md.ResourceMetrics().Len() != 1 {
		return md
	}
	byIndex := s.id.pods.Pods()
	if len(byIndex) == 0 {
		return md
	}
	vpp := md.ResourceMetrics().At(0)
	type podKey struct{ namespace, name string }
	type podOut struct {
		scope   pmetric.ScopeMetrics
		metrics map[string]pmetric.Metric
	}
	out := map[podKey]*podOut{}
	for i := range vpp.ScopeMetrics().Len() {
		sm := vpp.ScopeMetrics().At(i)
		for j := range sm.Metrics().Len() {
			m := sm.Metrics().At(j)
			dps, ok := metadata.NumberPoints(m)
			if !ok {
				continue
			}
			dps.RemoveIf(func(dp pmetric.NumberDataPoint) bool {
				v, ok := dp.Attributes().Get(interfaceIndexKey)
				if !ok {
					return false
				}
				pod, ok := byIndex[uint32(v.Int())]
				if !ok {
					return false
				}
				k := podKey{pod.Namespace, pod.Name}
				po := out[k]
				if po == nil {
					rm := md.ResourceMetrics().AppendEmpty()
					s.podResource(pod).MoveTo(rm.Resource())
					po = &podOut{scope: rm.ScopeMetrics().AppendEmpty(), metrics: map[string]pmetric.Metric{}}
					sm.Scope().CopyTo(po.scope.Scope())
					po.scope.SetSchemaUrl(sm.SchemaUrl())
					out[k] = po
				}
				pm, ok := po.metrics[m.Name()]
				if !ok {
					pm = po.scope.Metrics().AppendEmpty()
					copyMetricShape(m, pm)
					po.metrics[m.Name()] = pm
				}
				target, _ := metadata.NumberPoints(pm)
				dp.MoveTo(target.AppendEmpty())
				return true
			})
		}
		sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
			dps, ok := metadata.NumberPoints(m)
			return ok && dps.Len() == 0
		})
	}
	return md
}

// podResource is the VPP resource plus the pod's attributes.
func (s *vppScraper) podResource(p pods.Pod) pcommon.Resource {
	s.rb.SetVppStatsSocket(s.cfg.SocketPath)
	if s.cfg.Instance != "" {
		s.rb.SetVppInstance(s.cfg.Instance)
	}
	s.rb.SetK8sNamespaceName(p.Namespace)
	s.rb.SetK8sPodName(p.Name)
	if p.IP != "" {
		s.rb.SetK8sPodIP(p.IP)
	}
	return s.rb.Emit()
}

// copyMetricShape makes dst a metric like src without its points.
func copyMetricShape(src, dst pmetric.Metric) {
	dst.SetName(src.Name())
	dst.SetDescription(src.Description())
	dst.SetUnit(src.Unit())
	switch src.Type() {
	case pmetric.MetricTypeSum:
		sum := dst.SetEmptySum()
		sum.SetIsMonotonic(src.Sum().IsMonotonic())
		sum.SetAggregationTemporality(src.Sum().AggregationTemporality())
	case pmetric.MetricTypeGauge:
		dst.SetEmptyGauge()
	}
}
