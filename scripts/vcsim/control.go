package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

func jsonError(w http.ResponseWriter, code int, format string, args ...interface{}) {
	writeJSON(w, code, map[string]interface{}{"error": fmt.Sprintf(format, args...)})
}

func onlyMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	jsonError(w, http.StatusMethodNotAllowed, "%s %s: use %v", r.Method, r.URL.Path, methods)
	return false
}

// statsJSON is GET /_mm/stats.
type statsJSON struct {
	Since          time.Time             `json:"since"`
	SOAPCalls      map[string]methodStat `json:"soap_calls"`
	SOAPCallsTotal int64                 `json:"soap_calls_total"`
	// Automation REST API calls by kind ("GET tagging/tag/{id}"), counted apart from SOAP's
	RESTCalls      map[string]methodStat `json:"rest_calls"`
	RESTCallsTotal int64                 `json:"rest_calls_total"`
	engineStats
}

// configJSON is the runtime-changeable part of the configuration (POST /_mm/config).
type configJSON struct {
	Speed              *float64 `json:"speed,omitempty"`
	RateMBps           *float64 `json:"rate_mbps,omitempty"`
	VMotionRateMBps    *float64 `json:"vmotion_rate_mbps,omitempty"`
	ProgressSteps      *int     `json:"progress_steps,omitempty"`
	MinTaskSeconds     *float64 `json:"min_task_seconds,omitempty"`
	HostMaxCost        *int     `json:"host_max_cost,omitempty"`
	DatastoreMaxCost   *int     `json:"datastore_max_cost,omitempty"`
	NetworkMaxVMotions *int     `json:"network_max_vmotions,omitempty"`
	SDRSTTLSeconds     *float64 `json:"sdrs_ttl_seconds,omitempty"`
	// Read-only: the shared-bandwidth model is fixed at start (-array, -slow-datastore)
	Arrays         []string           `json:"arrays,omitempty"`
	SlowDatastores map[string]float64 `json:"slow_datastores,omitempty"`
}

func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_mm/stats", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodGet) {
			return
		}
		calls, total, since := s.stats.snapshot()
		withTasks := r.URL.Query().Get("tasks") != "0"
		withFiles := r.URL.Query().Get("files") != "0"
		rest, restTotal, _ := s.rest.snapshot()
		writeJSON(w, 200, statsJSON{Since: since, SOAPCalls: calls, SOAPCallsTotal: total, RESTCalls: rest, RESTCallsTotal: restTotal,
			engineStats: s.eng.statsWith(withTasks, withFiles)})
	})
	mux.HandleFunc("/_mm/reset-stats", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodPost) {
			return
		}
		s.stats.reset()
		s.rest.reset()
		s.eng.resetStats()
		writeJSON(w, 200, map[string]interface{}{"ok": true})
	})
	mux.HandleFunc("/_mm/terminate-sessions", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodPost) {
			return
		}
		n := s.terminateSessions()
		s.logf("terminated %d sessions", n)
		writeJSON(w, 200, map[string]interface{}{"ok": true, "terminated": n})
	})
	mux.HandleFunc("/_mm/session-keys", func(w http.ResponseWriter, r *http.Request) {
		// Every vim25 session key (the session cookie's value) and Automation API session id
		// handed out so far, live or not: a test searches a client's output for them.
		if !onlyMethods(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, 200, map[string]interface{}{"keys": s.sessions.issuedKeys()})
	})
	mux.HandleFunc("/_mm/faults", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, map[string]interface{}{"rules": s.faults.list()})
		case http.MethodDelete:
			s.faults.clear()
			writeJSON(w, 200, map[string]interface{}{"ok": true})
		case http.MethodPost:
			var rule faultRule
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err := json.Unmarshal(body, &rule); err != nil {
				jsonError(w, 400, "faults: body must be a JSON rule: %v", err)
				return
			}
			if rule.Target == "" && rule.VM != "" {
				rule.Target = "task"
			}
			added, err := s.faults.add(rule)
			if err != nil {
				jsonError(w, 400, "faults: %v", err)
				return
			}
			s.logf("fault rule %d: %+v", added.ID, added)
			writeJSON(w, 200, added)
		default:
			onlyMethods(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
		}
	})
	mux.HandleFunc("/_mm/vms", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, 200, s.filesReport(r.URL.Query()["vm"]))
	})
	mux.HandleFunc("/_mm/host-state", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodPost) {
			return
		}
		var req hostStateJSON
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(body, &req); err != nil {
			jsonError(w, 400, "host-state: body must be JSON: %v", err)
			return
		}
		if err := s.setHostState(req); err != nil {
			jsonError(w, 400, "host-state: %v", err)
			return
		}
		writeJSON(w, 200, map[string]interface{}{"ok": true})
	})
	mux.HandleFunc("/_mm/config", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			var c configJSON
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err := json.Unmarshal(body, &c); err != nil {
				jsonError(w, 400, "config: body must be JSON: %v", err)
				return
			}
			if err := s.eng.setConfig(c); err != nil {
				jsonError(w, 400, "config: %v", err)
				return
			}
		} else if !onlyMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		writeJSON(w, 200, s.eng.currentConfig())
	})
	return mux
}

