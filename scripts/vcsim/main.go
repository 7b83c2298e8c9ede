// Command vcsim is Moonmotion's test vCenter: govmomi's simulator (0.24, from Debian) with a
// generated or loaded topology, asynchronous migrations under vSphere's limits, fault
// injection and a control endpoint. See README.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// The simulator's objects are a large live heap (10,000 VMs: ~300 MB) that every GC cycle
	// scans, while encoding a big retrieval allocates fast: at Go's default (GOGC=100) the
	// collector took a quarter of the server's time in a 10,000-VM RetrievePropertiesEx and a
	// large part of startup. Collecting when the heap has grown 4 × instead trades ~250 MB of
	// RSS for that time. GOGC in the environment still decides when set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "vcsim: %v (see vcsim -help)\n", err)
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "vcsim: ", log.Ltime|log.Lmicroseconds)
	if !cfg.Verbose {
		log.SetOutput(io.Discard) // the simulator logs every WaitForUpdatesEx round
	} else {
		log.SetOutput(os.Stderr)
	}
	s, err := startServer(cfg, logger.Printf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vcsim: %v\n", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(s.Ready(os.Getpid()))
	out := bufio.NewWriter(os.Stdout)
	out.Write(line)
	out.WriteString("\n")
	out.Flush()
	logger.Printf("ready at %s (%d VMs, started in %.1fs)", s.URL, len(s.world.vmByRef), s.StartupSec)

	done := make(chan string, 2)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { done <- (<-sig).String() }()
	if cfg.ExitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			done <- "stdin closed"
		}()
	}
	why := <-done
	logger.Printf("stopping (%s)", why)
	s.Close()
}
