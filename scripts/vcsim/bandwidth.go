package main

// Shared storage bandwidth: storage arrays whose throughput the running copies share.
//
// An array (-array NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F]) owns every datastore
// whose name matches one of its globs (path.Match: *, ?, [...]). A copy — the byte-moving part
// of a relocation — reads its files' source datastores and writes their destinations; it
// loads each array it reads or writes: with weight 1 when it only reads there or only
// writes there, 2 when it does both (a move inside one array costs that array its rate
// twice). Datastores in no array are not shared: copies there run at their own cap.
//
// Capacity. With n copies touching an array (each copy counted once) the array serves
//
//	C(n) = B × max(floor, 1 − loss × max(0, n − knee))       (no knee: C(n) = B)
//
// MB/s in total, reads plus writes: beyond `knee` concurrent copies seek and cache thrash
// cost `loss` of B per extra copy, never below `floor` × B. The knee is what gives a real
// best concurrency: without it, more copies never hurt.
//
// Allocation: max-min fairness (progressive filling). Every copy has its own cap
// c = rate × (the smallest -slow-datastore factor of the datastores it touches). All copies
// start at 0 and rise together; a copy stops rising when it reaches its cap or when an
// array it loads is full (Σ weight × rate = C(n)); the others keep rising until every copy
// is stopped. The result: no array is above its capacity, no copy above its cap, and no
// copy could go faster without slowing one that is no faster than it. A copy held back by
// a slow datastore or by a busier array leaves its unused share to the others, which an
// equal split (C/n each) would waste. Rates are recomputed whenever a copy starts or ends
// (the only moments anything changes) and each copy's bytes are integrated exactly between
// those moments, so time compression changes nothing but the clock.
//
// Simplification: a relocation that copies several files is one copy at one rate, loading
// every array any of its files reads or writes for its whole length (vSphere copies a VM's
// disks one after another; with one disk, or all files from one array to one array, the
// two are the same).

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
)

// arraySpec is one -array flag: a storage array and what it can serve.
type arraySpec struct {
	Name  string
	Globs []string
	MBps  float64 // B: MB/s in total (reads plus writes) at or below the knee
	Knee  int     // copies the array serves at full B (0: no knee)
	Loss  float64 // fraction of B lost per copy beyond the knee
	Floor float64 // fraction of B the array never drops below
}

// Defaults of an array's knee parameters when a knee is given.
const (
	defaultArrayLoss  = 0.1
	defaultArrayFloor = 0.2
)

// parseArraySpec parses NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F].
func parseArraySpec(s string) (arraySpec, error) {
	bad := func(why string) (arraySpec, error) {
		return arraySpec{}, fmt.Errorf("-array %q: %s (format NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F], e.g. old-array=legacy-*:400:knee=4:loss=0.1)", s, why)
	}
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return bad("no NAME=")
	}
	a := arraySpec{Name: strings.TrimSpace(s[:eq]), Floor: defaultArrayFloor}
	parts := strings.Split(s[eq+1:], ":")
	if len(parts) < 2 {
		return bad("no :MBPS after the globs")
	}
	for _, g := range strings.Split(parts[0], "|") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			return bad(fmt.Sprintf("glob %q: %v", g, err))
		}
		a.Globs = append(a.Globs, g)
	}
	if len(a.Globs) == 0 {
		return bad("no datastore glob")
	}
	b, err := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	if err != nil || !(b > 0) || math.IsInf(b, 0) {
		return bad(fmt.Sprintf("bandwidth %q is not a positive number of MB/s", parts[1]))
	}
	a.MBps = b
	lossGiven := false
	for _, kv := range parts[2:] {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return bad(fmt.Sprintf("%q is not key=value", kv))
		}
		switch k {
		case "knee":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad(fmt.Sprintf("knee=%s is not a whole number of copies >= 1", v))
			}
			a.Knee = n
		case "loss", "floor":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				return bad(fmt.Sprintf("%s=%s is not a fraction from 0 to 1", k, v))
			}
			if k == "loss" {
				a.Loss, lossGiven = f, true
			} else {
				a.Floor = f
			}
		default:
			return bad(fmt.Sprintf("unknown key %q (knee, loss, floor)", k))
		}
	}
	if a.Knee == 0 && lossGiven {
		return bad("loss= needs knee=")
	}
	if a.Knee > 0 && !lossGiven {
		a.Loss = defaultArrayLoss
	}
	if a.Knee > 0 && a.Floor <= 0 {
		return bad("floor must be > 0 (an array always serves something)")
	}
	return a, nil
}

