package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Server is a running test vCenter: the simulator model, the task engine, the HTTP(S)
// listener that serves /sdk (SOAP) and /_mm (control).
type Server struct {
	cfg      Config
	logf     func(string, ...interface{})
	model    *simulator.Model
	world    *world
	eng      *engine
	stats    *soapStats
	rest     *soapStats // Automation REST API calls, by kind (restCallName)
	faults   *faultInjector
	sessions *sessionTracker

	inner    *http.ServeMux // the simulator's handlers
	listener net.Listener
	httpSrv  *http.Server

	URL        string
	ControlURL string
	Thumb1     string
	Thumb256   string
	StartupSec float64
}

// Ready is the JSON line printed on stdout once the server accepts connections.
type Ready struct {
	URL              string  `json:"url"`
	Username         string  `json:"username"`
	Password         string  `json:"password"`
	ThumbprintSHA1   string  `json:"thumbprint_sha1"`
	ThumbprintSHA256 string  `json:"thumbprint_sha256"`
	Control          string  `json:"control"`
	PID              int     `json:"pid"`
	StartupSeconds   float64 `json:"startup_seconds"`
	VMs              int     `json:"vms"`
	InstanceUUID     string  `json:"instance_uuid"`
}

// startServer builds the inventory and starts serving. Only one Server may run per
// process: govmomi's simulator keeps its objects in a global registry.
func startServer(cfg Config, logf func(string, ...interface{})) (*Server, error) {
	t0 := time.Now()
	var p *plan
	var err error
	if cfg.Inventory != "" {
		p, err = loadInventoryPlan(cfg.Inventory)
	} else {
		p, err = generatePlan(&cfg, time.Now())
	}
	if err != nil {
		return nil, err
	}
	return startServerWithPlan(cfg, p, t0, logf)
}

// startServerWithPlan builds the given topology and starts serving (t0: when startup began).
func startServerWithPlan(cfg Config, p *plan, t0 time.Time, logf func(string, ...interface{})) (*Server, error) {
	var names []string
	for _, dc := range p.Datacenters {
		for _, d := range dc.Datastores {
			names = append(names, d.Name)
		}
	}
	storage, err := resolveStorageModel(cfg.Arrays, cfg.SlowDatastores, names)
	if err != nil {
		return nil, err
	}
	model, w, err := buildWorld(p, logf)
	if err != nil {
		return nil, err
	}
	setVMotionLink(w, cfg.VMotionLinkMbps)
	// vcsim's ServiceContent carries one fixed instanceUuid: every test vCenter would look
	// like the same vCenter. Each gets its own (or the one asked for).
	if cfg.InstanceUUID == "" {
		cfg.InstanceUUID = uuid.New().String()
	}
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	si.Content.About.InstanceUuid = cfg.InstanceUUID
	if !cfg.VcsimPC {
		updateBatch = time.Duration(cfg.UpdateBatchMS) * time.Millisecond
		installPropertyCollector()
	}
	installStorageResourceManager()
	installViewManager()
	s := &Server{cfg: cfg, logf: logf, model: model, world: w}
	s.stats = newSOAPStats()
	s.rest = newSOAPStats()
	s.sessions = newSessionTracker()
	s.faults = newFaultInjector(cfg)
	s.eng = newEngine(&s.cfg, w, s.faults, storage, logf)
	theEngine = s.eng

	// Service wiring that simulator.Service.NewServer would do, but on our own listener and mux.
	svc := model.Service
	s.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		w.removeTempDirs()
		return nil, fmt.Errorf("-listen %s: %v", cfg.Listen, err)
	}
	addr := s.listener.Addr().String()
	scheme := "http"
	var tlsConfig *tls.Config
	if cfg.TLS {
		scheme = "https"
		var cert tls.Certificate
		if cfg.CertFile != "" {
			cert, err = tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		} else {
			cert, err = selfSignedCertificate()
		}
		if err != nil {
			s.listener.Close()
			w.removeTempDirs()
			return nil, fmt.Errorf("TLS certificate: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.Thumb1, s.Thumb256 = thumbprints(cert.Certificate[0])
	}
	svc.Listen = &url.URL{Scheme: scheme, Host: addr, Path: "/sdk", User: url.UserPassword(cfg.Username, cfg.Password)}
	svc.ServeMux = http.NewServeMux()
	svc.RegisterSDK(simulator.Map)
	svc.ServeMux.HandleFunc("/sdk/vimServiceVersions.xml", svc.ServiceVersions)
	simulator.Map.SessionManager().ServiceHostName = addr
	s.inner = svc.ServeMux

	mux := http.NewServeMux()
	mux.HandleFunc("/sdk", s.serveSDK)
	mux.HandleFunc("/sdk/", s.serveSDK)
	mux.Handle("/_mm/", s.controlHandler())
	if !cfg.NoREST {
		rest, err := newRESTHandler(svc.Listen, p, w, cfg.Username, cfg.Password, s.rest, s.sessions)
		if err != nil {
			s.listener.Close()
			w.removeTempDirs()
			return nil, err
		}
		mux.Handle("/rest/", rest)
	}
	mux.Handle("/", s.inner)
	s.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
		// vCenter speaks HTTP/1.1: an empty map disables HTTP/2 over TLS.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if tlsConfig != nil {
		dual := newDualListener(s.listener, tlsConfig)
		go func() { _ = s.httpSrv.Serve(dual.tls) }()
		go func() { _ = s.httpSrv.Serve(dual.plain) }()
	} else {
		go func() { _ = s.httpSrv.Serve(s.listener) }()
	}

	s.URL = fmt.Sprintf("%s://%s/sdk", scheme, addr)
	s.ControlURL = fmt.Sprintf("http://%s/_mm", addr)
	s.StartupSec = time.Since(t0).Seconds()
	return s, nil
}

