package service

import (
	"log/slog"
	"syscall"
)

// fdReserve is what a replica keeps of its open-file limit for other than
// client connections: broker and database connections, listeners, files.
const fdReserve = 256

// raiseFileLimit raises the soft open-file limit to the hard one (Go's os
// package does so too since 1.19; doing it here does not depend on that)
// and logs how many client connections the replica can hold: each is one
// file descriptor. The hard limit is the operator's (ulimit -Hn, systemd's
// LimitNOFILE, a container runtime's nofile).
func raiseFileLimit(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("open-file limit unknown", "err", err)
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("could not raise the open-file limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			lim = raised
		}
	}
	conns := int64(lim.Cur) - fdReserve
	if conns < 0 {
		conns = 0
	}
	log.Info("open-file limit", "soft", lim.Cur, "hard", lim.Max, "max_connections", conns)
}
