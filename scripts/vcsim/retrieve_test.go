package main

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// rawSOAP posts one SOAP body to the test server and returns the answer's bytes and the
// session cookie it set (if any).
func rawSOAP(t *testing.T, cookie, body string) ([]byte, string) {
	t.Helper()
	env := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(env))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "urn:vim25/6.5")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	set := ""
	if sc := res.Header.Get("Set-Cookie"); strings.HasPrefix(sc, "vmware_soap_session=") {
		set = strings.SplitN(sc, ";", 2)[0]
	}
	return data, set
}

// The streamed RetrievePropertiesEx answer is the very bytes vcsim's buffered one is, for
// every VM with its devices, file layouts, snapshots and custom values, a path no VM has
// (InvalidProperty in missingSet) and an empty result.
func TestStreamedRetrievalIsByteIdentical(t *testing.T) {
	defer func() { streamRetrievals = true }()
	_, cookie := rawSOAP(t, "", `<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>`)
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	view, _ := rawSOAP(t, cookie, `<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this>`+
		`<container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>`)
	m := regexp.MustCompile(`<returnval type="ContainerView">([^<]*)<`).FindSubmatch(view)
	if m == nil {
		t.Fatalf("no view: %s", view)
	}
	retrieve := func(typ, paths string) string {
		return `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet>` +
			`<propSet><type>` + typ + `</type><all>false</all>` + paths + `</propSet>` +
			`<objectSet><obj type="ContainerView">` + string(m[1]) + `</obj><skip>true</skip><selectSet xsi:type="TraversalSpec">` +
			`<name>t</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>` +
			`</specSet><options><maxObjects>1000</maxObjects></options></RetrievePropertiesEx>`
	}
	var paths strings.Builder
	for _, p := range []string{"name", "runtime.host", "runtime.powerState", "datastore", "snapshot", "config.files.vmPathName",
		"config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo", "parent", "customValue", "config.guestId", "no.such.path"} {
		paths.WriteString("<pathSet>" + p + "</pathSet>")
	}
	for _, call := range []struct{ what, body string }{
		{"every VM", retrieve("VirtualMachine", paths.String())},
		{"no object of the type", retrieve("HostSystem", "<pathSet>name</pathSet>")},
	} {
		streamRetrievals = false
		buffered, _ := rawSOAP(t, cookie, call.body)
		streamRetrievals = true
		streamed, _ := rawSOAP(t, cookie, call.body)
		if !bytes.Equal(buffered, streamed) {
			i := 0
			for i < len(buffered) && i < len(streamed) && buffered[i] == streamed[i] {
				i++
			}
			lo := i - 200
			if lo < 0 {
				lo = 0
			}
			t.Errorf("%s: streamed answer (%d bytes) differs from the buffered one (%d bytes) at byte %d:\nbuffered …%s\nstreamed …%s",
				call.what, len(streamed), len(buffered), i, clip(buffered, lo, i+200), clip(streamed, lo, i+200))
		}
		if call.what == "every VM" && (!bytes.Contains(streamed, []byte(`xsi:type="VirtualDisk"`)) || !bytes.Contains(streamed, []byte("InvalidProperty"))) {
			t.Errorf("%s: the answer lacks the devices or the missing path: %.2000s", call.what, streamed)
		}
	}
}

func clip(b []byte, lo, hi int) []byte {
	if hi > len(b) {
		hi = len(b)
	}
	if lo > hi {
		lo = hi
	}
	return b[lo:hi]
}
