package main

import (
	"sort"
	"sync"
	"time"
)

// soapStats counts SOAP calls per method and the server's cumulative time per method.
type soapStats struct {
	mu    sync.Mutex
	calls map[string]*methodStat
	since time.Time
}

type methodStat struct {
	Calls   int64   `json:"calls"`
	Seconds float64 `json:"seconds"`
	MaxSec  float64 `json:"max_seconds"`
}

func newSOAPStats() *soapStats { return &soapStats{calls: map[string]*methodStat{}, since: time.Now()} }

func (s *soapStats) record(method string, d time.Duration) {
	s.mu.Lock()
	m := s.calls[method]
	if m == nil {
		m = &methodStat{}
		s.calls[method] = m
	}
	m.Calls++
	sec := d.Seconds()
	m.Seconds += sec
	if sec > m.MaxSec {
		m.MaxSec = sec
	}
	s.mu.Unlock()
}

func (s *soapStats) reset() {
	s.mu.Lock()
	s.calls = map[string]*methodStat{}
	s.since = time.Now()
	s.mu.Unlock()
}

// snapshot returns a copy of the counters and the total number of calls.
func (s *soapStats) snapshot() (map[string]methodStat, int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]methodStat, len(s.calls))
	var total int64
	names := make([]string, 0, len(s.calls))
	for k := range s.calls {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out[k] = *s.calls[k]
		total += s.calls[k].Calls
	}
	return out, total, s.since
}
