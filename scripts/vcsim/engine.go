package main

import (
	"container/heap"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const mib = float64(1 << 20)

type taskKind int

const (
	kindRelocate taskKind = iota
	kindMigrate
	kindConsolidate
	kindRemoveSnapshot
	kindRemoveAllSnapshots
)

// mmTask is one asynchronous task run by the engine. Its simulator Task object is what
// clients see; this record holds the engine's side (resources, times, fate).
type mmTask struct {
	id     string
	task   *simulator.Task
	method string
	kind   taskKind
	vm     *VM
	vmName string

	// migrations
	storage, hostMove bool
	cold              bool // powered off, suspended or template: a provisioning operation
	plan              *movePlan
	srcHost, dstHost  ref
	srcDS             []ref // the VM's datastores when the task was planned
	dstPool           ref
	srcPool           ref
	committed         int64 // bytes the copies write
	hostCost          map[ref]int
	dsCost            map[ref]int
	netHosts          []ref
	reserved          map[ref]int64 // destination space held while running
	freeAfter         map[ref]int64 // datastores' free space once the task succeeded
	podsAfter         map[ref][2]int64
	result            types.AnyType // info.result on success

	// snapshot operations
	snapshot       ref
	removeChildren bool
	consolidate    bool

	// How long it runs (bandwidth.go): `fixed` simulated seconds (setup, host move,
	// snapshot work, an injected delay), then, for a relocation that copies files, the copy
	// of copyBytes at a rate the shared-bandwidth model gives it (capRate alone). Progress
	// counts "work" in nominal seconds: fixed + copyBytes / capRate.
	fixed     float64
	copyBytes float64
	capRate   float64   // bytes/s of the copy alone: rate × the slowest datastore's factor
	uses      []flowUse // arrays the copy loads
	work      float64   // nominal seconds of the whole task
	endWork   float64   // work at which it ends (an injected failure: 10 % of work)
	steps     int       // progress updates to show
	nextStep  int       // the next one (1…steps)
	flow      *copyFlow // while copying
	epoch     int       // bumped when its pending event is replaced; older events are stale
	copyStart float64   // when the copy began (simulated)
	copyEnd   float64
	copied    float64 // bytes copied when it ended
	copying   bool    // the copy began

	failFault string // injected fault type ("" = succeeds)
	failMsg   string
	immediate types.BaseMethodFault // ends in error as soon as the engine sees it

	state                                   string
	createdSim, startedSim, completedSim    float64
	createdWall, startedWall, completedWall time.Time
	queuedBy                                map[string]bool
	errType, errMsg                         string
	from, to                                []string

	cancelReq    bool
	cancelDone   chan struct{}
	cancelResult string // "" ok, else fault type
}

// event is the next milestone of a running task: a progress update, the start of its copy,
// or its end. A task has one pending event at a time; when its rate changes the event is
// replaced (epoch).
type event struct {
	at    float64
	t     *mmTask
	kind  eventKind
	pct   int32 // progress to show
	epoch int
}

type eventKind int

const (
	evProgress eventKind = iota
	evCopyStart
	evEnd
)

type eventHeap []event

func (h eventHeap) Len() int            { return len(h) }
func (h eventHeap) Less(i, j int) bool  { return h[i].at < h[j].at }
func (h eventHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x interface{}) { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() interface{} {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}

// resourceStat is the cost accounting of one host or datastore.
type resourceStat struct {
	cost, peak, queued         int
	vmotions, vmotionPeak, net int // hosts: concurrent vMotions, peak, queued by the network limit
}

// engine runs every asynchronous task. Decisions are taken under mu by one loop goroutine;
// the resulting changes to simulator objects are applied by the same goroutine after mu is
// released, in decision order (so a task never shows "running" after "success", and the
// engine never holds mu while waiting for an object lock that a SOAP handler holds).
type engine struct {
	mu     sync.Mutex
	cfg    *Config
	w      *world
	clock  *simClock
	faults *faultInjector
	logf   func(string, ...interface{})

	tasks    map[string]*mmTask
	order    []*mmTask
	busy     map[ref]*mmTask
	incoming []*mmTask
	queue    []*mmTask
	cancels  []*mmTask
	events   eventHeap
	hosts    map[ref]*resourceStat
	dss      map[ref]*resourceStat
	moves    map[string]int
	// copies counts each VM's successful storage moves (a second one copies its disks twice).
	copies map[string]int
	// hostMoves counts successful moves that changed only the host (vMotions).
	hostMoves int
	// Per-file accounting of successful relocations.
	fileMoves  []fileMoveJSON
	bytesOut   map[string]int64 // datastore name -> bytes of files that left it
	bytesIn    map[string]int64 // datastore name -> bytes written to it
	fileCopies map[string]map[string]int
	// The datastores' space, the engine's ledger (written to the Datastore objects after each
	// move): capacity, free space, and space held by running copies.
	dsCap      map[ref]int64
	dsFree     map[ref]int64
	dsReserved map[ref]int64
	// Shared storage bandwidth (bandwidth.go): which array each datastore is in, the
	// datastores' rate factors, and the copies sharing the arrays.
	storage *storageModel
	fluid   *fluidModel
	// Storage DRS recommendations (sdrs.go)
	recs    map[string]*storageRec
	recSeq  int
	recsTTL time.Duration

	wake   chan struct{}
	stopCh chan struct{}
	done   chan struct{}
}

func newEngine(cfg *Config, w *world, f *faultInjector, storage *storageModel, logf func(string, ...interface{})) *engine {
	e := &engine{
		storage: storage, fluid: newFluidModel(storage.arrays),
		cfg: cfg, w: w, clock: newSimClock(cfg.Speed, cfg.ClockSkewSeconds), faults: f, logf: logf,
		tasks: map[string]*mmTask{}, busy: map[ref]*mmTask{},
		hosts: map[ref]*resourceStat{}, dss: map[ref]*resourceStat{}, moves: map[string]int{}, copies: map[string]int{},
		bytesOut: map[string]int64{}, bytesIn: map[string]int64{}, fileCopies: map[string]map[string]int{},
		dsCap: map[ref]int64{}, dsFree: map[ref]int64{}, dsReserved: map[ref]int64{},
		recs: map[string]*storageRec{}, recsTTL: time.Duration(cfg.SDRSTTLSeconds * float64(time.Second)),
		wake: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{}),
	}
	for h := range w.hostName {
		e.hosts[h] = &resourceStat{}
	}
	for d := range w.dsName {
		e.dss[d] = &resourceStat{}
		if ds, ok := simulator.Map.Get(d).(*simulator.Datastore); ok {
			e.dsCap[d], e.dsFree[d] = ds.Summary.Capacity, ds.Summary.FreeSpace
		}
	}
	go e.loop()
	return e
}

// config returns a copy of the current configuration.
func (e *engine) config() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *e.cfg
}