// setConfig changes the time model and limits at runtime. Rates apply to tasks created
// afterwards; speed and limits apply at once.
func (e *engine) setConfig(c configJSON) error {
	pos := func(name string, v *float64) error {
		if v != nil && *v <= 0 {
			return fmt.Errorf("%s must be > 0", name)
		}
		return nil
	}
	if c.Arrays != nil || c.SlowDatastores != nil {
		return fmt.Errorf("arrays and slow_datastores are set at start (-array, -slow-datastore), not at run time")
	}
	for _, chk := range []error{pos("speed", c.Speed), pos("rate_mbps", c.RateMBps), pos("vmotion_rate_mbps", c.VMotionRateMBps), pos("sdrs_ttl_seconds", c.SDRSTTLSeconds)} {
		if chk != nil {
			return chk
		}
	}
	for name, v := range map[string]*int{"host_max_cost": c.HostMaxCost, "datastore_max_cost": c.DatastoreMaxCost, "network_max_vmotions": c.NetworkMaxVMotions} {
		if v != nil && *v < 1 {
			return fmt.Errorf("%s must be >= 1", name)
		}
	}
	if c.ProgressSteps != nil && *c.ProgressSteps < 0 {
		return fmt.Errorf("progress_steps must be >= 0")
	}
	e.mu.Lock()
	if c.Speed != nil {
		e.cfg.Speed = *c.Speed
		e.clock.setSpeed(*c.Speed)
	}
	if c.RateMBps != nil {
		e.cfg.RateMBps = *c.RateMBps
	}
	if c.VMotionRateMBps != nil {
		e.cfg.VMotionRateMBps = *c.VMotionRateMBps
	}
	if c.ProgressSteps != nil {
		e.cfg.ProgressSteps = *c.ProgressSteps
	}
	if c.MinTaskSeconds != nil {
		e.cfg.MinTaskSeconds = *c.MinTaskSeconds
	}
	if c.HostMaxCost != nil {
		e.cfg.HostMaxCost = *c.HostMaxCost
	}
	if c.DatastoreMaxCost != nil {
		e.cfg.DatastoreMaxCost = *c.DatastoreMaxCost
	}
	if c.NetworkMaxVMotions != nil {
		e.cfg.NetworkMaxVMotions = *c.NetworkMaxVMotions
	}
	if c.SDRSTTLSeconds != nil {
		e.cfg.SDRSTTLSeconds = *c.SDRSTTLSeconds
		e.recsTTL = time.Duration(*c.SDRSTTLSeconds * float64(time.Second))
	}
	e.mu.Unlock()
	e.poke()
	return nil
}

