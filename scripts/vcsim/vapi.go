package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	vapisim "github.com/vmware/govmomi/vapi/simulator"
)

// The Automation REST API (/rest/com/vmware/cis/...): govmomi's vAPI simulator, as govmomi's
// own vcsim serves it, with the plan's tags created and attached before the server listens.
// vCenter keeps tags only there (the SOAP API has none), so a client that filters VMs by tag
// talks to both.

// restHandler is the vAPI simulator behind two checks the simulator does not make: a session
// login must carry the server's own user and password (the simulator takes any), and every
// call is counted (GET /_mm/stats, rest_calls).
type restHandler struct {
	inner              http.Handler
	username, password string
	stats              *soapStats
	sessions           *sessionTracker
}

// sessionLoginPath is the session endpoint; a POST without ~action is a login.
const sessionLoginPath = "/rest/com/vmware/cis/session"

func (h *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	defer func() { h.stats.record(restCallName(r), time.Since(t0)) }()
	if r.Method == http.MethodPost && r.URL.Path == sessionLoginPath && r.URL.Query().Get("~action") == "" {
		if u, p, ok := r.BasicAuth(); !ok || u != h.username || p != h.password {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The session id is the answer's {"value": …}: recorded for GET /_mm/session-keys.
		rec := httptest.NewRecorder()
		h.inner.ServeHTTP(rec, r)
		var answer struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &answer) == nil && answer.Value != "" && h.sessions != nil {
			h.sessions.issue(answer.Value)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	h.inner.ServeHTTP(w, r)
}

var restIDPart = regexp.MustCompile(`/id:[^/?]+`)

// restCallName is "POST tagging/tag-association?~action=list-attached-objects-on-tags",
// "GET tagging/tag/{id}": the call without its object ids, so the counts add up per kind.
func restCallName(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/rest/com/vmware/cis/")
	p = restIDPart.ReplaceAllString(p, "/{id}")
	if a := r.URL.Query().Get("~action"); a != "" {
		p += "?~action=" + a
	}
	return r.Method + " " + p
}

// newRESTHandler builds the vAPI simulator for the server at listen and seeds it with the
// plan's tags: one category per name before the ':' (cardinality SINGLE unless some VM has
// two of its tags), its tags, each attached to its VMs in one call.
func newRESTHandler(listen *url.URL, p *plan, w *world, username, password string, stats *soapStats, sessions *sessionTracker) (http.Handler, error) {
	_, inner := vapisim.New(listen, simulator.Map.OptionManager().Setting)
	h := &restHandler{inner: inner, username: username, password: password, stats: stats, sessions: sessions}
	if err := seedTags(inner, p, w, username, password); err != nil {
		return nil, fmt.Errorf("seeding tags: %v", err)
	}
	return h, nil
}

// seedTags creates the plan's categories and tags through the REST API itself (in process,
// before the server listens; these calls are not counted).
func seedTags(h http.Handler, p *plan, w *world, username, password string) error {
	byTag := map[string][]string{}  // "category:tag" -> VM ids
	multi := map[string]bool{}      // categories some VM has two tags of
	categories := map[string]bool{} // every category
	for _, dc := range p.Datacenters {
		for _, v := range dc.VMs {
			seen := map[string]bool{}
			for _, t := range v.Tags {
				c := t[:strings.Index(t, ":")]
				categories[c] = true
				multi[c] = multi[c] || seen[c]
				seen[c] = true
				vm, ok := w.vmByName[v.Name]
				if !ok {
					return fmt.Errorf("VM %s: not built", v.Name)
				}
				byTag[t] = append(byTag[t], vm.Self.Value)
			}
		}
	}
	if len(byTag) == 0 {
		return nil
	}
	call := func(method, path, session string, body interface{}, out interface{}) error {
		var buf bytes.Buffer
		if body != nil {
			if err := json.NewEncoder(&buf).Encode(body); err != nil {
				return err
			}
		}
		req := httptest.NewRequest(method, path, &buf)
		req.Header.Set("Content-Type", "application/json")
		if session == "" {
			req.SetBasicAuth(username, password)
		} else {
			req.Header.Set("vmware-api-session-id", session)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("%s %s: HTTP %d %s", method, path, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(rec.Body.Bytes(), &struct {
			Value interface{} `json:"value"`
		}{out})
	}
	var session string
	if err := call(http.MethodPost, sessionLoginPath, "", nil, &session); err != nil {
		return err
	}
	defer func() { _ = call(http.MethodDelete, sessionLoginPath, session, nil, nil) }()
	names := make([]string, 0, len(categories))
	for c := range categories {
		names = append(names, c)
	}
	sort.Strings(names)
	categoryID := map[string]string{}
	for _, c := range names {
		cardinality := "SINGLE"
		if multi[c] {
			cardinality = "MULTIPLE"
		}
		spec := map[string]interface{}{"create_spec": map[string]interface{}{
			"name": c, "description": "", "cardinality": cardinality, "associable_types": []string{"VirtualMachine"},
		}}
		var id string
		if err := call(http.MethodPost, "/rest/com/vmware/cis/tagging/category", session, spec, &id); err != nil {
			return err
		}
		categoryID[c] = id
	}
	tags := make([]string, 0, len(byTag))
	for t := range byTag {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, t := range tags {
		colon := strings.Index(t, ":")
		spec := map[string]interface{}{"create_spec": map[string]interface{}{
			"name": t[colon+1:], "description": "", "category_id": categoryID[t[:colon]],
		}}
		var id string
		if err := call(http.MethodPost, "/rest/com/vmware/cis/tagging/tag", session, spec, &id); err != nil {
			return err
		}
		objects := make([]map[string]string, 0, len(byTag[t]))
		for _, vm := range byTag[t] {
			objects = append(objects, map[string]string{"type": "VirtualMachine", "id": vm})
		}
		path := "/rest/com/vmware/cis/tagging/tag-association/id:" + id + "?~action=attach-tag-to-multiple-objects"
		if err := call(http.MethodPost, path, session, map[string]interface{}{"object_ids": objects}, nil); err != nil {
			return err
		}
	}
	return nil
}