// Ready returns the startup JSON line's content.
func (s *Server) Ready(pid int) Ready {
	return Ready{
		URL: s.URL, Username: s.cfg.Username, Password: s.cfg.Password,
		ThumbprintSHA1: s.Thumb1, ThumbprintSHA256: s.Thumb256,
		Control: s.ControlURL, PID: pid, StartupSeconds: s.StartupSec, VMs: len(s.world.vmByRef),
		InstanceUUID: s.cfg.InstanceUUID,
	}
}

// Close stops serving, ends every running task and removes the datastores' temp directories.
func (s *Server) Close() {
	_ = s.httpSrv.Close()
	_ = s.listener.Close()
	s.eng.stop()
	s.world.removeTempDirs()
}

// sessionTracker knows which vmware_soap_session cookies are valid: those handed out by
// Login (and the other login methods), minus logged-out and terminated ones.
type sessionTracker struct {
	mu    sync.Mutex
	valid map[string]bool
	// issued: every session key and Automation API session id handed out, for
	// GET /_mm/session-keys (tests search a client's output for them).
	issued []string
}

func newSessionTracker() *sessionTracker { return &sessionTracker{valid: map[string]bool{}} }

func (t *sessionTracker) add(key string) {
	t.mu.Lock()
	if !t.valid[key] {
		t.issued = append(t.issued, key)
	}
	t.valid[key] = true
	t.mu.Unlock()
}

// issue records an Automation API session id (never valid for SOAP).
func (t *sessionTracker) issue(id string) {
	t.mu.Lock()
	t.issued = append(t.issued, id)
	t.mu.Unlock()
}

// issuedKeys returns every key and id handed out so far, oldest first.
func (t *sessionTracker) issuedKeys() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.issued...)
}

func (t *sessionTracker) remove(key string) {
	t.mu.Lock()
	delete(t.valid, key)
	t.mu.Unlock()
}

func (t *sessionTracker) isValid(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.valid[key]
}

// terminateAll invalidates every session and returns their keys.
func (t *sessionTracker) terminateAll() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.valid))
	for k := range t.valid {
		keys = append(keys, k)
	}
	t.valid = map[string]bool{}
	return keys
}

// Methods a client may call without a session.
var noSessionMethods = map[string]bool{
	"RetrieveServiceContent": true, "Login": true, "LoginByToken": true, "LoginExtensionByCertificate": true,
	"CloneSession": true, "LoginExtensionBySubjectName": true,
}

// cookieWatcher records the session cookie a login response sets.
type cookieWatcher struct {
	http.ResponseWriter
	tracker *sessionTracker
	status  int
	compact bool
	// streamed: the answer was already written (a streamed RetrievePropertiesEx, see
	// retrieve.go); what the simulator writes after it is dropped.
	streamed bool
}

// govmomi's encoder redeclares the XML Schema instance namespace on every polymorphic
// value; vCenter declares `xsi` once on the envelope (as govmomi's does too) and writes
// `xsi:type`. Rewriting it keeps responses the size a real vCenter sends.
var (
	verboseXSIType = []byte(`xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type=`)
	nestedXSIType  = []byte(` XMLSchema-instance:type=`)
	compactXSIType = []byte(`xsi:type=`)
	xsiDeclaration = []byte(`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`)
)

// declaresXSI reports whether a response's envelope (its first bytes) declares the xsi prefix.
func declaresXSI(b []byte) bool {
	head := b
	if len(head) > 1024 {
		head = head[:1024]
	}
	return bytes.Contains(head, xsiDeclaration)
}

