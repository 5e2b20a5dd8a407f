package kafkabroadcast

import (
	"context"

	tracking "github.com/teamtrack/tracking-core"
)

// probe is one readiness check; concurrent Ready calls share it.
type probe struct {
	done chan struct{}
	err  error
}

// Ready refreshes the metadata of the three topics from the cluster. A probe runs
// to its end (bounded by sarama's metadata timeout) even when ctx ends first,
// and the next Ready call shares it.
func (b *Broadcaster) Ready(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return tracking.ErrClosed
	}
	p := b.probe
	if p == nil {
		p = &probe{done: make(chan struct{})}
		b.probe = p
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			p.err = b.control.RefreshMetadata(b.cfg.Topic, b.cfg.LastTopic, b.cfg.StateTopic)
			b.mu.Lock()
			b.probe = nil
			b.mu.Unlock()
			close(p.done)
		}()
	}
	b.mu.Unlock()
	select {
	case <-p.done:
		if p.err != nil {
			return unavailable("kafka unreachable", p.err)
		}
		return nil
	case <-ctx.Done():
		return unavailable("kafka readiness check timed out", ctx.Err())
	case <-b.quit:
		return tracking.ErrClosed
	}
}