func (e *engine) currentConfig() configJSON {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := *e.cfg
	var arrays []string
	for _, a := range c.Arrays {
		arrays = append(arrays, a.String())
	}
	var slow map[string]float64
	if len(c.SlowDatastores) > 0 {
		slow = map[string]float64{}
		for _, x := range c.SlowDatastores {
			slow[x.Name] = x.Factor
		}
	}
	return configJSON{Speed: &c.Speed, RateMBps: &c.RateMBps, VMotionRateMBps: &c.VMotionRateMBps, ProgressSteps: &c.ProgressSteps,
		MinTaskSeconds: &c.MinTaskSeconds, HostMaxCost: &c.HostMaxCost, DatastoreMaxCost: &c.DatastoreMaxCost, NetworkMaxVMotions: &c.NetworkMaxVMotions,
		SDRSTTLSeconds: &c.SDRSTTLSeconds, Arrays: arrays, SlowDatastores: slow}
}

// ---- GET /_mm/vms: every VM's files now ------------------------------------------------

type homeJSON struct {
	Datastore string `json:"datastore"`
	Path      string `json:"path"` // config.files.vmPathName
	Bytes     int64  `json:"bytes"`
}

type diskJSON struct {
	Key       int32  `json:"key"`
	Label     string `json:"label"`
	File      string `json:"file"`
	Datastore string `json:"datastore"`
	Format    string `json:"format"` // thin, thick, eager, rdm_physical, rdm_virtual
	Backing   string `json:"backing"`
	Capacity  int64  `json:"capacity_bytes"`
	Bytes     int64  `json:"bytes"` // what its files occupy
	Sharing   string `json:"sharing"`
	Mode      string `json:"mode"`
}

type mediaJSON struct {
	Key       int32  `json:"key"`
	Label     string `json:"label"`
	File      string `json:"file"`
	Datastore string `json:"datastore,omitempty"`
}

type vmReportJSON struct {
	Host            string      `json:"host"`
	PowerState      string      `json:"power_state"`
	ConnectionState string      `json:"connection_state"`
	Template        bool        `json:"template"`
	FaultTolerance  bool        `json:"fault_tolerance"`
	Home            homeJSON    `json:"home"`
	Disks           []diskJSON  `json:"disks"`
	Media           []mediaJSON `json:"media"`
	Datastores      []string    `json:"datastores"`
	Committed       int64       `json:"committed_bytes"`
}

type dsReportJSON struct {
	Capacity int64  `json:"capacity_bytes"`
	Free     int64  `json:"free_bytes"`
	Used     int64  `json:"used_bytes"` // bytes of VM files on it
	VMs      int    `json:"vms"`        // its vm list
	Pod      string `json:"datastore_cluster,omitempty"`
}

type podReportJSON struct {
	Datastores []string `json:"datastores"`
	SDRS       bool     `json:"sdrs_enabled"`
	Capacity   int64    `json:"capacity_bytes"`
	Free       int64    `json:"free_bytes"`
}

type filesReportJSON struct {
	VMs        map[string]vmReportJSON  `json:"vms"`
	Datastores map[string]dsReportJSON  `json:"datastores"`
	Pods       map[string]podReportJSON `json:"datastore_clusters"`
}

