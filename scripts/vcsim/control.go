package main

import (
	"encoding/json"
	"net/http"
)

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_mm/stats", func(w http.ResponseWriter, r *http.Request) {
		calls, total, since := s.stats.snapshot()
		writeJSON(w, 200, map[string]interface{}{"soap_calls": calls, "soap_calls_total": total, "since": since})
	})
	mux.HandleFunc("/_mm/reset-stats", func(w http.ResponseWriter, r *http.Request) {
		s.stats.reset()
		writeJSON(w, 200, map[string]interface{}{"ok": true})
	})
	mux.HandleFunc("/_mm/terminate-sessions", func(w http.ResponseWriter, r *http.Request) {
		n := s.terminateSessions()
		writeJSON(w, 200, map[string]interface{}{"ok": true, "terminated": n})
	})
	return mux
}
