package wasmrt

import (
	"context"

	"github.com/opencitycode/citycode/host/internal/pluginhost/runner"
)

// pool hands out instances, one call at a time each, and never lets more
// than size of them live: a call first takes one of size slots, then an
// idle instance, or makes one when none is idle (which happens only when
// an instance was discarded, since the pool starts full).
type pool struct {
	size   int
	slots  chan struct{}  // one token per call holding an instance
	idle   chan *instance // instances ready for a call
	done   chan struct{}  // closed when the pool stops accepting calls
	create func(context.Context) (*instance, error)
}

func newPool(size int, create func(context.Context) (*instance, error)) *pool {
	return &pool{
		size:   size,
		slots:  make(chan struct{}, size),
		idle:   make(chan *instance, size),
		done:   make(chan struct{}),
		create: create,
	}
}

// warm instantiates instances until the pool is full.
func (p *pool) warm(ctx context.Context) error {
	for len(p.idle) < p.size {
		in, err := p.create(ctx)
		if err != nil {
			return err
		}
		p.idle <- in
	}
	return nil
}

// get takes an instance for one call, waiting (until ctx ends) while all
// are busy. The caller gives it back with put.
func (p *pool) get(ctx context.Context) (*instance, error) {
	if p.stopped() {
		return nil, runner.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err // calling with it would only kill an instance
	}
	select {
	case p.slots <- struct{}{}:
	case <-p.done:
		return nil, runner.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	in, err := p.take(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return in, nil
}

// take answers an idle instance, or a new one; the caller holds a slot.
func (p *pool) take(ctx context.Context) (*instance, error) {
	if p.stopped() {
		return nil, runner.ErrClosed
	}
	select {
	case in := <-p.idle:
		if !in.dead() {
			return in, nil
		}
		in.close(ctx) // closed behind our back: its context ended as it returned
	default:
	}
	return p.create(ctx)
}

// put gives an instance back after a call, or discards it when the call
// failed (its state cannot be trusted) or the pool is closing.
func (p *pool) put(ctx context.Context, in *instance, healthy bool) {
	if healthy && !in.dead() && !p.stopped() {
		p.idle <- in // never blocks: at most size instances live
	} else {
		in.close(context.WithoutCancel(ctx))
	}
	<-p.slots
}

// probe checks that a call could be served now: it answers nil when every
// instance is busy (they are serving), and otherwise makes sure an idle
// instance exists.
func (p *pool) probe(ctx context.Context) error {
	if p.stopped() {
		return runner.ErrClosed
	}
	select {
	case p.slots <- struct{}{}:
	default:
		return nil
	}
	in, err := p.take(ctx)
	if err != nil {
		<-p.slots
		return err
	}
	p.put(ctx, in, true)
	return nil
}

// close stops accepting calls and waits for those in flight until ctx
// ends, then closes the idle instances. It answers ctx's error when calls
// were still running.
func (p *pool) close(ctx context.Context) error {
	close(p.done)
	var err error
wait:
	for range p.size {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	for {
		select {
		case in := <-p.idle:
			in.close(context.WithoutCancel(ctx))
		default:
			return err
		}
	}
}

func (p *pool) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
