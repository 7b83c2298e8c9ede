package main

import "net/http"

// engine runs the asynchronous tasks (first version: none yet).
type engine struct{}

func newEngine(cfg *Config, w *world, f *faultInjector, logf func(string, ...interface{})) *engine {
	return &engine{}
}

func (e *engine) cancelTask(this string, w http.ResponseWriter) bool { return false }
func (e *engine) stop()                                              {}
