package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
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
}

func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_mm/stats", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodGet) {
			return
		}
		calls, total, since := s.stats.snapshot()
		withTasks := r.URL.Query().Get("tasks") != "0"
		writeJSON(w, 200, statsJSON{Since: since, SOAPCalls: calls, SOAPCallsTotal: total, engineStats: s.eng.stats(withTasks)})
	})
	mux.HandleFunc("/_mm/reset-stats", func(w http.ResponseWriter, r *http.Request) {
		if !onlyMethods(w, r, http.MethodPost) {
			return
		}
		s.stats.reset()
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
	for _, chk := range []error{pos("speed", c.Speed), pos("rate_mbps", c.RateMBps), pos("vmotion_rate_mbps", c.VMotionRateMBps)} {
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
	e.mu.Unlock()
	e.poke()
	return nil
}

func (e *engine) currentConfig() configJSON {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := *e.cfg
	return configJSON{Speed: &c.Speed, RateMBps: &c.RateMBps, VMotionRateMBps: &c.VMotionRateMBps, ProgressSteps: &c.ProgressSteps,
		MinTaskSeconds: &c.MinTaskSeconds, HostMaxCost: &c.HostMaxCost, DatastoreMaxCost: &c.DatastoreMaxCost, NetworkMaxVMotions: &c.NetworkMaxVMotions}
}
