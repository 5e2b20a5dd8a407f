package service

import (
	"context"
	"log/slog"
	"net"

	"github.com/teamtrack/tracking-core/discovery"
)

// ConsulRegistration returns the Register hook for Config: it registers the
// replica as serviceName in the Consul agent at consulAddr, reachable at
// advertiseHost (default: see discovery.RegisterConfig.Address) on the port
// it listens on. It returns nil (no discovery) when consulAddr is empty.
func ConsulRegistration(consulAddr, serviceName, advertiseHost string, log *slog.Logger) func(context.Context, *net.TCPAddr) (func(context.Context) error, error) {
	if consulAddr == "" {
		return nil
	}
	return func(ctx context.Context, addr *net.TCPAddr) (func(context.Context) error, error) {
		reg, err := discovery.Register(ctx, discovery.RegisterConfig{
			ConsulAddr: consulAddr,
			Service:    serviceName,
			Address:    advertiseHost,
			Port:       addr.Port,
			Logger:     log,
		})
		if err != nil {
			return nil, err
		}
		return reg.Deregister, nil
	}
}
