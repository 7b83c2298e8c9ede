package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// vmotionVnicKey is vmk0's key in the "vmotion" entry of a host's
// config.virtualNicManagerInfo.netConfig (vcsim's template host).
const vmotionVnicKey = "vmotion.key-vim.host.VirtualNic-vmk0"

// setVMotionLink gives every host physical NICs of mbps Mb/s (config.network.pnic: linkSpeed,
// spec.linkSpeed, validLinkSpecification) and enables vMotion on vmk0 (whose portgroup,
// "Management Network", is on vSwitch0 with uplink vmnic0), as a host with a dedicated
// vMotion network of that speed looks to a client. Each host has its own deep copy of the
// template's config (simulator.NewHostSystem), so this changes no other object.
func setVMotionLink(w *world, mbps int) {
	if mbps <= 0 {
		return
	}
	for h := range w.hostName {
		host, ok := simulator.Map.Get(h).(*simulator.HostSystem)
		if !ok || host.Config == nil {
			continue
		}
		if n := host.Config.Network; n != nil {
			for i := range n.Pnic {
				p := &n.Pnic[i]
				p.LinkSpeed = &types.PhysicalNicLinkInfo{SpeedMb: int32(mbps), Duplex: true}
				p.Spec.LinkSpeed = &types.PhysicalNicLinkInfo{SpeedMb: int32(mbps), Duplex: true}
				p.ValidLinkSpecification = []types.PhysicalNicLinkInfo{{SpeedMb: int32(mbps), Duplex: true}}
			}
		}
		if m := host.Config.VirtualNicManagerInfo; m != nil {
			for i := range m.NetConfig {
				if m.NetConfig[i].NicType == "vmotion" {
					m.NetConfig[i].SelectedVnic = []string{vmotionVnicKey}
				}
			}
		}
	}
}
