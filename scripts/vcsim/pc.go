package main

import (
	"context"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// PropertyCollector replaces vcsim 0.24's update machinery (CreateFilter, WaitForUpdates[Ex],
// CheckForUpdates, CancelWaitForUpdates, DestroyPropertyCollector); retrieval
// (RetrievePropertiesEx, ...) stays vcsim's. vcsim's version re-collects every filter for
// every single object update (cost = updates x filtered objects: a 1,000-task ListView made
// the server spend seconds per wait) and starts listening only after the first wait's initial
// read, losing updates that land in between. This one listens from CreateFilter on, keeps the
// set of changed objects and property names, re-reads only those (plus a full re-collect of a
// filter when an object its traversal goes through changes), and returns real versions.
// Disable it with -vcsim-property-collector to reproduce vcsim's behaviour.
type PropertyCollector struct {
	simulator.PropertyCollector // first field, by value: the simulator digs it for the mo type

	st *pcState
}

type pcState struct {
	mu      sync.Mutex
	filters []*PropertyFilter
	dirty   map[ref]map[string]bool // changed objects -> changed property names
	entered bool                    // objects were created since the last wait
	left    map[ref]bool
	signal  chan struct{}
	cancel  context.CancelFunc
	version int
	pending *types.UpdateSet // the rest of a truncated answer
	handler bool
	ended   bool // the session was terminated: a pending wait ends with NotAuthenticated
}

// PropertyFilter is our filter object (its managed object type stays "PropertyFilter").
type PropertyFilter struct {
	mo.PropertyFilter

	pc       *PropertyCollector
	reported map[ref]bool
	via      map[ref]bool // objects whose properties the traversal reads
	viaOnly  bool         // traverses only views (new objects reach it as view changes)
	fresh    bool         // report everything (new filter, or version "")
}

var pcInit sync.Mutex

// pcSessions remembers each session's collectors so terminated sessions stop collecting.
var pcSessions = struct {
	sync.Mutex
	m map[string][]*PropertyCollector
}{m: map[string][]*PropertyCollector{}}

func (pc *PropertyCollector) state() *pcState {
	pcInit.Lock()
	defer pcInit.Unlock()
	if pc.st == nil {
		pc.st = &pcState{dirty: map[ref]map[string]bool{}, left: map[ref]bool{}, signal: make(chan struct{}, 1)}
	}
	return pc.st
}

// installPropertyCollector puts our collector type at the ServiceContent's singleton
// reference; sessions get their own instance of the same type.
func installPropertyCollector() {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	pc := &PropertyCollector{}
	pc.Self = si.Content.PropertyCollector
	simulator.Map.Put(pc)
}

// forgetSessionCollectors stops the collectors of a terminated session from collecting.
func forgetSessionCollectors(key string) {
	pcSessions.Lock()
	pcs := pcSessions.m[key]
	delete(pcSessions.m, key)
	pcSessions.Unlock()
	for _, pc := range pcs {
		simulator.Map.RemoveHandler(pc)
		// Like vCenter, a wait in flight on a terminated session ends with NotAuthenticated
		// instead of running out its maxWaitSeconds.
		st := pc.state()
		st.mu.Lock()
		st.ended = true
		if st.cancel != nil {
			st.cancel()
		}
		st.mu.Unlock()
	}
}

// ---- RegisterObject: called synchronously by every Map.Put/Update/Remove ----------------

func (pc *PropertyCollector) notify(st *pcState) {
	select {
	case st.signal <- struct{}{}:
	default:
	}
}

// PutObject records that an object was created.
func (pc *PropertyCollector) PutObject(o mo.Reference) {
	st := pc.state()
	st.mu.Lock()
	st.entered = true
	st.mu.Unlock()
	pc.notify(st)
}

// UpdateObject records the changed property names of an object.
func (pc *PropertyCollector) UpdateObject(o mo.Reference, changes []types.PropertyChange) {
	st := pc.state()
	r := o.Reference()
	st.mu.Lock()
	names := st.dirty[r]
	if names == nil {
		names = map[string]bool{}
		st.dirty[r] = names
	}
	for _, c := range changes {
		names[c.Name] = true
	}
	st.mu.Unlock()
	pc.notify(st)
}

// RemoveObject records that an object was deleted.
func (pc *PropertyCollector) RemoveObject(r types.ManagedObjectReference) {
	st := pc.state()
	st.mu.Lock()
	st.left[r] = true
	st.mu.Unlock()
	pc.notify(st)
}

// ---- methods ----------------------------------------------------------------

// CreatePropertyCollector creates a private collector of our type.
func (pc *PropertyCollector) CreatePropertyCollector(ctx *simulator.Context, c *types.CreatePropertyCollector) soap.HasFault {
	cpc := &PropertyCollector{}
	cpc.Self = types.ManagedObjectReference{Type: "PropertyCollector"}
	return &methods.CreatePropertyCollectorBody{
		Res: &types.CreatePropertyCollectorResponse{Returnval: ctx.Session.Put(cpc).Reference()},
	}
}

// CreateFilter starts listening at once, so no update is lost before the first wait.
func (pc *PropertyCollector) CreateFilter(ctx *simulator.Context, c *types.CreateFilter) soap.HasFault {
	st := pc.state()
	f := &PropertyFilter{pc: pc, reported: map[ref]bool{}, fresh: true}
	f.PartialUpdates = c.PartialUpdates
	f.Spec = c.Spec
	f.Self = types.ManagedObjectReference{Type: "PropertyFilter"}
	ctx.Session.Put(f)
	st.mu.Lock()
	st.filters = append(st.filters, f)
	pc.Filter = append(pc.Filter, f.Self)
	register := !st.handler
	st.handler = true
	st.mu.Unlock()
	if register {
		simulator.Map.AddHandler(pc)
		if ctx.Session != nil {
			pcSessions.Lock()
			pcSessions.m[ctx.Session.Key] = append(pcSessions.m[ctx.Session.Key], pc)
			pcSessions.Unlock()
		}
	}
	return &methods.CreateFilterBody{Res: &types.CreateFilterResponse{Returnval: f.Self}}
}

// DestroyPropertyFilter removes the filter.
func (f *PropertyFilter) DestroyPropertyFilter(ctx *simulator.Context, c *types.DestroyPropertyFilter) soap.HasFault {
	pc := f.pc
	st := pc.state()
	st.mu.Lock()
	for i, x := range st.filters {
		if x == f {
			st.filters = append(st.filters[:i], st.filters[i+1:]...)
			break
		}
	}
	simulator.RemoveReference(&pc.Filter, c.This)
	st.mu.Unlock()
	ctx.Session.Remove(c.This)
	return &methods.DestroyPropertyFilterBody{Res: &types.DestroyPropertyFilterResponse{}}
}

// DestroyPropertyCollector stops listening and removes the collector and its filters.
func (pc *PropertyCollector) DestroyPropertyCollector(ctx *simulator.Context, c *types.DestroyPropertyCollector) soap.HasFault {
	st := pc.state()
	st.mu.Lock()
	if st.cancel != nil {
		st.cancel()
	}
	filters := st.filters
	st.filters = nil
	pc.Filter = nil
	st.mu.Unlock()
	for _, f := range filters {
		ctx.Session.Remove(f.Self)
	}
	simulator.Map.RemoveHandler(pc)
	ctx.Session.Remove(c.This)
	simulator.Map.Remove(c.This)
	return &methods.DestroyPropertyCollectorBody{Res: &types.DestroyPropertyCollectorResponse{}}
}

// CancelWaitForUpdates ends a waiting WaitForUpdates[Ex] with RequestCanceled.
func (pc *PropertyCollector) CancelWaitForUpdates(r *types.CancelWaitForUpdates) soap.HasFault {
	st := pc.state()
	st.mu.Lock()
	if st.cancel != nil {
		st.cancel()
	}
	st.mu.Unlock()
	return &methods.CancelWaitForUpdatesBody{Res: new(types.CancelWaitForUpdatesResponse)}
}

// WaitForUpdatesEx returns the changes since version (everything for version ""), waiting up
// to options.maxWaitSeconds (0: check once; absent: until something changes).
func (pc *PropertyCollector) WaitForUpdatesEx(ctx *simulator.Context, r *types.WaitForUpdatesEx) soap.HasFault {
	body := &methods.WaitForUpdatesExBody{}
	var maxWait *int32
	var maxObjects int32
	if r.Options != nil {
		maxWait = r.Options.MaxWaitSeconds
		maxObjects = r.Options.MaxObjectUpdates
	}
	set, fault := pc.wait(ctx, r.Version, maxWait, maxObjects)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.WaitForUpdatesExResponse{Returnval: set}
	return body
}

// WaitForUpdates (deprecated, used by pyVmomi's WaitForTask) waits until something changes.
func (pc *PropertyCollector) WaitForUpdates(ctx *simulator.Context, r *types.WaitForUpdates) soap.HasFault {
	body := &methods.WaitForUpdatesBody{}
	set, fault := pc.wait(ctx, r.Version, nil, 0)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.WaitForUpdatesResponse{Returnval: *set}
	return body
}

// CheckForUpdates (deprecated) returns the changes since version without waiting.
func (pc *PropertyCollector) CheckForUpdates(ctx *simulator.Context, r *types.CheckForUpdates) soap.HasFault {
	body := &methods.CheckForUpdatesBody{}
	zero := int32(0)
	set, fault := pc.wait(ctx, r.Version, &zero, 0)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.CheckForUpdatesResponse{Returnval: set}
	return body
}

// updateBatch lets changes that arrive together go out in one answer (-update-batch-ms).
var updateBatch = 100 * time.Millisecond

func (pc *PropertyCollector) wait(ctx *simulator.Context, version string, maxWait *int32, maxObjects int32) (*types.UpdateSet, *soap.Fault) {
	st := pc.state()
	waitCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var deadline <-chan time.Time
	once := false
	if maxWait != nil {
		if *maxWait <= 0 {
			once = true
		} else {
			t := time.NewTimer(time.Duration(*maxWait) * time.Second)
			defer t.Stop()
			deadline = t.C
		}
	}
	st.mu.Lock()
	if st.ended {
		// Collectors die with their session, as on vCenter.
		st.mu.Unlock()
		return nil, simulator.Fault("The object has already been deleted or has not been completely created (its session ended).",
			&types.ManagedObjectNotFound{Obj: pc.Self})
	}
	st.cancel = cancel
	if version == "" {
		st.pending = nil
		for _, f := range st.filters {
			f.fresh = true
		}
	}
	st.mu.Unlock()

	for {
		set, fault := pc.collectChanges(ctx, maxObjects)
		if fault != nil {
			return nil, fault
		}
		if set != nil {
			return set, nil
		}
		if once {
			return nil, nil
		}
		select {
		case <-st.signal:
			time.Sleep(updateBatch)
		case <-deadline:
			return nil, nil
		case <-waitCtx.Done():
			st.mu.Lock()
			ended := st.ended
			st.mu.Unlock()
			if ended {
				return nil, simulator.Fault("The session is not authenticated.", &types.NotAuthenticated{})
			}
			return nil, simulator.Fault("The wait was canceled (CancelWaitForUpdates).", &types.RequestCanceled{})
		}
	}
}

// collectChanges computes one answer (nil when nothing changed).
func (pc *PropertyCollector) collectChanges(ctx *simulator.Context, maxObjects int32) (*types.UpdateSet, *soap.Fault) {
	st := pc.state()
	st.mu.Lock()
	if st.pending != nil {
		set := st.pending
		st.pending = nil
		out := pc.truncateLocked(set, maxObjects)
		st.mu.Unlock()
		return out, nil
	}
	dirty, left, entered := st.dirty, st.left, st.entered
	st.dirty, st.left, st.entered = map[ref]map[string]bool{}, map[ref]bool{}, false
	filters := append([]*PropertyFilter(nil), st.filters...)
	st.mu.Unlock()

	set := &types.UpdateSet{}
	for _, f := range filters {
		fu, fault := f.changes(ctx, dirty, left, entered)
		if fault != nil {
			return nil, fault
		}
		if len(fu.ObjectSet) > 0 {
			set.FilterSet = append(set.FilterSet, fu)
		}
	}
	if len(set.FilterSet) == 0 {
		return nil, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return pc.truncateLocked(set, maxObjects), nil
}

// truncateLocked returns at most maxObjects object updates, keeping the rest for the next call.
func (pc *PropertyCollector) truncateLocked(set *types.UpdateSet, maxObjects int32) *types.UpdateSet {
	st := pc.st
	st.version++
	set.Version = strconv.Itoa(st.version)
	if maxObjects <= 0 {
		return set
	}
	n := int32(0)
	out := &types.UpdateSet{Version: set.Version}
	rest := &types.UpdateSet{}
	for _, fu := range set.FilterSet {
		room := maxObjects - n
		if room <= 0 {
			rest.FilterSet = append(rest.FilterSet, fu)
			continue
		}
		if int32(len(fu.ObjectSet)) <= room {
			out.FilterSet = append(out.FilterSet, fu)
			n += int32(len(fu.ObjectSet))
			continue
		}
		out.FilterSet = append(out.FilterSet, types.PropertyFilterUpdate{Filter: fu.Filter, ObjectSet: fu.ObjectSet[:room]})
		rest.FilterSet = append(rest.FilterSet, types.PropertyFilterUpdate{Filter: fu.Filter, ObjectSet: fu.ObjectSet[room:]})
		n = maxObjects
	}
	if len(rest.FilterSet) > 0 {
		out.Truncated = types.NewBool(true)
		st.pending = rest
	}
	return out
}

// changes computes one filter's object updates.
func (f *PropertyFilter) changes(ctx *simulator.Context, dirty map[ref]map[string]bool, left map[ref]bool, entered bool) (types.PropertyFilterUpdate, *soap.Fault) {
	fu := types.PropertyFilterUpdate{Filter: f.Self}
	full := f.fresh || (entered && !f.viaOnly)
	if !full {
		for r := range dirty {
			if f.via[r] {
				full = true
				break
			}
		}
	}
	if !full {
		for r := range left {
			if f.via[r] {
				full = true
				break
			}
		}
	}
	var members map[ref]types.ObjectContent
	enteredNow := map[ref]bool{}
	if full {
		res, fault := f.retrieve(ctx, f.Spec)
		if fault != nil {
			return fu, fault
		}
		members = map[ref]types.ObjectContent{}
		for _, oc := range res {
			members[oc.Obj] = oc
		}
		f.via, f.viaOnly = traversalObjects(ctx, f.Spec)
		fresh := f.fresh
		f.fresh = false
		if fresh {
			f.reported = map[ref]bool{}
		}
		for _, oc := range res {
			if f.reported[oc.Obj] {
				continue
			}
			f.reported[oc.Obj] = true
			ou := types.ObjectUpdate{Obj: oc.Obj, Kind: types.ObjectUpdateKindEnter}
			for _, p := range oc.PropSet {
				ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
			}
			fu.ObjectSet = append(fu.ObjectSet, ou)
			enteredNow[oc.Obj] = true // its enter already carries the current values
		}
		for r := range f.reported {
			if _, ok := members[r]; !ok {
				delete(f.reported, r)
				fu.ObjectSet = append(fu.ObjectSet, types.ObjectUpdate{Obj: r, Kind: types.ObjectUpdateKindLeave})
			}
		}
	} else {
		for r := range left {
			if f.reported[r] {
				delete(f.reported, r)
				fu.ObjectSet = append(fu.ObjectSet, types.ObjectUpdate{Obj: r, Kind: types.ObjectUpdateKindLeave})
			}
		}
	}
	for r, names := range dirty {
		if !f.reported[r] || left[r] || enteredNow[r] {
			continue
		}
		paths := f.affectedPaths(r, names)
		if len(paths) == 0 {
			continue
		}
		spec := types.PropertyFilterSpec{
			ObjectSet: []types.ObjectSpec{{Obj: r}},
			PropSet:   []types.PropertySpec{{Type: r.Type, PathSet: paths}},
		}
		res, fault := f.retrieve(ctx, spec)
		if fault != nil || len(res) == 0 {
			continue // deleted meanwhile: its leave comes with the next answer
		}
		got := map[string]interface{}{}
		for _, p := range res[0].PropSet {
			got[p.Name] = p.Val
		}
		ou := types.ObjectUpdate{Obj: r, Kind: types.ObjectUpdateKindModify}
		for _, p := range paths {
			ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: p, Op: types.PropertyChangeOpAssign, Val: got[p]})
		}
		fu.ObjectSet = append(fu.ObjectSet, ou)
	}
	return fu, nil
}

