package platform

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is a broker running inside this process, for the one-command
// local run only: integration tests always use real servers.
type Embedded struct {
	Addr  string
	close func()
}

// Close stops the broker.
func (e *Embedded) Close() { e.close() }

// StartRedis starts an in-process Redis-protocol server (miniredis) on a free
// loopback port.
func StartRedis() (*Embedded, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return &Embedded{Addr: m.Addr(), close: m.Close}, nil
}

// StartKafka starts an in-process Kafka-protocol cluster (franz-go's kfake)
// with one broker on a free loopback port.
func StartKafka() (*Embedded, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("start embedded kafka: no listen address")
	}
	return &Embedded{Addr: addrs[0], close: c.Close}, nil
}
