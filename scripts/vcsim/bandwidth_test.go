package main

import (
	"container/heap"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// The shared-bandwidth model (bandwidth.go) on virtual time: the allocation, the knee, the
// slow datastores and the fluid integration are exercised without the server or a clock,
// so nothing here depends on how busy the machine is.

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestParseArraySpec(t *testing.T) {
	a, err := parseArraySpec("old-array=legacy-*|archive-0?:400:knee=4:loss=0.1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "old-array" || len(a.Globs) != 2 || a.MBps != 400 || a.Knee != 4 || a.Loss != 0.1 || a.Floor != defaultArrayFloor {
		t.Errorf("parsed %+v", a)
	}
	if b, err := parseArraySpec(a.String()); err != nil || b.String() != a.String() {
		t.Errorf("%q does not parse back: %+v %v", a.String(), b, err)
	}
	if a, _ := parseArraySpec("x=new-*:250"); a.Knee != 0 || a.capacityMBps(100) != 250 {
		t.Errorf("an array without a knee serves B at any concurrency: %+v", a)
	}
	if a, _ := parseArraySpec("x=new-*:250:knee=2"); a.Loss != defaultArrayLoss {
		t.Errorf("knee without loss: loss %v, want the default %v", a.Loss, defaultArrayLoss)
	}
	for _, bad := range []string{"", "x", "=a:1", "x=a", "x=:100", "x=a:0", "x=a:-5", "x=a:fast", "x=a:100:knee=0",
		"x=a:100:loss=0.1", "x=a:100:knee=2:loss=1.5", "x=a:100:knee=2:floor=0", "x=a:100:speed=3", "x=a[:100"} {
		if _, err := parseArraySpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var l arrayList
	if err := l.Set("a=x-*:1"); err != nil || l.Set("a=y-*:1") == nil {
		t.Errorf("an array name given twice must be refused")
	}
	var s slowList
	if err := s.Set("new-03:0.5,new-04:2"); err != nil || len(s) != 2 || s[0].Factor != 0.5 || s[1].Name != "new-04" {
		t.Errorf("slow list %v, %v", s, err)
	}
	for _, bad := range []string{"new-03", "new-03:0", "new-03:x", ":0.5"} {
		if err := (&slowList{}).Set(bad); err == nil {
			t.Errorf("-slow-datastore %q accepted", bad)
		}
	}
}

func TestKneeCapacity(t *testing.T) {
	a, _ := parseArraySpec("x=ds-*:400:knee=4:loss=0.1")
	// C(n) = B × max(floor, 1 − loss × max(0, n − knee)), floor 0.2
	for n, want := range map[int]float64{0: 400, 1: 400, 4: 400, 5: 360, 6: 320, 8: 240, 11: 120, 12: 80, 13: 80, 50: 80} {
		if got := a.capacityMBps(n); !near(got, want) {
			t.Errorf("C(%d) = %v, want %v", n, got, want)
		}
	}
	b, _ := parseArraySpec("x=ds-*:400:knee=4:loss=0.25:floor=0.5")
	if got := b.capacityMBps(7); !near(got, 200) {
		t.Errorf("floor 0.5: C(7) = %v, want 200", got)
	}
}

func TestResolveStorageModelAndSlowDatastores(t *testing.T) {
	names := []string{"legacy-01", "legacy-02", "new-01", "new-02", "new-03"}
	old, _ := parseArraySpec("old=legacy-*:400")
	nw, _ := parseArraySpec("new=new-0[12]:800")
	m, err := resolveStorageModel([]arraySpec{old, nw}, []slowSpec{{"new-03", 0.5}}, names)
	if err != nil {
		t.Fatal(err)
	}
	if m.arrayOf["legacy-02"] != 0 || m.arrayOf["new-02"] != 1 {
		t.Errorf("arrays of datastores: %v", m.arrayOf)
	}
	if _, in := m.arrayOf["new-03"]; in {
		t.Errorf("new-03 matches no glob and is in no array")
	}
	// legacy-01 -> new-03: reads array 0, writes no array; capped by new-03's factor.
	c, uses := m.copyShape(100*mib, []string{"legacy-01"}, []string{"new-03"})
	if !near(c, 50*mib) || len(uses) != 1 || uses[0].array != 0 || !uses[0].read || uses[0].write {
		t.Errorf("legacy-01 -> new-03: cap %v MB/s, uses %+v", c/mib, uses)
	}
	// legacy-01 -> legacy-02: reads and writes array 0 (weight 2), not slow.
	c, uses = m.copyShape(100*mib, []string{"legacy-01"}, []string{"legacy-02"})
	if !near(c, 100*mib) || len(uses) != 1 || uses[0].weight() != 2 {
		t.Errorf("legacy-01 -> legacy-02: cap %v MB/s, uses %+v", c/mib, uses)
	}
	for _, bad := range []struct {
		arrays []string
		slow   []slowSpec
	}{
		{[]string{"a=legacy-*:1", "b=legacy-01:1"}, nil}, // legacy-01 in two arrays
		{[]string{"a=nothing-*:1"}, nil},                 // matches no datastore
		{nil, []slowSpec{{"new-09", 0.5}}},               // no such datastore
	} {
		var specs []arraySpec
		for _, s := range bad.arrays {
			a, _ := parseArraySpec(s)
			specs = append(specs, a)
		}
		if _, err := resolveStorageModel(specs, bad.slow, names); err == nil {
			t.Errorf("%v %v accepted", bad.arrays, bad.slow)
		}
	}
}

func use(array int, read, write bool) []flowUse {
	return []flowUse{{array: array, read: read, write: write}}
}

func TestMaxMinShareCases(t *testing.T) {
	for _, c := range []struct {
		name     string
		caps     []float64
		uses     [][]flowUse
		capacity []float64
		want     []float64
	}{
		{"array not binding", []float64{100, 100, 100}, [][]flowUse{use(0, true, false), use(0, true, false), use(0, true, false)}, []float64{400}, []float64{100, 100, 100}},
		{"equal split when binding", []float64{150, 150, 150}, [][]flowUse{use(0, true, false), use(0, true, false), use(0, true, false)}, []float64{300}, []float64{100, 100, 100}},
		// A copy capped low (slow datastore) leaves its share to the others: 240 − 50 = 190.
		{"capped copy gives its share away", []float64{50, 100, 100}, [][]flowUse{use(0, true, false), use(0, true, false), use(0, true, false)}, []float64{240}, []float64{50, 95, 95}},
		// Copy 0 reads X and writes Y (100 MB/s): Y holds it to 100; copies 1 and 2 share the
		// 300 left on X (an equal split of X would give each 133).
		{"bottleneck elsewhere", []float64{200, 200, 200},
			[][]flowUse{{{0, true, false}, {1, false, true}}, use(0, true, false), use(0, true, false)},
			[]float64{400, 100}, []float64{100, 150, 150}},
		// Inside one array a copy reads and writes: its rate counts twice.
		{"read and write on one array", []float64{400}, [][]flowUse{use(0, true, true)}, []float64{300}, []float64{150}},
		{"no array: the cap", []float64{70, 30}, [][]flowUse{nil, use(0, false, true)}, []float64{10}, []float64{70, 10}},
	} {
		got := maxMinShare(c.caps, c.uses, c.capacity)
		for i := range got {
			if !near(got[i], c.want[i]) {
				t.Errorf("%s: rates %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

// TestMaxMinShareIsMaxMinFair checks random instances against the definition: feasible,
// and every copy is either at its cap or on a full array where no copy is faster than it
// (the bottleneck condition, which characterises the max-min fair allocation).
func TestMaxMinShareIsMaxMinFair(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 500; round++ {
		na, nf := 1+rng.Intn(4), 1+rng.Intn(12)
		capacity := make([]float64, na)
		for a := range capacity {
			capacity[a] = 50 + rng.Float64()*500
		}
		caps := make([]float64, nf)
		uses := make([][]flowUse, nf)
		for i := range caps {
			caps[i] = []float64{25, 50, 100, 100, 150}[rng.Intn(5)]
			for a := 0; a < na; a++ {
				if rng.Intn(3) == 0 {
					uses[i] = append(uses[i], flowUse{array: a, read: rng.Intn(2) == 0, write: true})
				}
			}
		}
		rates := maxMinShare(caps, uses, capacity)
		load := make([]float64, na)
		for i, r := range rates {
			if r < -1e-9 || r > caps[i]*(1+1e-9) {
				t.Fatalf("round %d: copy %d rate %v, cap %v", round, i, r, caps[i])
			}
			for _, u := range uses[i] {
				load[u.array] += u.weight() * r
			}
		}
		for a := range load {
			if load[a] > capacity[a]*(1+1e-9) {
				t.Fatalf("round %d: array %d loaded %v > %v", round, a, load[a], capacity[a])
			}
		}
		for i, r := range rates {
			if r >= caps[i]*(1-1e-9) {
				continue
			}
			ok := false
			for _, u := range uses[i] {
				if load[u.array] < capacity[u.array]*(1-1e-9) {
					continue
				}
				fastest := true
				for j, s := range rates {
					for _, v := range uses[j] {
						if v.array == u.array && s > r*(1+1e-9) {
							fastest = false
						}
					}
				}
				if fastest {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("round %d: copy %d at %v below its cap %v has no bottleneck (rates %v, caps %v, uses %v, capacity %v)",
					round, i, r, caps[i], rates, caps, uses, capacity)
			}
		}
	}
}

// virtualCopies runs copies through a fluid model on virtual time, as the engine does: each
// copy joins at its start, its end time follows from its rate, and every join or leave
// moves the others' ends. At most `limit` copies run at once (0: all); the next waiting
// copy starts when one ends. Returns each copy's end time.
type vcopy struct {
	start, bytes float64
	cap          float64
	uses         []flowUse
}

type vevent struct {
	at    float64
	i     int
	epoch int
}
type veventHeap []vevent

func (h veventHeap) Len() int            { return len(h) }
func (h veventHeap) Less(i, j int) bool  { return h[i].at < h[j].at }
func (h veventHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *veventHeap) Push(x interface{}) { *h = append(*h, x.(vevent)) }
func (h *veventHeap) Pop() interface{} {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func virtualCopies(m *fluidModel, copies []vcopy, limit int) []float64 {
	flows := make([]*copyFlow, len(copies))
	epochs := make([]int, len(copies))
	index := map[*copyFlow]int{}
	end := make([]float64, len(copies))
	var h veventHeap
	resched := func(changed []*copyFlow) {
		for _, f := range changed {
			i := index[f]
			epochs[i]++
			heap.Push(&h, vevent{at: f.last + (copies[i].bytes-f.copied)/f.rate, i: i, epoch: epochs[i]})
		}
	}
	running, next := 0, 0
	startReady := func(now float64) {
		for next < len(copies) && (limit == 0 || running < limit) && copies[next].start <= now {
			f := &copyFlow{cap: copies[next].cap, uses: copies[next].uses}
			flows[next], index[f] = f, next
			running++
			next++
			resched(m.join(f, now))
		}
	}
	startReady(0)
	for h.Len() > 0 || next < len(copies) {
		if h.Len() == 0 {
			startReady(copies[next].start)
			continue
		}
		ev := heap.Pop(&h).(vevent)
		if ev.epoch != epochs[ev.i] {
			continue
		}
		if next < len(copies) && copies[next].start < ev.at && (limit == 0 || running < limit) {
			heap.Push(&h, ev)
			startReady(copies[next].start)
			continue
		}
		end[ev.i] = ev.at
		epochs[ev.i]++
		running--
		resched(m.leave(flows[ev.i], ev.at))
		startReady(ev.at)
	}
	return end
}

func TestFluidCopiesShareAndSpeedUpWhenOthersEnd(t *testing.T) {
	// 30 and 60 GiB from one array of 200 MB/s, 150 MB/s per copy: together 100 MB/s each,
	// a ends at 30,720 / 100 = 307.2 s; b then has 30,720 MB left alone at 150: 512 s.
	a, _ := parseArraySpec("x=legacy-*:200")
	m := newFluidModel([]arraySpec{a})
	gib := float64(1 << 30)
	end := virtualCopies(m, []vcopy{{0, 30 * gib, 150 * mib, use(0, true, false)}, {0, 60 * gib, 150 * mib, use(0, true, false)}}, 0)
	if !near(end[0], 307.2) || !near(end[1], 512) {
		t.Errorf("ends %v, want 307.2 and 512", end)
	}
	u := m.use(0, 512)
	if !near(u.bytesRead, 90*gib) || u.bytesWritten != 0 || !near(u.busySeconds, 512) || !near(u.copySeconds, 2*307.2+204.8) {
		t.Errorf("array use %+v", u)
	}
	if m.arrays[0].maxCopies != 2 {
		t.Errorf("max copies %d", m.arrays[0].maxCopies)
	}
	m.resetStats(512)
	if u := m.use(0, 600); u.bytesRead != 0 || u.busySeconds != 0 {
		t.Errorf("after a reset with nothing running: %+v", u)
	}
}

func TestFluidLateJoinerAndCompressionFreeIntegration(t *testing.T) {
	// b joins a's array 100 s in: a alone copies 15,000 MB at 150, then both at 100 MB/s.
	a, _ := parseArraySpec("x=legacy-*:200")
	m := newFluidModel([]arraySpec{a})
	end := virtualCopies(m, []vcopy{{0, 30000 * mib, 150 * mib, use(0, true, false)}, {100, 30000 * mib, 150 * mib, use(0, true, false)}}, 0)
	// a: 15,000 MB left at 100 → ends at 250; b: 15,000 MB done by 250, 15,000 left at 150 → 350.
	if !near(end[0], 250) || !near(end[1], 350) {
		t.Errorf("ends %v, want 250 and 350", end)
	}
}

// makespanAt runs n equal copies through one array with at most `limit` at once.
func makespanAt(spec string, n int, gb float64, rateMBps float64, limit int) float64 {
	a, _ := parseArraySpec(spec)
	m := newFluidModel([]arraySpec{a})
	copies := make([]vcopy, n)
	for i := range copies {
		copies[i] = vcopy{0, gb * float64(1<<30), rateMBps * mib, use(0, true, false)}
	}
	end := virtualCopies(m, copies, limit)
	last := 0.0
	for _, e := range end {
		last = math.Max(last, e)
	}
	return last
}

func TestKneeGivesARealBestConcurrency(t *testing.T) {
	// B 400, knee 4, loss 0.1, 50 MB/s per copy: total min(50n, C(n)) peaks at n = 6
	// (300 MB/s; C(6) = 320), n = 7 gives 280. 24 copies of 10 GiB.
	spec := "x=legacy-*:400:knee=4:loss=0.1"
	best, bestN := math.Inf(1), 0
	spans := map[int]float64{}
	for limit := 1; limit <= 12; limit++ {
		s := makespanAt(spec, 24, 10, 50, limit)
		spans[limit] = s
		if s < best-1e-6 {
			best, bestN = s, limit
		}
	}
	if bestN != 6 {
		t.Errorf("best concurrency %d (makespans %v), want 6", bestN, spans)
	}
	// 24 × 10,240 MB at 300 MB/s = 819.2 s (4 rounds of 6 copies at 50 MB/s: 204.8 s each).
	if !near(spans[6], 819.2) {
		t.Errorf("makespan at 6: %v, want 819.2", spans[6])
	}
	// At 12 at once: C(12) = 80 MB/s shared by 12 (floor 0.2); the same bytes take 5× longer
	// than at the knee's 400.
	if !near(spans[12], 24*10240/80.0) {
		t.Errorf("makespan at 12: %v, want %v", spans[12], 24*10240/80.0)
	}
	// Without a knee more copies never hurt.
	if a, b := makespanAt("x=legacy-*:400", 24, 10, 50, 8), makespanAt("x=legacy-*:400", 24, 10, 50, 12); b > a+1e-6 {
		t.Errorf("no knee: 12 at once (%v) slower than 8 (%v)", b, a)
	}
}

// TestArrayAndSlowDatastoreOnTheServer runs the command with an array and a slow datastore
// and checks one copy at a time (so the rates do not depend on when the client's calls
// land): alone on a 40 MB/s array a copy at -rate-mbps 100 runs at 40; one writing the slow
// datastore (0.25) at 25; the task records and the array's statistics say so.
func TestArrayAndSlowDatastoreOnTheServer(t *testing.T) {
	ready := startChild(t, "-clusters", "1", "-hosts", "2", "-vms", "2", "-datastores", "legacy:1,new:2",
		"-snapshot-fraction", "0", "-consolidate-fraction", "0", "-rate-mbps", "100", "-speed", "20000",
		"-array", "old=legacy-*:40", "-slow-datastore", "new-02:0.25")
	c := loginURL(t, ready.URL)
	get := func(path string, out interface{}) {
		res, err := http.Get(ready.Control + "/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine", "Datastore"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var vms []mo.VirtualMachine
	var dss []mo.Datastore
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		t.Fatal(err)
	}
	if err := v.Retrieve(ctx, []string{"Datastore"}, []string{"name"}, &dss); err != nil {
		t.Fatal(err)
	}
	refs := map[string]types.ManagedObjectReference{}
	for _, x := range vms {
		refs[x.Name] = x.Self
	}
	for _, x := range dss {
		refs[x.Name] = x.Self
	}
	moves := []struct {
		vm, to string
		mbps   float64
	}{{"vm-c1-0001", "new-01", 40}, {"vm-c1-0002", "new-02", 25}}
	for _, mv := range moves {
		ds := refs[mv.to]
		task, err := object.NewVirtualMachine(c, refs[mv.vm]).Relocate(ctx, types.VirtualMachineRelocateSpec{Datastore: &ds}, types.VirtualMachineMovePriorityDefaultPriority)
		if err != nil {
			t.Fatalf("%s -> %s: %v", mv.vm, mv.to, err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatalf("%s -> %s: %v", mv.vm, mv.to, err)
		}
	}
	var st struct {
		Tasks []struct {
			VM          string   `json:"vm"`
			CopyBytes   *float64 `json:"copy_bytes"`
			CopySeconds *float64 `json:"copy_seconds"`
			CopyMBps    *float64 `json:"copy_mbps"`
		} `json:"tasks"`
		Arrays map[string]arrayJSON `json:"arrays"`
	}
	get("stats", &st)
	var total float64
	for _, mv := range moves {
		found := false
		for _, tk := range st.Tasks {
			if tk.VM != mv.vm || tk.CopyMBps == nil {
				continue
			}
			found = true
			total += *tk.CopyBytes
			if math.Abs(*tk.CopyMBps-mv.mbps) > 1e-6*mv.mbps || !near(*tk.CopySeconds, *tk.CopyBytes/(mv.mbps*mib)) {
				t.Errorf("%s -> %s: %.9f MB/s over %.3f s, want %v MB/s", mv.vm, mv.to, *tk.CopyMBps, *tk.CopySeconds, mv.mbps)
			}
		}
		if !found {
			t.Errorf("no copy figures for %s in %+v", mv.vm, st.Tasks)
		}
	}
	a, ok := st.Arrays["old"]
	if !ok {
		t.Fatalf("no array 'old' in %+v", st.Arrays)
	}
	if strings.Join(a.Datastores, ",") != "legacy-01" || a.BandwidthMBps != 40 || a.MaxCopies != 1 || a.Copies != 0 {
		t.Errorf("array stats %+v", a)
	}
	if math.Abs(a.BytesRead-total) > 1e-6*total || a.BytesWritten != 0 || math.Abs(a.MeanCopies-1) > 1e-9 {
		t.Errorf("array read %.0f (copies %.0f), written %.0f, mean copies %v", a.BytesRead, total, a.BytesWritten, a.MeanCopies)
	}
	var cfg configJSON
	get("config", &cfg)
	if len(cfg.Arrays) != 1 || cfg.Arrays[0] != "old=legacy-*:40" || cfg.SlowDatastores["new-02"] != 0.25 {
		t.Errorf("config shows arrays %v, slow %v", cfg.Arrays, cfg.SlowDatastores)
	}
	if _, err := parseFlags([]string{"-array", "x=legacy-*:0"}, io.Discard); err == nil {
		t.Errorf("-array with 0 MB/s accepted")
	}
}
