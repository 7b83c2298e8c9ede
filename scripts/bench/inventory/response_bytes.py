#!/usr/bin/env python3
"""What issue 10 asks the VM retrieval to carry, in bytes: one raw RetrievePropertiesEx of every
VM of a fresh test vCenter (1 cluster, 4 hosts, 50 VMs) with the VM properties read before the
issue (`c7f789b`), with issue 10's added, and with today's (`InventoryDecoding.vmPaths`, issue
13's too), once with one disk per VM (the inventory bench's default) and once with `-disks 1-4`.
Prints the bytes per VM of each response, issue 10's ratio to before, and the ratio left if the
devices Moonmotion's reader skips (`XMLSkipRule`: every VirtualDevice but disks, CD/DVD and
floppy drives) never reached a parser: a floor for any client whose parsing is linear in the
bytes it reads.

    python3 scripts/bench/inventory/response_bytes.py
"""
import http.cookiejar
import os
import re
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "vcsim"))
import vcsim  # noqa: E402

BEFORE = ["name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore", "resourcePool",
          "summary.storage.committed", "summary.storage.uncommitted", "summary.config.memorySizeMB", "config.template",
          "snapshot"]
# Issue 10's files, state and media; issue 13's folder, custom attributes and guest OS after them.
ISSUE10 = BEFORE + ["config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo",
                    "runtime.connectionState", "guest.toolsRunningStatus"]
TODAY = ISSUE10 + ["parent", "customValue", "config.guestFullName", "config.guestId"]
KEPT = {"VirtualDisk", "VirtualCdrom", "VirtualFloppy"}
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>')
# Every VM: from the root folder through datacenters' VM folders.
TRAVERSAL = ('<objectSet><obj type="Folder">group-d1</obj><skip>true</skip>'
             '<selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip>'
             '<selectSet><name>f</name></selectSet><selectSet><name>d</name></selectSet></selectSet>'
             '<selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip>'
             '<selectSet><name>f</name></selectSet></selectSet></objectSet>')


def measure(extra_args):
    with vcsim.start(clusters=1, hosts=4, vms=50, datastores="legacy:4,new:4", extra_args=extra_args) as vc:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def call(body):
            req = urllib.request.Request(vc.url, data=(ENVELOPE % body).encode(),
                                         headers={"Content-Type": "text/xml", "SOAPAction": "urn:vim25/7.0"})
            return opener.open(req).read().decode()

        call('<Login><_this type="SessionManager">SessionManager</_this><userName>%s</userName><password>%s</password></Login>'
             % (vc.username, vc.password))

        def retrieve(paths):
            ps = "".join("<pathSet>%s</pathSet>" % p for p in paths)
            return call('<RetrievePropertiesEx><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet>'
                        '<type>VirtualMachine</type>%s</propSet>%s</specSet><options><maxObjects>1000</maxObjects></options>'
                        '</RetrievePropertiesEx>' % (ps, TRAVERSAL))

        before, files, today = retrieve(BEFORE), retrieve(ISSUE10), retrieve(TODAY)
        vms = today.count('<obj type="VirtualMachine"')
        skipped = sum(len(m.group(0)) for m in re.finditer(r'<VirtualDevice xsi:type="(\w+)">.*?</VirtualDevice>', files, re.S)
                      if m.group(1) not in KEPT)
        return vms, len(before), len(files), len(today), skipped


def main():
    print("%-16s %4s %12s %16s %8s %30s %12s" % ("test vCenter", "VMs", "before B/VM", "issue 10 B/VM", "ratio",
                                                  "ratio without skipped devices", "today B/VM"))
    for label, extra in (("one disk per VM", []), ("-disks 1-4", ["-disks", "1-4"])):
        vms, before, files, today, skipped = measure(extra)
        print("%-16s %4d %12d %16d %7.1fx %29.1fx %12d" % (label, vms, before // vms, files // vms, files / before,
                                                          (files - skipped) / before, today // vms))


if __name__ == "__main__":
    main()
