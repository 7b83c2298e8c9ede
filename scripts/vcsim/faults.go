package main

import (
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

type faultInjector struct{}

type soapAction struct {
	delay   time.Duration
	fault   types.BaseMethodFault
	message string
}

func newFaultInjector(cfg Config) *faultInjector { return &faultInjector{} }

func (f *faultInjector) soapCall(method string) *soapAction { return nil }
