package nativert

import "runtime"

// spawner runs the forks of one runner on one dedicated OS thread.
//
// Linux delivers a child's parent-death signal (SysProcAttr.Pdeathsig) when
// the thread that forked it exits, not the process. Go moves goroutines
// between threads and ends a thread when a goroutine locked to it exits, so
// a plugin forked from an arbitrary goroutine could be SIGKILLed at some
// random moment while the host runs on. Forking from a goroutine locked to
// its thread for the runner's whole life ties the signal to that life: the
// thread lives until Close, and when the host dies, SIGKILLed or not, the
// kernel kills the plugin.
//
// The goroutine never unlocks its thread, so the thread ends with it at
// Close, which also kills any process still alive that was forked there.
type spawner struct {
	jobs chan func()
	quit chan struct{}
}

func newSpawner() *spawner {
	s := &spawner{jobs: make(chan func()), quit: make(chan struct{})}
	go s.run()
	return s
}

func (s *spawner) run() {
	runtime.LockOSThread()
	for {
		select {
		case f := <-s.jobs:
			f()
		case <-s.quit:
			return
		}
	}
}

// do runs f on the spawner's thread and waits for it. Not after close.
func (s *spawner) do(f func()) {
	done := make(chan struct{})
	s.jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}

// close ends the thread.
func (s *spawner) close() { close(s.quit) }
