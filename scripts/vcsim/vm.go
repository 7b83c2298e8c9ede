package main

import "github.com/vmware/govmomi/simulator"

// VM wraps simulator.VirtualMachine BY VALUE (the simulator's reflection digs the first
// field for the mo type and panics on an embedded pointer) to replace its task methods.
type VM struct {
	simulator.VirtualMachine
}

// Snapshot wraps simulator.VirtualMachineSnapshot by value.
type Snapshot struct {
	simulator.VirtualMachineSnapshot
}