func (c *cookieWatcher) WriteHeader(code int) {
	if c.streamed {
		return
	}
	c.status = code
	for _, sc := range c.Header().Values("Set-Cookie") {
		if strings.HasPrefix(sc, soap.SessionCookieName+"=") {
			v := strings.TrimPrefix(sc, soap.SessionCookieName+"=")
			if i := strings.IndexByte(v, ';'); i >= 0 {
				v = v[:i]
			}
			c.tracker.add(v)
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cookieWatcher) Write(b []byte) (int, error) {
	if c.streamed {
		return len(b), nil
	}
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.compact && declaresXSI(b) && bytes.Contains(b, verboseXSIType) {
		out := bytes.ReplaceAll(b, verboseXSIType, compactXSIType)
		// Nested values use the outer declaration without repeating it.
		out = bytes.ReplaceAll(out, nestedXSIType, []byte(` xsi:type=`))
		if _, err := c.ResponseWriter.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// serveSDK wraps the simulator's SOAP endpoint: it counts and times every call, applies
// injected SOAP faults and delays, enforces sessions like vCenter (NotAuthenticated once a
// session is terminated), and implements CancelTask, which vcsim 0.24 lacks.
func (s *Server) serveSDK(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/sdk" {
		s.inner.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	method, this := soapRequestInfo(body)
	if method == "" {
		method = "(unparsed)"
	}
	defer func() { s.stats.record(method, time.Since(start)) }()

	cookie := ""
	if c, err := r.Cookie(soap.SessionCookieName); err == nil {
		cookie = c.Value
	}
	authenticated := cookie != "" && s.sessions.isValid(cookie)
	if !authenticated && !noSessionMethods[method] && !unauthenticatedReadAllowed(method, body) {
		fault := &types.NotAuthenticated{NoPermission: types.NoPermission{
			Object: types.ManagedObjectReference{Type: "Folder", Value: "group-d1"}, PrivilegeId: "System.View"}}
		writeSOAPFault(w, fault, "The session is not authenticated.")
		return
	}
	if !authenticated && cookie != "" {
		// A terminated or unknown session: make the simulator see no session at all.
		r.Header.Del("Cookie")
	}

	if act := s.faults.soapCall(method); act != nil {
		if act.delay > 0 {
			select {
			case <-time.After(act.delay):
			case <-r.Context().Done():
				return
			}
		}
		if act.fault != nil {
			writeSOAPFault(w, act.fault, act.message)
			return
		}
		switch act.drop {
		case "before":
			closeConnection(w)
			return
		case "after":
			// Handle the call into a writer that keeps nothing, then close the connection
			// instead of answering (deferred: runs after the simulator has handled it).
			client := w
			w = &discardResponse{header: http.Header{}}
			defer closeConnection(client)
		}
	}

	switch method {
	case "CancelTask":
		if s.eng.cancelTask(this, w) {
			return
		}
	case "CurrentTime":
		// The server's clock is the simulated one that task times are in (skew included).
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, `%s<CurrentTimeResponse xmlns="urn:vim25"><returnval>%s</returnval></CurrentTimeResponse>%s`,
			soapEnvelopeStart, s.eng.clock.serverTime().UTC().Format(time.RFC3339Nano), soapEnvelopeEnd)
		return
	case "Logout":
		s.sessions.remove(cookie)
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	cw := &cookieWatcher{ResponseWriter: w, tracker: s.sessions, compact: !s.cfg.VerboseXSI}
	defer func() {
		// vcsim panics in a few places (Fetch of an unset property, e.g. pyVmomi reading
		// vm.snapshot of a VM without snapshots). It writes nothing before the call returns,
		// so answer here instead of dropping the connection.
		if p := recover(); p != nil {
			if cw.status != 0 {
				panic(p)
			}
			if method == "Fetch" {
				writeSOAPEmptyResponse(w, "Fetch")
				return
			}
			s.logf("%s panicked in the simulator: %v", method, p)
			writeSOAPFault(w, &types.SystemError{Reason: fmt.Sprint(p)}, fmt.Sprintf("The simulator failed in %s: %v", method, p))
		}
	}()
	s.inner.ServeHTTP(cw, r)
}

// unauthenticatedReadAllowed lets a client read SessionManager.currentSession without a
// session (vCenter returns it empty; govmomi uses this to test a session).
func unauthenticatedReadAllowed(method string, body []byte) bool {
	if method != "RetrievePropertiesEx" && method != "RetrieveProperties" {
		return false
	}
	return bytes.Contains(body, []byte(`"SessionManager"`)) && bytes.Contains(body, []byte("currentSession"))
}

// terminateSessions invalidates every session; clients get NotAuthenticated until they log in again.
func (s *Server) terminateSessions() int {
	keys := s.sessions.terminateAll()
	sm := simulator.Map.SessionManager()
	ctx := &simulator.Context{Session: &simulator.Session{UserSession: types.UserSession{Key: "mm-control"}}}
	for _, k := range keys {
		forgetSessionCollectors(k)
		sm.TerminateSession(ctx, &types.TerminateSession{SessionId: []string{k}})
	}
	return len(keys)
}

// closeConnection closes the client's connection without an answer (an injected drop).
func closeConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	if conn, _, err := hj.Hijack(); err == nil {
		_ = conn.Close()
	}
}

// discardResponse is a ResponseWriter that keeps nothing: the answer to a call whose
// connection is dropped after it was handled.
type discardResponse struct {
	header http.Header
}

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(int)             {}