// affectedPaths lists the filter's property paths for r's type that the changed names touch
// (the same path, a sub-property of it, or a parent of it).
func (f *PropertyFilter) affectedPaths(r ref, names map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, ps := range f.Spec.PropSet {
		if !typeMatches(ps.Type, r) {
			continue
		}
		paths := ps.PathSet
		if ps.All != nil && *ps.All {
			paths = nil
			for n := range names {
				if i := strings.IndexByte(n, '.'); i > 0 {
					n = n[:i]
				}
				paths = append(paths, n)
			}
		}
		for _, p := range paths {
			if seen[p] {
				continue
			}
			for n := range names {
				if n == p || strings.HasPrefix(n, p+".") || strings.HasPrefix(p, n+".") {
					seen[p] = true
					out = append(out, p)
					break
				}
			}
		}
	}
	return out
}

// typeMatches tells whether a PropertySpec type applies to r (its own type or an embedded
// base type such as ManagedEntity).
func typeMatches(specType string, r ref) bool {
	if specType == r.Type {
		return true
	}
	obj := simulator.Map.Get(r)
	if obj == nil {
		return false
	}
	t := moType(obj)
	field, ok := t.FieldByName(specType)
	return ok && field.Anonymous
}

// retrieve runs vcsim's own RetrievePropertiesEx for spec.
func (f *PropertyFilter) retrieve(ctx *simulator.Context, spec types.PropertyFilterSpec) ([]types.ObjectContent, *soap.Fault) {
	res := f.pc.PropertyCollector.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{
		This: f.pc.Self, SpecSet: []types.PropertyFilterSpec{spec},
	})
	if fault := res.Fault(); fault != nil {
		return nil, fault
	}
	body := res.(*methods.RetrievePropertiesExBody)
	if body.Res == nil || body.Res.Returnval == nil {
		return nil, nil
	}
	return body.Res.Returnval.Objects, nil
}