// String is the canonical flag value (parses back to the same spec).
func (a arraySpec) String() string {
	s := fmt.Sprintf("%s=%s:%s", a.Name, strings.Join(a.Globs, "|"), strconv.FormatFloat(a.MBps, 'g', -1, 64))
	if a.Knee > 0 {
		s += fmt.Sprintf(":knee=%d:loss=%s:floor=%s", a.Knee, strconv.FormatFloat(a.Loss, 'g', -1, 64), strconv.FormatFloat(a.Floor, 'g', -1, 64))
	}
	return s
}

// matches tells whether a datastore belongs to the array.
func (a arraySpec) matches(datastore string) bool {
	for _, g := range a.Globs {
		if ok, _ := path.Match(g, datastore); ok {
			return true
		}
	}
	return false
}

// capacityMBps is C(n): the total MB/s the array serves to n concurrent copies.
func (a arraySpec) capacityMBps(copies int) float64 {
	if a.Knee <= 0 || copies <= a.Knee {
		return a.MBps
	}
	return a.MBps * math.Max(a.Floor, 1-a.Loss*float64(copies-a.Knee))
}

// arrayList is the repeatable -array flag (one array per flag: globs are separated by |).
type arrayList []arraySpec

func (l *arrayList) String() string {
	var s []string
	for _, a := range *l {
		s = append(s, a.String())
	}
	return strings.Join(s, " ")
}

func (l *arrayList) Set(v string) error {
	a, err := parseArraySpec(v)
	if err != nil {
		return err
	}
	for _, o := range *l {
		if o.Name == a.Name {
			return fmt.Errorf("-array %q: array %s is given twice", v, a.Name)
		}
	}
	*l = append(*l, a)
	return nil
}

// slowSpec is one -slow-datastore entry: copies touching that datastore are capped at
// Factor × the rate.
type slowSpec struct {
	Name   string
	Factor float64
}

// slowList is the repeatable -slow-datastore flag (NAME:FACTOR, or a comma list of them).
type slowList []slowSpec

func (l *slowList) String() string {
	var s []string
	for _, x := range *l {
		s = append(s, x.Name+":"+strconv.FormatFloat(x.Factor, 'g', -1, 64))
	}
	return strings.Join(s, ",")
}

func (l *slowList) Set(v string) error {
	for _, part := range splitList(v) {
		i := strings.LastIndexByte(part, ':')
		if i <= 0 {
			return fmt.Errorf("-slow-datastore %q: want NAME:FACTOR, e.g. new-03:0.5", part)
		}
		f, err := strconv.ParseFloat(part[i+1:], 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("-slow-datastore %q: factor %q is not a positive number (0.5: half speed)", part, part[i+1:])
		}
		*l = append(*l, slowSpec{Name: part[:i], Factor: f})
	}
	return nil
}

// storageModel is the resolved -array and -slow-datastore configuration: which array each
// datastore is in and each datastore's rate factor.
type storageModel struct {
	arrays  []arraySpec
	arrayOf map[string]int     // datastore name -> index in arrays
	factor  map[string]float64 // datastore name -> rate factor (absent: 1)
}

// resolveStorageModel maps the arrays and slow datastores onto the inventory's datastore
// names. A datastore in two arrays, an array matching no datastore, and a slow datastore
// that does not exist are errors (a typo would otherwise silently model nothing).
func resolveStorageModel(arrays []arraySpec, slow []slowSpec, datastores []string) (*storageModel, error) {
	m := &storageModel{arrays: arrays, arrayOf: map[string]int{}, factor: map[string]float64{}}
	known := map[string]bool{}
	for _, d := range datastores {
		known[d] = true
	}
	for i, a := range arrays {
		n := 0
		for _, d := range datastores {
			if !a.matches(d) {
				continue
			}
			if j, ok := m.arrayOf[d]; ok && j != i {
				return nil, fmt.Errorf("-array: datastore %s is in array %s and in array %s", d, arrays[j].Name, a.Name)
			}
			m.arrayOf[d] = i
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("-array %s: %s matches no datastore", a.Name, strings.Join(a.Globs, "|"))
		}
	}
	for _, s := range slow {
		if !known[s.Name] {
			return nil, fmt.Errorf("-slow-datastore: no datastore %s", s.Name)
		}
		m.factor[s.Name] = s.Factor
	}
	return m, nil
}

// copyShape is what the model needs of one copy: its cap and the arrays it loads.
// reads and writes are datastore names.
func (m *storageModel) copyShape(rateBytes float64, reads, writes []string) (float64, []flowUse) {
	factor := 1.0
	byArray := map[int]*flowUse{}
	var order []int
	touch := func(d string, read bool) {
		if f, ok := m.factor[d]; ok && f < factor {
			factor = f
		}
		i, ok := m.arrayOf[d]
		if !ok {
			return
		}
		u := byArray[i]
		if u == nil {
			u = &flowUse{array: i}
			byArray[i] = u
			order = append(order, i)
		}
		if read {
			u.read = true
		} else {
			u.write = true
		}
	}
	for _, d := range reads {
		touch(d, true)
	}
	for _, d := range writes {
		touch(d, false)
	}
	sort.Ints(order)
	uses := make([]flowUse, 0, len(order))
	for _, i := range order {
		uses = append(uses, *byArray[i])
	}
	return rateBytes * factor, uses
}

