#!/usr/bin/env python3
# What reading each VM's folder, custom attributes and guest OS costs the VM retrieval (issue 13):
# one raw RetrievePropertiesEx of every VM with the property set read before (old) and with
# parent, customValue, config.guestFullName and config.guestId added (new), alternating, 3 runs
# each; prints response bytes and wall time. Against a running test vCenter, for example
#   .build-vcsim/vcsim -clusters 10 -hosts 16 -vms 1000 -folders prod,prod/db,test,dev,infra/dns \
#       -attribute 'wave=1|2|3|4' -attribute 'owner=fin|hr|it' -guest-os windows2019srv_64Guest,rhel9_64Guest,ubuntu64Guest
#   scripts/bench/inventory/vm_properties_cost.py PORT
import sys, time, http.client
from pyVim.connect import SmartConnect
from pyVmomi import vim
old = ["name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore", "resourcePool",
       "summary.storage.committed", "summary.storage.uncommitted", "summary.config.memorySizeMB", "config.template", "snapshot",
       "config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo",
       "runtime.connectionState", "guest.toolsRunningStatus"]
new = old + ["parent", "customValue", "config.guestFullName", "config.guestId"]
port = int(sys.argv[1])
si = SmartConnect(host="127.0.0.1", port=port, user="user", pwd="pass", protocol="http")
content = si.RetrieveContent()
view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
cookie = si._stub.cookie
def body(paths):
    ps = "".join(f"<pathSet>{p}</pathSet>" for p in paths)
    return f'''<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">{content.propertyCollector._moId}</_this><specSet><propSet><type>VirtualMachine</type><all>false</all>{ps}</propSet><objectSet><obj type="ContainerView">{view._moId}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>t</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options><maxObjects>100000</maxObjects></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>'''
for i in range(3):
    for name, paths in (("old", old), ("new", new)):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        t = time.time()
        c.request("POST", "/sdk", body(paths), {"Content-Type": "text/xml", "SOAPAction": "urn:vim25/6.5", "Cookie": cookie})
        data = c.getresponse().read()
        print(f"{name} run {i+1}: {len(data)/1e6:.2f} MB in {time.time()-t:.2f} s, token={'<token>' in data.decode()}", flush=True)
