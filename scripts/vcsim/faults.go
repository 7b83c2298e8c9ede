package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// faultRule is one injected failure or delay. Target "task": matching tasks (by method and
// VM name) end in error with Fault and/or take DelaySeconds (simulated) longer. Target
// "soap": matching SOAP calls are held DelaySeconds (real) and/or answered with a SOAP fault.
type faultRule struct {
	ID           int     `json:"id"`
	Target       string  `json:"target"`
	Method       string  `json:"method,omitempty"` // one name or a comma-separated list; empty = any
	VM           string  `json:"vm,omitempty"`
	Fault        string  `json:"fault,omitempty"`
	Message      string  `json:"message,omitempty"`
	Count        int     `json:"count"` // remaining applications; -1 = until cleared
	Every        int     `json:"every,omitempty"`
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	// SOAP rules: "before" closes the connection without handling the call; "after"
	// handles it (a task method creates its task) and then closes the connection
	// without answering — the client cannot tell whether the call reached vCenter.
	Drop string `json:"drop,omitempty"`
	Hits int    `json:"hits"`

	seen int
}

// faultInjector holds the active rules. It is safe for concurrent use.
type faultInjector struct {
	mu     sync.Mutex
	rules  []*faultRule
	nextID int
}

type soapAction struct {
	delay   time.Duration
	fault   types.BaseMethodFault
	message string
	drop    string
}

func newFaultInjector(cfg Config) *faultInjector {
	f := &faultInjector{}
	if cfg.FailEvery > 0 {
		_, _ = f.add(faultRule{Target: "task", Method: cfg.FailMethods, Fault: cfg.FailFault, Count: -1, Every: cfg.FailEvery})
	}
	return f
}

// add validates and stores a rule, returning it with its id.
func (f *faultInjector) add(r faultRule) (faultRule, error) {
	switch r.Target {
	case "task", "soap":
	default:
		return r, fmt.Errorf(`target must be "task" or "soap", not %q`, r.Target)
	}
	if r.Fault != "" {
		if _, err := newFault(r.Fault); err != nil {
			return r, err
		}
	}
	switch r.Drop {
	case "", "before", "after":
	default:
		return r, fmt.Errorf(`drop must be "before" (close without handling the call) or "after" (handle it, then close without answering), not %q`, r.Drop)
	}
	if r.Drop != "" && r.Target != "soap" {
		return r, fmt.Errorf("drop applies to soap rules only")
	}
	if r.Drop != "" && r.Fault != "" {
		return r, fmt.Errorf("a rule that drops the connection sends no fault; give drop or fault, not both")
	}
	if r.Fault == "" && r.DelaySeconds <= 0 && r.Drop == "" {
		return r, fmt.Errorf("a rule needs a fault, a positive delay_seconds, a drop, or a fault with a delay")
	}
	if r.Target == "soap" && r.Method == "" {
		return r, fmt.Errorf("a soap rule needs a method (a SOAP method name such as RetrievePropertiesEx)")
	}
	if r.Count == 0 {
		r.Count = 1
	}
	if r.Every < 0 {
		return r, fmt.Errorf("every must be >= 0")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	r.ID = f.nextID
	rc := r
	f.rules = append(f.rules, &rc)
	return r, nil
}

func (f *faultInjector) clear() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

func (f *faultInjector) list() []faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]faultRule, 0, len(f.rules))
	for _, r := range f.rules {
		out = append(out, *r)
	}
	return out
}

func methodMatches(list, method string) bool {
	if list == "" {
		return true
	}
	for _, m := range strings.Split(list, ",") {
		if strings.TrimSpace(m) == method {
			return true
		}
	}
	return false
}

// takeLocked consumes one application of r and drops it when used up.
func (f *faultInjector) takeLocked(i int) {
	r := f.rules[i]
	r.Hits++
	if r.Count > 0 {
		r.Count--
		if r.Count == 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
	}
}

// taskFate decides, when a task is created, whether it will fail and how much longer it takes.
func (f *faultInjector) taskFate(method, vm string) (fault string, message string, extraDelay float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < len(f.rules); i++ {
		r := f.rules[i]
		if r.Target != "task" || !methodMatches(r.Method, method) || (r.VM != "" && r.VM != vm) {
			continue
		}
		if r.Every > 0 {
			r.seen++
			if r.seen%r.Every != 0 {
				continue
			}
		}
		if fault == "" && r.Fault != "" {
			fault, message = r.Fault, r.Message
		}
		extraDelay += r.DelaySeconds
		n := len(f.rules)
		f.takeLocked(i)
		if len(f.rules) < n {
			i--
		}
	}
	return fault, message, extraDelay
}

// soapCall returns what to do with a SOAP call of this method (nil: nothing).
func (f *faultInjector) soapCall(method string) *soapAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Target != "soap" || !methodMatches(r.Method, method) {
			continue
		}
		// "every": only each Nth matching call (the rule's other calls pass untouched).
		if r.Every > 0 {
			r.seen++
			if r.seen%r.Every != 0 {
				continue
			}
		}
		a := &soapAction{delay: time.Duration(r.DelaySeconds * float64(time.Second)), drop: r.Drop}
		if r.Fault != "" {
			a.fault = makeFault(r.Fault, "")
			a.message = r.Message
			if a.message == "" {
				a.message = fmt.Sprintf("%s (injected by the test vCenter into %s)", r.Fault, method)
			}
		}
		f.takeLocked(i)
		return a
	}
	return nil
}

// makeFault builds a fault by type name with the fields a client expects filled in.
func makeFault(name, file string) types.BaseMethodFault {
	fault, err := newFault(name)
	if err != nil {
		return &types.SystemError{Reason: fmt.Sprintf("unknown injected fault %q", name)}
	}
	root := types.ManagedObjectReference{Type: "Folder", Value: "group-d1"}
	switch x := fault.(type) {
	case *types.NotAuthenticated:
		x.Object, x.PrivilegeId = root, "System.View"
	case *types.NoPermission:
		x.Object, x.PrivilegeId = root, "System.View"
	case *types.FileLocked:
		x.File = file
	case *types.FileNotFound:
		x.File = file
	case *types.FileFault:
		x.File = file
	}
	return fault
}
