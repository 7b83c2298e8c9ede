package main

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// soapRequestInfo extracts the method name (the first element inside the SOAP Body,
// without its namespace prefix) and the text of its _this element, without a full parse.
func soapRequestInfo(body []byte) (method, this string) {
	i := bytes.Index(body, []byte("Body"))
	for i >= 0 {
		// make sure it is an element name: preceded by '<' or ':'
		if i > 0 && (body[i-1] == '<' || body[i-1] == ':') {
			break
		}
		j := bytes.Index(body[i+4:], []byte("Body"))
		if j < 0 {
			return "", ""
		}
		i += 4 + j
	}
	if i < 0 {
		return "", ""
	}
	rest := body[i:]
	gt := bytes.IndexByte(rest, '>')
	if gt < 0 {
		return "", ""
	}
	rest = rest[gt+1:]
	for {
		lt := bytes.IndexByte(rest, '<')
		if lt < 0 || lt+1 >= len(rest) {
			return "", ""
		}
		rest = rest[lt+1:]
		if rest[0] == '!' || rest[0] == '?' { // comment or processing instruction
			continue
		}
		break
	}
	end := bytes.IndexAny(rest, " \t\r\n/>")
	if end < 0 {
		return "", ""
	}
	name := string(rest[:end])
	if c := strings.LastIndexByte(name, ':'); c >= 0 {
		name = name[c+1:]
	}
	method = name
	if k := bytes.Index(rest, []byte("_this")); k >= 0 {
		r2 := rest[k:]
		if gt := bytes.IndexByte(r2, '>'); gt >= 0 {
			r2 = r2[gt+1:]
			if lt := bytes.IndexByte(r2, '<'); lt >= 0 {
				this = strings.TrimSpace(string(r2[:lt]))
			}
		}
	}
	return method, this
}

const soapEnvelopeStart = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`
const soapEnvelopeEnd = `</soapenv:Body></soapenv:Envelope>`

// newFault makes a fault value of the named vim25 type (FileLocked, NotAuthenticated, ...).
func newFault(name string) (types.BaseMethodFault, error) {
	t, ok := types.TypeFunc()(name)
	if !ok {
		return nil, fmt.Errorf("unknown vim25 fault type %q", name)
	}
	v := reflect.New(t).Interface()
	f, ok := v.(types.BaseMethodFault)
	if !ok {
		return nil, fmt.Errorf("%q is a vim25 type but not a fault", name)
	}
	return f, nil
}

// writeSOAPFault writes a SOAP fault like vcsim's: faultcode, faultstring and the typed
// fault in detail (<XFault xsi:type="X">).
func writeSOAPFault(w http.ResponseWriter, fault types.BaseMethodFault, msg string) {
	kind := reflect.TypeOf(fault).Elem().Name()
	var b bytes.Buffer
	b.WriteString(soapEnvelopeStart)
	b.WriteString(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>`)
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString(`</faultstring><detail>`)
	enc := xml.NewEncoder(&b)
	start := xml.StartElement{
		Name: xml.Name{Local: kind + "Fault"},
		Attr: []xml.Attr{
			{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
			{Name: xml.Name{Local: "xsi:type"}, Value: kind},
		},
	}
	_ = enc.EncodeElement(fault, start)
	_ = enc.Flush()
	b.WriteString(`</detail></soapenv:Fault>`)
	b.WriteString(soapEnvelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(b.Bytes())
}

// writeSOAPEmptyResponse writes <MethodResponse xmlns="urn:vim25"></MethodResponse>.
func writeSOAPEmptyResponse(w http.ResponseWriter, method string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, `%s<%sResponse xmlns="urn:vim25"></%sResponse>%s`, soapEnvelopeStart, method, method, soapEnvelopeEnd)
}
