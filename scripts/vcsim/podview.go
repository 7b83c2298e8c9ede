package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ViewManager fixes vcsim 0.24's ContainerView for datastore clusters: its walk descends
// into Folders but not into StoragePods (the simulator's pod type is not a *mo.Folder), so a
// recursive view of Datastores from the root folder misses every datastore in a pod. vCenter
// lists them (a StoragePod is a Folder). After vcsim builds a view, the pods' member
// datastores under its container are added.
type ViewManager struct {
	simulator.ViewManager // first field, by value
}

func installViewManager() {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	old := simulator.Map.Get(*si.Content.ViewManager).(*simulator.ViewManager)
	m := &ViewManager{ViewManager: *old}
	simulator.Map.Put(m)
}

func (m *ViewManager) CreateContainerView(ctx *simulator.Context, req *types.CreateContainerView) soap.HasFault {
	res := m.ViewManager.CreateContainerView(ctx, req)
	body, ok := res.(*methods.CreateContainerViewBody)
	if !ok || body.Res == nil || theEngine == nil {
		return res
	}
	v, ok := ctx.Session.Get(body.Res.Returnval).(*simulator.ContainerView)
	if !ok || !wantsDatastores(req.Type) {
		return res
	}
	w := theEngine.w
	var add []ref
	for pod, members := range w.podMembers {
		if pod == req.Container || (req.Recursive && isUnder(pod, req.Container)) {
			add = append(add, members...)
		}
	}
	if len(add) == 0 {
		return res
	}
	simulator.Map.WithLock(v, func() {
		for _, d := range add {
			if simulator.FindReference(v.View, d) == nil {
				v.View = append(v.View, d)
			}
		}
	})
	return res
}

func wantsDatastores(kinds []string) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if k == "Datastore" || k == "ManagedEntity" {
			return true
		}
	}
	return false
}

// isUnder tells whether obj is below container in the inventory (by parents).
func isUnder(obj, container ref) bool {
	for i := 0; i < 64; i++ {
		e, ok := simulator.Map.Get(obj).(mo.Entity)
		if !ok || e.Entity().Parent == nil {
			return false
		}
		obj = *e.Entity().Parent
		if obj == container {
			return true
		}
	}
	return false
}