// flowUse is one array a copy loads: whether it reads there, writes there, or both.
type flowUse struct {
	array       int
	read, write bool
}

// weight is how many times the copy's rate counts against the array (1 or 2).
func (u flowUse) weight() float64 {
	w := 0.0
	if u.read {
		w++
	}
	if u.write {
		w++
	}
	return w
}

// maxMinShare is the max-min fair (progressive filling) allocation: rates[i] <= caps[i],
// Σ over the copies of uses[i][k].weight() × rates[i] <= capacity[array] for every array,
// and no copy can go faster without slowing one that is no faster. Copies that load no
// array get their cap. Capacities and caps in any unit (bytes/s here).
func maxMinShare(caps []float64, uses [][]flowUse, capacity []float64) []float64 {
	n := len(caps)
	rates := make([]float64, n)
	frozen := make([]bool, n)
	remaining := append([]float64(nil), capacity...)
	weight := make([]float64, len(capacity)) // Σ weights of the unfrozen copies on each array
	members := make([][]int, len(capacity))
	var order []int // unfrozen copies that load an array, by cap
	for i := range caps {
		if len(uses[i]) == 0 {
			rates[i], frozen[i] = caps[i], true
			continue
		}
		order = append(order, i)
		for _, u := range uses[i] {
			weight[u.array] += u.weight()
			members[u.array] = append(members[u.array], i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return caps[order[a]] < caps[order[b]] })
	freeze := func(i int, rate float64) {
		frozen[i], rates[i] = true, rate
		for _, u := range uses[i] {
			weight[u.array] -= u.weight()
		}
	}
	level, next, left := 0.0, 0, len(order)
	for left > 0 {
		for next < len(order) && frozen[order[next]] {
			next++
		}
		// How far every unfrozen copy can rise together: to the smallest cap, or until an
		// array is full.
		inc := math.Inf(1)
		if next < len(order) {
			inc = caps[order[next]] - level
		}
		for a := range remaining {
			if weight[a] > 1e-12 {
				inc = math.Min(inc, remaining[a]/weight[a])
			}
		}
		if inc < 0 {
			inc = 0
		}
		level += inc
		for a := range remaining {
			if weight[a] > 1e-12 {
				remaining[a] -= inc * weight[a]
			}
		}
		// Freeze the copies at their cap, then those on a full array.
		for next < len(order) && (frozen[order[next]] || caps[order[next]] <= level*(1+1e-12)) {
			if i := order[next]; !frozen[i] {
				freeze(i, caps[i])
				left--
			}
			next++
		}
		for a := range remaining {
			if weight[a] > 1e-12 && remaining[a] <= 1e-9*capacity[a] {
				for _, i := range members[a] {
					if !frozen[i] {
						freeze(i, level)
						left--
					}
				}
			}
		}
	}
	return rates
}

// ---- the fluid model ---------------------------------------------------------------------

// copyFlow is one running copy: its cap, the arrays it loads, its current rate and the
// bytes it had copied at `last` (it copies at `rate` from then on).
type copyFlow struct {
	task   *mmTask // nil in unit tests
	cap    float64 // bytes/s alone
	uses   []flowUse
	rate   float64 // bytes/s now
	copied float64 // bytes at last
	last   float64 // simulated seconds
}

// at is the bytes the flow will have copied at simulated time t (>= last).
func (f *copyFlow) at(t float64) float64 { return f.copied + f.rate*(t-f.last) }

// arrayState is an array's running copies and its statistics.
type arrayState struct {
	spec         arraySpec
	flows        []*copyFlow
	bytesRead    float64
	bytesWritten float64
	copySeconds  float64 // ∫ copies dt
	busySeconds  float64 // time with at least one copy
	maxCopies    int
	last         float64
	base         arrayUse // the counters at the last reset
}

// fluidModel holds the copies that share arrays. join/leave settle every copy's bytes up to
// the moment, recompute the max-min rates and return the copies whose rate changed (their
// completion times move).
type fluidModel struct {
	arrays []*arrayState
	flows  []*copyFlow // copies loading at least one array
	now    float64     // last settled time (never goes back)
}

func newFluidModel(specs []arraySpec) *fluidModel {
	m := &fluidModel{}
	for _, s := range specs {
		m.arrays = append(m.arrays, &arrayState{spec: s})
	}
	return m
}

// settle counts every copy's bytes and the arrays' integrals up to t.
func (m *fluidModel) settle(t float64) {
	if t < m.now {
		t = m.now
	}
	m.now = t
	for _, a := range m.arrays {
		if dt := t - a.last; dt > 0 {
			a.copySeconds += float64(len(a.flows)) * dt
			if len(a.flows) > 0 {
				a.busySeconds += dt
			}
		}
		a.last = t
	}
	for _, f := range m.flows {
		if dt := t - f.last; dt > 0 {
			d := f.rate * dt
			f.copied += d
			for _, u := range f.uses {
				if u.read {
					m.arrays[u.array].bytesRead += d
				}
				if u.write {
					m.arrays[u.array].bytesWritten += d
				}
			}
		}
		f.last = t
	}
}

// join adds a copy starting at t. It returns the copies whose rate changed, f included.
func (m *fluidModel) join(f *copyFlow, t float64) []*copyFlow {
	m.settle(t)
	f.last, f.rate = m.now, 0
	if len(f.uses) == 0 {
		f.rate = f.cap
		return []*copyFlow{f}
	}
	m.flows = append(m.flows, f)
	for _, u := range f.uses {
		a := m.arrays[u.array]
		a.flows = append(a.flows, f)
		if len(a.flows) > a.maxCopies {
			a.maxCopies = len(a.flows)
		}
	}
	return m.rebalance(f)
}

// leave removes a copy at t (done, failed or cancelled): its bytes are settled first.
func (m *fluidModel) leave(f *copyFlow, t float64) []*copyFlow {
	m.settle(t)
	if len(f.uses) == 0 {
		return nil
	}
	m.flows = removeFlow(m.flows, f)
	for _, u := range f.uses {
		a := m.arrays[u.array]
		a.flows = removeFlow(a.flows, f)
	}
	return m.rebalance(nil)
}

func removeFlow(list []*copyFlow, f *copyFlow) []*copyFlow {
	for i, g := range list {
		if g == f {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// rebalance gives every sharing copy its max-min rate (all settled to m.now).
func (m *fluidModel) rebalance(fresh *copyFlow) []*copyFlow {
	caps := make([]float64, len(m.flows))
	uses := make([][]flowUse, len(m.flows))
	for i, f := range m.flows {
		caps[i], uses[i] = f.cap, f.uses
	}
	capacity := make([]float64, len(m.arrays))
	for i, a := range m.arrays {
		capacity[i] = a.spec.capacityMBps(len(a.flows)) * mib
	}
	rates := maxMinShare(caps, uses, capacity)
	var changed []*copyFlow
	for i, f := range m.flows {
		if rates[i] != f.rate || f == fresh {
			f.rate = rates[i]
			changed = append(changed, f)
		}
	}
	return changed
}

// throughput is the array's current total load (reads plus writes), bytes/s.
func (m *fluidModel) throughput(a int) float64 {
	var s float64
	for _, f := range m.arrays[a].flows {
		for _, u := range f.uses {
			if u.array == a {
				s += u.weight() * f.rate
			}
		}
	}
	return s
}

// arrayUse is an array's counters at some moment.
type arrayUse struct {
	bytesRead, bytesWritten, copySeconds, busySeconds float64
}

// use is array a's counters at t >= m.now, since the last reset, without settling anything
// (reading statistics must not move the integration points: an event due before t may not
// have been processed yet).
func (m *fluidModel) use(a int, t float64) arrayUse {
	s := m.arrays[a]
	u := arrayUse{s.bytesRead, s.bytesWritten, s.copySeconds, s.busySeconds}
	if dt := t - s.last; dt > 0 {
		u.copySeconds += float64(len(s.flows)) * dt
		if len(s.flows) > 0 {
			u.busySeconds += dt
		}
	}
	for _, f := range s.flows {
		dt := t - f.last
		if dt <= 0 {
			continue
		}
		for _, x := range f.uses {
			if x.array == a && x.read {
				u.bytesRead += f.rate * dt
			}
			if x.array == a && x.write {
				u.bytesWritten += f.rate * dt
			}
		}
	}
	b := s.base
	return arrayUse{u.bytesRead - b.bytesRead, u.bytesWritten - b.bytesWritten, u.copySeconds - b.copySeconds, u.busySeconds - b.busySeconds}
}

// resetStats zeroes the arrays' counters as of t (running copies stay).
func (m *fluidModel) resetStats(t float64) {
	for i, a := range m.arrays {
		a.base = arrayUse{}
		a.base = m.use(i, t)
		a.maxCopies = len(a.flows)
	}
}