// ---- traversal ---------------------------------------------------------------

var viewTypes = map[string]bool{"ListView": true, "ContainerView": true, "InventoryView": true}

// traversalObjects returns the objects whose properties the spec's traversal reads (a change
// to them can change the filter's object set), and whether they are all views.
func traversalObjects(ctx *simulator.Context, spec types.PropertyFilterSpec) (map[ref]bool, bool) {
	via := map[ref]bool{}
	named := map[string]*types.TraversalSpec{}
	var collect func(ss []types.BaseSelectionSpec)
	collect = func(ss []types.BaseSelectionSpec) {
		for _, s := range ss {
			if ts, ok := s.(*types.TraversalSpec); ok && ts.Name != "" && named[ts.Name] == nil {
				named[ts.Name] = ts
				collect(ts.SelectSet)
			}
		}
	}
	for _, os := range spec.ObjectSet {
		collect(os.SelectSet)
	}
	var visit func(r ref, ss []types.BaseSelectionSpec, depth int)
	visit = func(r ref, ss []types.BaseSelectionSpec, depth int) {
		if len(ss) == 0 || depth > 32 || via[r] {
			return
		}
		via[r] = true
		obj := lookup(ctx, r)
		if obj == nil {
			return
		}
		for _, s := range ss {
			ts, ok := s.(*types.TraversalSpec)
			if !ok {
				ts = named[s.GetSelectionSpec().Name]
			}
			if ts == nil || !typeMatches(ts.Type, r) {
				continue
			}
			var next []ref
			simulator.Map.WithLock(obj, func() { next = refsAt(obj, ts.Path) })
			for _, n := range next {
				visit(n, ts.SelectSet, depth+1)
			}
		}
	}
	for _, os := range spec.ObjectSet {
		visit(os.Obj, os.SelectSet, 0)
		via[os.Obj] = true
	}
	viewsOnly := true
	for r := range via {
		if !viewTypes[r.Type] {
			viewsOnly = false
		}
	}
	// A filter on plain objects (no traversal) also never gains members.
	if !viewsOnly {
		plain := true
		for _, os := range spec.ObjectSet {
			if len(os.SelectSet) > 0 {
				plain = false
			}
		}
		viewsOnly = plain
	}
	return via, viewsOnly
}

