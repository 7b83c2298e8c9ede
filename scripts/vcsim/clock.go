package main

import (
	"sync"
	"time"
)

// simClock is the simulated clock: it runs `speed` simulated seconds per real second and
// starts at the server's start (simulated second 0 = the wall time the server started, plus
// -clock-skew-seconds). Changing the speed keeps simulated time continuous. It is the server's
// clock: task times and CurrentTime read it.
type simClock struct {
	mu       sync.Mutex
	epoch    time.Time // wall time of simulated second 0
	baseReal time.Time
	baseSim  float64
	speed    float64
}

func newSimClock(speed, skewSeconds float64) *simClock {
	now := time.Now()
	return &simClock{epoch: now.Add(time.Duration(skewSeconds * float64(time.Second))), baseReal: now, speed: speed}
}

// serverTime is the server's current time (what CurrentTime answers).
func (c *simClock) serverTime() time.Time { return c.time(c.now()) }

// now returns simulated seconds since the epoch.
func (c *simClock) now() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.baseSim + time.Since(c.baseReal).Seconds()*c.speed
}

func (c *simClock) setSpeed(speed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.baseSim += now.Sub(c.baseReal).Seconds() * c.speed
	c.baseReal = now
	c.speed = speed
}

func (c *simClock) getSpeed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}

// time converts simulated seconds to a timestamp (used for TaskInfo times).
func (c *simClock) time(sim float64) time.Time {
	return c.epoch.Add(time.Duration(sim * float64(time.Second)))
}

// realDelay converts a simulated interval into a real one at the current speed.
func (c *simClock) realDelay(sim float64) time.Duration {
	c.mu.Lock()
	s := c.speed
	c.mu.Unlock()
	if sim <= 0 {
		return 0
	}
	return time.Duration(sim / s * float64(time.Second))
}