// filesReport lists each VM's files (all VMs, or those named) and every datastore's and
// datastore cluster's space as clients see it.
func (s *Server) filesReport(only []string) filesReportJSON {
	w := s.world
	out := filesReportJSON{VMs: map[string]vmReportJSON{}, Datastores: map[string]dsReportJSON{}, Pods: map[string]podReportJSON{}}
	used := map[ref]int64{}
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	for _, vm := range w.vmByRef {
		var rep vmReportJSON
		keep := len(want) == 0 || want[vm.Name]
		simulator.Map.WithLock(vm, func() {
			f := vm.files
			for d, n := range f.bytesOn() {
				used[d] += n
			}
			if !keep {
				return
			}
			rep = vmReportJSON{
				Host: w.hostName[*vm.Runtime.Host], PowerState: string(vm.Runtime.PowerState), ConnectionState: string(vm.Runtime.ConnectionState),
				Template: vm.Config.Template, FaultTolerance: vm.Config.FtInfo != nil,
				Home:      homeJSON{Datastore: w.dsName[f.home], Path: vm.Config.Files.VmPathName, Bytes: f.homeBytes()},
				Committed: f.committed(), Disks: []diskJSON{}, Media: []mediaJSON{},
			}
			for _, d := range f.disks {
				rep.Disks = append(rep.Disks, diskJSON{Key: d.key, Label: d.label, File: dsPath(w.dsName, d.ds, d.path), Datastore: w.dsName[d.ds],
					Format: d.format(), Backing: string(d.backing), Capacity: d.capacity, Bytes: d.used, Sharing: d.sharing, Mode: d.mode})
			}
			for _, m := range f.media {
				rep.Media = append(rep.Media, mediaJSON{Key: m.key, Label: m.label, File: m.file, Datastore: w.dsName[m.ds]})
			}
			for _, d := range vm.Datastore {
				rep.Datastores = append(rep.Datastores, w.dsName[d])
			}
		})
		if keep {
			out.VMs[vm.Name] = rep
		}
	}
	for d, name := range w.dsName {
		ds, ok := simulator.Map.Get(d).(*simulator.Datastore)
		if !ok {
			continue
		}
		var rep dsReportJSON
		simulator.Map.WithLock(ds, func() {
			rep = dsReportJSON{Capacity: ds.Summary.Capacity, Free: ds.Summary.FreeSpace, Used: used[d], VMs: len(ds.Vm)}
		})
		if p, ok := w.dsPod[d]; ok {
			rep.Pod = w.podName[p]
		}
		out.Datastores[name] = rep
	}
	for p, name := range w.podName {
		pod, ok := simulator.Map.Get(p).(*simulator.StoragePod)
		if !ok {
			continue
		}
		rep := podReportJSON{Datastores: []string{}}
		for _, m := range w.podMembers[p] {
			rep.Datastores = append(rep.Datastores, w.dsName[m])
		}
		simulator.Map.WithLock(pod, func() {
			if pod.Summary != nil {
				rep.Capacity, rep.Free = pod.Summary.Capacity, pod.Summary.FreeSpace
			}
			rep.SDRS = pod.PodStorageDrsEntry != nil && pod.PodStorageDrsEntry.StorageDrsConfig.PodConfig.Enabled
		})
		out.Pods[name] = rep
	}
	return out
}

// ---- POST /_mm/host-state ------------------------------------------------------------

type hostStateJSON struct {
	Host              string  `json:"host"`
	ConnectionState   *string `json:"connection_state,omitempty"`
	InMaintenanceMode *bool   `json:"in_maintenance_mode,omitempty"`
}

// setHostState changes a host's runtime.connectionState and runtime.inMaintenanceMode (no
// SOAP method of vcsim 0.24 disconnects a host).
func (s *Server) setHostState(req hostStateJSON) error {
	h, ok := s.world.hostByName[req.Host]
	if !ok {
		return fmt.Errorf("unknown host %q", req.Host)
	}
	var changes []types.PropertyChange
	if req.ConnectionState != nil {
		switch st := types.HostSystemConnectionState(*req.ConnectionState); st {
		case types.HostSystemConnectionStateConnected, types.HostSystemConnectionStateDisconnected, types.HostSystemConnectionStateNotResponding:
			changes = append(changes, types.PropertyChange{Name: "runtime.connectionState", Val: st})
		default:
			return fmt.Errorf("connection_state must be connected, disconnected or notResponding, not %q", *req.ConnectionState)
		}
	}
	if req.InMaintenanceMode != nil {
		changes = append(changes, types.PropertyChange{Name: "runtime.inMaintenanceMode", Val: *req.InMaintenanceMode})
	}
	hs := simulator.Map.Get(h).(*simulator.HostSystem)
	simulator.Map.WithLock(hs, func() {
		if req.ConnectionState != nil {
			hs.Runtime.ConnectionState = types.HostSystemConnectionState(*req.ConnectionState)
		}
		if req.InMaintenanceMode != nil {
			hs.Runtime.InMaintenanceMode = *req.InMaintenanceMode
		}
		if len(changes) > 0 {
			simulator.Map.Update(hs, changes)
		}
	})
	return nil
}