func lookup(ctx *simulator.Context, r ref) mo.Reference {
	if ctx.Session != nil {
		return ctx.Session.Get(r)
	}
	return simulator.Map.Get(r)
}

// moType digs a registry object down to its vim25/mo struct type.
func moType(obj mo.Reference) reflect.Type {
	t := reflect.TypeOf(obj).Elem()
	for path.Base(t.PkgPath()) != "mo" && t.Kind() == reflect.Struct && t.NumField() > 0 {
		t = t.Field(0).Type
	}
	return t
}

// refsAt reads the references at a dotted property path of a registry object.
func refsAt(obj mo.Reference, p string) []ref {
	v := reflect.ValueOf(obj).Elem()
	for path.Base(v.Type().PkgPath()) != "mo" && v.Kind() == reflect.Struct && v.NumField() > 0 {
		v = v.Field(0)
	}
	for _, part := range strings.Split(p, ".") {
		for v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		v = v.FieldByName(strings.ToUpper(part[:1]) + part[1:])
		if !v.IsValid() {
			return nil
		}
	}
	switch x := v.Interface().(type) {
	case types.ManagedObjectReference:
		return []ref{x}
	case *types.ManagedObjectReference:
		if x != nil {
			return []ref{*x}
		}
	case []types.ManagedObjectReference:
		return append([]ref(nil), x...)
	}
	return nil
}
