package service

import (
	"context"
	"log/slog"
	"net"
)

// ConsulRegistration returns the Register hook for Config: nil (no discovery)
// when consulAddr is empty.
func ConsulRegistration(consulAddr, serviceName string, log *slog.Logger) func(context.Context, *net.TCPAddr) (func(context.Context) error, error) {
	if consulAddr == "" {
		return nil
	}
	return func(ctx context.Context, addr *net.TCPAddr) (func(context.Context) error, error) {
		// Wired to tracking-core/discovery once it lands.
		log.Warn("consul registration not available in this build", "consul", consulAddr)
		return nil, nil
	}
}