func (e *engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *engine) stop() {
	select {
	case <-e.stopCh:
	default:
		close(e.stopCh)
	}
	<-e.done
}

// submit registers a task created by a SOAP handler (which holds the VM's lock).
// It decides the task's fate and cost; the loop starts it when the limits allow.
func (e *engine) submit(t *mmTask) {
	e.mu.Lock()
	e.admitLocked(t)
	e.mu.Unlock()
	e.poke()
}

// admitLocked is submit's decision under mu: the task's fate, cost and place in the queue.
func (e *engine) admitLocked(t *mmTask) {
	now := e.clock.now()
	t.state = string(types.TaskInfoStateQueued)
	t.createdSim, t.createdWall = now, time.Now()
	t.queuedBy = map[string]bool{}
	if other := e.busy[t.vm.Self]; other != nil && t.immediate == nil {
		t.immediate = &types.TaskInProgress{Task: other.task.Self}
		t.errMsg = fmt.Sprintf("Another task (%s, %s) is already in progress on %s.", other.id, other.method, t.vmName)
	}
	if t.immediate == nil {
		e.busy[t.vm.Self] = t
		fault, msg, extra := e.faults.taskFate(t.method, t.vmName)
		t.failFault, t.failMsg = fault, msg
		t.fixed += extra
		if t.copyBytes > 0 && t.capRate > 0 {
			t.work = t.fixed + t.copyBytes/t.capRate
		} else {
			t.copyBytes, t.work = 0, t.fixed
		}
		if t.work < e.cfg.MinTaskSeconds {
			// The floor stretches the fixed part: a copy alone still ends at the floor.
			t.fixed += e.cfg.MinTaskSeconds - t.work
			t.work = e.cfg.MinTaskSeconds
		}
	}
	e.tasks[t.id] = t
	e.order = append(e.order, t)
	e.incoming = append(e.incoming, t)
}

// cancelTask implements CancelTask for the engine's tasks. It returns false when the task is
// not one of ours (the simulator then answers as it would).
func (e *engine) cancelTask(id string, w http.ResponseWriter) bool {
	e.mu.Lock()
	t := e.tasks[id]
	if t == nil {
		e.mu.Unlock()
		return false
	}
	if t.state == string(types.TaskInfoStateSuccess) || t.state == string(types.TaskInfoStateError) || t.cancelReq {
		state := t.state
		e.mu.Unlock()
		writeSOAPFault(w, &types.InvalidState{}, fmt.Sprintf("The task %s is already %s and cannot be canceled.", id, state))
		return true
	}
	t.cancelReq = true
	t.cancelDone = make(chan struct{})
	done := t.cancelDone
	e.cancels = append(e.cancels, t)
	e.mu.Unlock()
	e.poke()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	writeSOAPEmptyResponse(w, "CancelTask")
	return true
}

// loop is the engine's only goroutine: it takes decisions under mu, then applies them.
func (e *engine) loop() {
	defer close(e.done)
	timer := time.NewTimer(time.Hour)
	for {
		acts, wait := e.step()
		for _, a := range acts {
			a()
		}
		if wait < 0 {
			wait = time.Hour
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-e.stopCh:
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// step takes every decision due now and returns the actions to apply and how long to sleep.
func (e *engine) step() ([]func(), time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stepLocked(e.clock.now())
}

// stepLocked is step's decisions at now, under mu: the actions to apply and how long to sleep.
func (e *engine) stepLocked(now float64) ([]func(), time.Duration) {
	var acts []func()

	// Events first, each at its own simulated time (a late wake-up changes nothing), then
	// what arrived since the last step, at now.
	for e.events.Len() > 0 && e.events[0].at <= now {
		ev := heap.Pop(&e.events).(event)
		t := ev.t
		if t.state != string(types.TaskInfoStateRunning) || ev.epoch != t.epoch {
			continue // canceled, or replaced by a later event of the task
		}
		switch ev.kind {
		case evProgress:
			pct := ev.pct
			t.nextStep++
			e.scheduleLocked(t)
			acts = append(acts, func() { updateTask(t.task, []types.PropertyChange{{Name: "info.progress", Val: pct}}) })
		case evCopyStart:
			t.copying, t.copyStart = true, ev.at
			t.flow = &copyFlow{task: t, cap: t.capRate, uses: t.uses}
			e.rescheduleLocked(e.fluid.join(t.flow, ev.at))
		case evEnd:
			e.stopCopyLocked(t, ev.at)
			e.releaseLocked(t)
			if t.failFault != "" {
				msg := t.failMsg
				file := e.taskFile(t)
				if msg == "" {
					msg = faultMessage(t.failFault, file)
				}
				acts = append(acts, e.finishLocked(t, ev.at, makeFault(t.failFault, file), msg))
			} else {
				acts = append(acts, e.succeedLocked(t, ev.at))
			}
		}
	}

	for _, t := range e.cancels {
		fault := &types.RequestCanceled{}
		msg := "The task was canceled by a user."
		switch t.state {
		case string(types.TaskInfoStateQueued):
			for i, q := range e.queue {
				if q == t {
					e.queue = append(e.queue[:i], e.queue[i+1:]...)
					break
				}
			}
			acts = append(acts, e.finishLocked(t, now, fault, msg))
		case string(types.TaskInfoStateRunning):
			e.stopCopyLocked(t, now)
			e.releaseLocked(t)
			acts = append(acts, e.finishLocked(t, now, fault, msg))
		}
		done := t.cancelDone
		acts = append(acts, func() { close(done) })
	}
	e.cancels = nil

	for _, t := range e.incoming {
		if t.immediate != nil {
			acts = append(acts, e.finishLocked(t, now, t.immediate, t.errMsg))
			continue
		}
		e.queue = append(e.queue, t)
	}
	e.incoming = nil

	acts = append(acts, e.dispatchLocked(now)...)

	wait := time.Duration(-1)
	if e.events.Len() > 0 {
		wait = e.clock.realDelay(e.events[0].at - e.clock.now())
	}
	return acts, wait
}

// dispatchLocked starts every queued task whose costs fit, in FIFO order.
func (e *engine) dispatchLocked(now float64) []func() {
	var acts []func()
	kept := e.queue[:0]
	for _, t := range e.queue {
		// Each action below runs after the loop: it must hold this iteration's task, not the
		// range variable Go 1.19 shares across iterations (two tasks started in one step once
		// both updated the later one, and the earlier showed "queued" while it ran).
		t := t
		if blocked := e.blockedLocked(t); len(blocked) > 0 {
			for _, b := range blocked {
				if !t.queuedBy[b.name] {
					t.queuedBy[b.name] = true
					*b.counter++
				}
			}
			kept = append(kept, t)
			continue
		}
		if t.plan != nil && t.failFault == "" {
			if d, need, ok := e.lacksSpaceLocked(t); ok {
				name := e.w.dsName[d]
				msg := fmt.Sprintf("Insufficient disk space on datastore '%s' (%d bytes free, %d needed).", name, e.dsFree[d]-e.dsReserved[d], need)
				acts = append(acts, e.finishLocked(t, now, &types.NoDiskSpace{FileFault: types.FileFault{File: e.taskFile(t)}, Datastore: name}, msg))
				continue
			}
			t.reserved = t.plan.arrive
			for d, n := range t.reserved {
				e.dsReserved[d] += n
			}
		}
		e.acquireLocked(t)
		t.state = string(types.TaskInfoStateRunning)
		t.startedSim, t.startedWall = now, time.Now()
		t.steps, t.nextStep, t.endWork = e.cfg.ProgressSteps, 1, t.work
		if t.failFault != "" {
			t.endWork = t.work * 0.1 // an injected failure shows up early in the task
			t.steps = 0
		}
		if t.work <= 0 {
			t.steps = 0
		}
		e.scheduleLocked(t)
		start := e.clock.time(now)
		acts = append(acts, func() {
			updateTask(t.task, []types.PropertyChange{
				{Name: "info.state", Val: types.TaskInfoStateRunning},
				{Name: "info.startTime", Val: start},
				{Name: "info.progress", Val: int32(0)},
			})
		})
	}
	e.queue = kept
	return acts
}

// scheduleLocked pushes t's next milestone: the next progress step, the start of its copy
// or its end, whichever comes first. While copying, the time follows from the copy's current
// rate; the fluid model calls rescheduleLocked whenever that rate changes.
func (e *engine) scheduleLocked(t *mmTask) {
	t.epoch++
	target, kind, pct := t.endWork, evEnd, int32(0)
	if t.nextStep <= t.steps {
		if w := t.work * float64(t.nextStep) / float64(t.steps+1); w < t.endWork {
			target, kind, pct = w, evProgress, int32(t.nextStep*100/(t.steps+1))
		}
	}
	var at float64
	switch {
	case t.copyBytes <= 0 || target <= t.fixed:
		at = t.startedSim + target
	case !t.copying:
		at, kind = t.startedSim+t.fixed, evCopyStart
	default:
		mark := math.Min(t.copyBytes, (target-t.fixed)*t.capRate)
		at = t.flow.last + math.Max(0, mark-t.flow.copied)/t.flow.rate
	}
	heap.Push(&e.events, event{at: at, t: t, kind: kind, pct: pct, epoch: t.epoch})
}

// rescheduleLocked replaces the pending events of the copies whose rate changed.
func (e *engine) rescheduleLocked(changed []*copyFlow) {
	for _, f := range changed {
		if f.task != nil && f.task.state == string(types.TaskInfoStateRunning) {
			e.scheduleLocked(f.task)
		}
	}
}

// stopCopyLocked takes t's copy (if running) out of the fluid model at `at`, recording what
// it achieved, and gives the others its share.
func (e *engine) stopCopyLocked(t *mmTask, at float64) {
	t.epoch++ // any pending event of t is void
	if t.flow == nil {
		return
	}
	changed := e.fluid.leave(t.flow, at)
	t.copied, t.copyEnd = math.Min(t.flow.copied, t.copyBytes), at
	t.flow = nil
	e.rescheduleLocked(changed)
}

type blocker struct {
	name    string
	counter *int
}

// blockedLocked lists the resources that lack room for t (empty: t may start).
func (e *engine) blockedLocked(t *mmTask) []blocker {
	var out []blocker
	for h, c := range t.hostCost {
		if r := e.hosts[h]; r != nil && r.cost > 0 && r.cost+c > e.cfg.HostMaxCost {
			out = append(out, blocker{"host " + e.w.hostName[h], &r.queued})
		}
	}
	for d, c := range t.dsCost {
		if r := e.dss[d]; r != nil && r.cost > 0 && r.cost+c > e.cfg.DatastoreMaxCost {
			out = append(out, blocker{"datastore " + e.w.dsName[d], &r.queued})
		}
	}
	for _, h := range t.netHosts {
		if r := e.hosts[h]; r != nil && r.vmotions > 0 && r.vmotions+1 > e.cfg.NetworkMaxVMotions {
			out = append(out, blocker{"network " + e.w.hostName[h], &r.net})
		}
	}
	return out
}

func (e *engine) acquireLocked(t *mmTask) {
	for h, c := range t.hostCost {
		if r := e.hosts[h]; r != nil {
			r.cost += c
			if r.cost > r.peak {
				r.peak = r.cost
			}
		}
	}
	for d, c := range t.dsCost {
		if r := e.dss[d]; r != nil {
			r.cost += c
			if r.cost > r.peak {
				r.peak = r.cost
			}
		}
	}
	for _, h := range t.netHosts {
		if r := e.hosts[h]; r != nil {
			r.vmotions++
			if r.vmotions > r.vmotionPeak {
				r.vmotionPeak = r.vmotions
			}
		}
	}
}

// lacksSpaceLocked finds a destination datastore without room for what t's files bring
// (their size there), counting the space other running copies hold.
func (e *engine) lacksSpaceLocked(t *mmTask) (ref, int64, bool) {
	for _, d := range sortedRefs(t.plan.arrive, e.w.dsName) {
		need := t.plan.arrive[d]
		if need > 0 && e.dsFree[d]-e.dsReserved[d] < need {
			return d, need, true
		}
	}
	return ref{}, 0, false
}

// taskFile names the file a task's fault is about: the first file it copies.
func (e *engine) taskFile(t *mmTask) string {
	if t.plan != nil && len(t.plan.moves) > 0 {
		m := t.plan.moves[0]
		f := t.vm.files
		if m.Key < 0 {
			return dsPath(e.w.dsName, m.From, f.vmx)
		}
		if d := f.disk(m.Key); d != nil {
			return dsPath(e.w.dsName, m.From, d.path)
		}
	}
	if len(t.srcDS) > 0 {
		return fmt.Sprintf("[%s] %s/%s.vmdk", e.w.dsName[t.srcDS[0]], t.vmName, t.vmName)
	}
	return ""
}

func (e *engine) releaseLocked(t *mmTask) {
	for d, n := range t.reserved {
		e.dsReserved[d] -= n
	}
	t.reserved = nil
	for h, c := range t.hostCost {
		if r := e.hosts[h]; r != nil {
			r.cost -= c
		}
	}
	for d, c := range t.dsCost {
		if r := e.dss[d]; r != nil {
			r.cost -= c
		}
	}
	for _, h := range t.netHosts {
		if r := e.hosts[h]; r != nil {
			r.vmotions--
		}
	}
}

// finishLocked ends t in error and returns the action that shows it.
func (e *engine) finishLocked(t *mmTask, at float64, fault types.BaseMethodFault, msg string) func() {
	t.state = string(types.TaskInfoStateError)
	t.completedSim, t.completedWall = at, time.Now()
	if t.startedWall.IsZero() {
		t.startedSim, t.startedWall = at, t.completedWall
	}
	t.errType = typeName(fault)
	t.errMsg = msg
	if e.busy[t.vm.Self] == t {
		delete(e.busy, t.vm.Self)
	}
	started := t.startedSim
	start, end := e.clock.time(started), e.clock.time(at)
	return func() {
		updateTask(t.task, []types.PropertyChange{
			{Name: "info.startTime", Val: start},
			{Name: "info.completeTime", Val: end},
			{Name: "info.state", Val: types.TaskInfoStateError},
			{Name: "info.cancelable", Val: false},
			{Name: "info.error", Val: &types.LocalizedMethodFault{Fault: fault, LocalizedMessage: msg}},
		})
	}
}

// succeedLocked ends t successfully: the returned action applies its effect on the
// inventory, then marks the task done.
func (e *engine) succeedLocked(t *mmTask, at float64) func() {
	t.state = string(types.TaskInfoStateSuccess)
	t.completedSim, t.completedWall = at, time.Now()
	delete(e.busy, t.vm.Self)
	if (t.kind == kindRelocate || t.kind == kindMigrate) && (t.storage || t.hostMove) {
		e.moves[t.vmName]++
		if t.storage {
			e.copies[t.vmName]++
		} else {
			e.hostMoves++
		}
	}
	if t.storage {
		e.recordFilesLocked(t, at)
	}
	end := e.clock.time(at)
	return func() {
		e.applyEffect(t)
		changes := []types.PropertyChange{
			{Name: "info.completeTime", Val: end},
			{Name: "info.state", Val: types.TaskInfoStateSuccess},
			{Name: "info.progress", Val: int32(100)},
			{Name: "info.cancelable", Val: false},
		}
		if t.result != nil {
			changes = append(changes, types.PropertyChange{Name: "info.result", Val: t.result})
		}
		updateTask(t.task, changes)
	}
}

// recordFilesLocked books a successful relocation's files: the space ledger (sources free
// what the files occupied, destinations take their new size), the pods' sums, and the
// per-file statistics. The new free space of every touched datastore is kept on the task
// for applyEffect to write.
func (e *engine) recordFilesLocked(t *mmTask, at float64) {
	t.freeAfter = map[ref]int64{}
	for _, m := range t.plan.moves {
		e.dsFree[m.From] += m.SrcBytes
		e.dsFree[m.To] -= m.DstBytes
		from, to := e.w.dsName[m.From], e.w.dsName[m.To]
		e.bytesOut[from] += m.SrcBytes
		e.bytesIn[to] += m.Written
		fc := e.fileCopies[t.vmName]
		if fc == nil {
			fc = map[string]int{}
			e.fileCopies[t.vmName] = fc
		}
		fc[m.File]++
		e.fileMoves = append(e.fileMoves, fileMoveJSON{Task: t.id, VM: t.vmName, File: m.File, From: from, To: to,
			Bytes: m.Written, Format: m.Format, SourceBytes: m.SrcBytes, DestBytes: m.DstBytes, CompletedSim: at})
	}
	pods := map[ref]bool{}
	for _, d := range t.plan.touched {
		t.freeAfter[d] = e.dsFree[d]
		if p, ok := e.w.dsPod[d]; ok {
			pods[p] = true
		}
	}
	t.podsAfter = map[ref][2]int64{}
	for p := range pods {
		t.podsAfter[p] = e.podSpaceLocked(p)
	}
}

// podSpaceLocked is a pod's capacity and free space: its members' sums.
func (e *engine) podSpaceLocked(p ref) [2]int64 {
	var c, f int64
	for _, m := range e.w.podMembers[p] {
		c += e.dsCap[m]
		f += e.dsFree[m]
	}
	return [2]int64{c, f}
}

func typeName(v interface{}) string {
	s := fmt.Sprintf("%T", v)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return s
}

// updateTask applies changes to a task object under its lock, notifying property collectors.
func updateTask(t *simulator.Task, changes []types.PropertyChange) {
	simulator.Map.WithLock(t, func() { simulator.Map.Update(t, changes) })
}

func faultMessage(fault, file string) string {
	switch fault {
	case "FileLocked":
		return fmt.Sprintf("Unable to access file %s since it is locked", file)
	case "TaskInProgress":
		return "Another task is already in progress."
	case "InvalidState":
		return "The operation is not allowed in the current state."
	default:
		return fmt.Sprintf("%s (injected by the test vCenter)", fault)
	}
}

// ---- statistics -------------------------------------------------------------

type resourceJSON struct {
	Limit              int  `json:"limit"`
	MaxCost            int  `json:"max_cost"`
	Cost               int  `json:"cost"`
	LimitQueued        int  `json:"limit_queued"`
	MaxVMotions        *int `json:"max_vmotions,omitempty"`
	VMotionLimit       *int `json:"vmotion_limit,omitempty"`
	NetworkLimitQueued *int `json:"network_limit_queued,omitempty"`
}

type taskJSON struct {
	ID            string   `json:"id"`
	Method        string   `json:"method"`
	VM            string   `json:"vm"`
	State         string   `json:"state"`
	ErrorType     string   `json:"error_type,omitempty"`
	ErrorMessage  string   `json:"error_message,omitempty"`
	CreatedSim    float64  `json:"created_sim"`
	StartedSim    *float64 `json:"started_sim,omitempty"`
	CompletedSim  *float64 `json:"completed_sim,omitempty"`
	CreatedWall   float64  `json:"created_wall"`
	StartedWall   *float64 `json:"started_wall,omitempty"`
	CompletedWall *float64 `json:"completed_wall,omitempty"`
	QueuedBy      []string `json:"queued_by,omitempty"`
	From          []string `json:"from,omitempty"`
	To            []string `json:"to,omitempty"`
	// A relocation's copy (bandwidth.go): bytes copied, simulated seconds from the copy's
	// start to its end, and their ratio in MB/s — once the copy has ended.
	CopyBytes   *float64 `json:"copy_bytes,omitempty"`
	CopySeconds *float64 `json:"copy_seconds,omitempty"`
	CopyMBps    *float64 `json:"copy_mbps,omitempty"`
}

// arrayJSON is one storage array's use since the start or the last reset.
type arrayJSON struct {
	Spec          string   `json:"spec"` // the -array value, canonical
	BandwidthMBps float64  `json:"bandwidth_mbps"`
	Knee          int      `json:"knee,omitempty"`
	Loss          float64  `json:"loss,omitempty"`
	Floor         float64  `json:"floor,omitempty"`
	Datastores    []string `json:"datastores"`
	Copies        int      `json:"copies"`        // copying now
	MBpsNow       float64  `json:"mbps_now"`      // reads plus writes now
	CapacityMBps  float64  `json:"capacity_mbps"` // C(copies) now
	MaxCopies     int      `json:"max_copies"`    // most at once
	BytesRead     float64  `json:"bytes_read"`    // by copies reading it
	BytesWritten  float64  `json:"bytes_written"` // by copies writing it
	BusySeconds   float64  `json:"busy_seconds"`  // simulated time with a copy on it
	CopySeconds   float64  `json:"copy_seconds"`  // ∫ copies dt
	MeanCopies    float64  `json:"mean_copies"`   // copy_seconds / busy_seconds: time-weighted concurrency while busy
	MeanMBps      float64  `json:"mean_mbps"`     // (read + written) / busy_seconds
}

// fileMoveJSON is one file a successful relocation copied.
type fileMoveJSON struct {
	Task         string  `json:"task"`
	VM           string  `json:"vm"`
	File         string  `json:"file"` // config, disk-2001
	From         string  `json:"from"`
	To           string  `json:"to"`
	Bytes        int64   `json:"bytes"` // written
	Format       string  `json:"format,omitempty"`
	SourceBytes  int64   `json:"source_bytes"` // occupied at the source (freed there)
	DestBytes    int64   `json:"dest_bytes"`   // occupied at the destination
	CompletedSim float64 `json:"completed_sim"`
}

type bytesMovedJSON struct {
	Out int64 `json:"out"`
	In  int64 `json:"in"`
}

type engineStats struct {
	Hosts            map[string]resourceJSON   `json:"hosts"`
	Datastores       map[string]resourceJSON   `json:"datastores"`
	LimitQueuedTotal int                       `json:"limit_queued_total"`
	Tasks            []taskJSON                `json:"tasks,omitempty"`
	TaskCounts       map[string]int            `json:"task_counts"`
	Moves            map[string]int            `json:"moves"`
	Copies           map[string]int            `json:"copies"`
	HostMoves        int                       `json:"host_moves"`
	FileMoves        *[]fileMoveJSON           `json:"file_moves,omitempty"`
	BytesMoved       map[string]bytesMovedJSON `json:"bytes_moved"`
	Arrays           map[string]arrayJSON      `json:"arrays"`
	FileCopies       map[string]map[string]int `json:"file_copies"`
	SimNow           float64                   `json:"sim_now"`
	WallNow          float64                   `json:"wall_now"`
	Speed            float64                   `json:"speed"`
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (e *engine) stats(withTasks bool) engineStats { return e.statsWith(withTasks, true) }

func (e *engine) statsWith(withTasks, withFiles bool) engineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := engineStats{
		Hosts: map[string]resourceJSON{}, Datastores: map[string]resourceJSON{},
		TaskCounts: map[string]int{}, Moves: map[string]int{}, Copies: map[string]int{}, HostMoves: e.hostMoves,
		SimNow: e.clock.now(), WallNow: unix(time.Now()), Speed: e.clock.getSpeed(),
		BytesMoved: map[string]bytesMovedJSON{}, FileCopies: map[string]map[string]int{}, Arrays: map[string]arrayJSON{},
	}
	for i, a := range e.fluid.arrays {
		u := e.fluid.use(i, s.SimNow)
		j := arrayJSON{Spec: a.spec.String(), BandwidthMBps: a.spec.MBps, Knee: a.spec.Knee, Datastores: []string{},
			Copies: len(a.flows), MBpsNow: e.fluid.throughput(i) / mib, CapacityMBps: a.spec.capacityMBps(len(a.flows)),
			MaxCopies: a.maxCopies, BytesRead: u.bytesRead, BytesWritten: u.bytesWritten, BusySeconds: u.busySeconds, CopySeconds: u.copySeconds}
		if a.spec.Knee > 0 {
			j.Loss, j.Floor = a.spec.Loss, a.spec.Floor
		}
		if u.busySeconds > 0 {
			j.MeanCopies = u.copySeconds / u.busySeconds
			j.MeanMBps = (u.bytesRead + u.bytesWritten) / u.busySeconds / mib
		}
		for d, k := range e.storage.arrayOf {
			if k == i {
				j.Datastores = append(j.Datastores, d)
			}
		}
		sort.Strings(j.Datastores)
		s.Arrays[a.spec.Name] = j
	}
	if withFiles {
		fm := append([]fileMoveJSON{}, e.fileMoves...)
		s.FileMoves = &fm
	}
	for d, n := range e.bytesOut {
		b := s.BytesMoved[d]
		b.Out = n
		s.BytesMoved[d] = b
	}
	for d, n := range e.bytesIn {
		b := s.BytesMoved[d]
		b.In = n
		s.BytesMoved[d] = b
	}
	for vm, m := range e.fileCopies {
		c := map[string]int{}
		for f, n := range m {
			c[f] = n
		}
		s.FileCopies[vm] = c
	}
	for h, r := range e.hosts {
		vp, vl, nq := r.vmotionPeak, e.cfg.NetworkMaxVMotions, r.net
		s.Hosts[e.w.hostName[h]] = resourceJSON{Limit: e.cfg.HostMaxCost, MaxCost: r.peak, Cost: r.cost, LimitQueued: r.queued,
			MaxVMotions: &vp, VMotionLimit: &vl, NetworkLimitQueued: &nq}
		s.LimitQueuedTotal += r.queued + r.net
	}
	for d, r := range e.dss {
		s.Datastores[e.w.dsName[d]] = resourceJSON{Limit: e.cfg.DatastoreMaxCost, MaxCost: r.peak, Cost: r.cost, LimitQueued: r.queued}
		s.LimitQueuedTotal += r.queued
	}
	for k, v := range e.moves {
		s.Moves[k] = v
	}
	for k, v := range e.copies {
		s.Copies[k] = v
	}
	for _, t := range e.order {
		s.TaskCounts[t.state]++
		if !withTasks {
			continue
		}
		j := taskJSON{ID: t.id, Method: t.method, VM: t.vmName, State: t.state, ErrorType: t.errType, ErrorMessage: t.errMsg,
			CreatedSim: t.createdSim, CreatedWall: unix(t.createdWall), From: t.from, To: t.to}
		if !t.startedWall.IsZero() {
			a, b := t.startedSim, unix(t.startedWall)
			j.StartedSim, j.StartedWall = &a, &b
		}
		if !t.completedWall.IsZero() {
			a, b := t.completedSim, unix(t.completedWall)
			j.CompletedSim, j.CompletedWall = &a, &b
		}
		if t.copying && t.flow == nil {
			b, d := t.copied, t.copyEnd-t.copyStart
			j.CopyBytes, j.CopySeconds = &b, &d
			if d > 0 {
				r := b / d / mib
				j.CopyMBps = &r
			}
		}
		for q := range t.queuedBy {
			j.QueuedBy = append(j.QueuedBy, q)
		}
		sort.Strings(j.QueuedBy)
		s.Tasks = append(s.Tasks, j)
	}
	return s
}

// resetStats forgets finished tasks, peaks and moves (running and queued tasks stay).
func (e *engine) resetStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.order[:0]
	for _, t := range e.order {
		if t.state == string(types.TaskInfoStateQueued) || t.state == string(types.TaskInfoStateRunning) {
			kept = append(kept, t)
		} else {
			delete(e.tasks, t.id)
		}
	}
	e.order = kept
	for _, r := range e.hosts {
		r.peak, r.queued, r.vmotionPeak, r.net = r.cost, 0, r.vmotions, 0
	}
	for _, r := range e.dss {
		r.peak, r.queued = r.cost, 0
	}
	e.moves = map[string]int{}
	e.copies = map[string]int{}
	e.hostMoves = 0
	e.fileMoves = nil
	e.bytesOut, e.bytesIn = map[string]int64{}, map[string]int64{}
	e.fileCopies = map[string]map[string]int{}
	e.fluid.resetStats(e.clock.now())
}
