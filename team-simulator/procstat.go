package simulator

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat: 100 on
// every Linux platform Go runs on.
const clockTicks = 100

// ProcStat is a sample of one process's resource use, read from /proc.
type ProcStat struct {
	PID     int
	Name    string        // the process's comm
	CPU     time.Duration // user + system time since the process started
	PeakRSS int64         // bytes: VmHWM, the peak resident set since start
}

// ReadProcStat samples process pid (Linux only).
func ReadProcStat(pid int) (ProcStat, error) {
	p := ProcStat{PID: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, fmt.Errorf("read cpu of process %d: %w", pid, err)
	}
	if p.Name, p.CPU, err = parseProcStat(stat); err != nil {
		return p, fmt.Errorf("read cpu of process %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	if p.PeakRSS, err = parseVmHWM(status); err != nil {
		return p, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	return p, nil
}

// parseProcStat reads comm, utime and stime (fields 2, 14 and 15) of
// /proc/PID/stat. comm is in parentheses and may itself hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseProcStat(b []byte) (name string, cpu time.Duration, err error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("unexpected /proc stat format")
	}
	name = string(b[open+1 : end])
	f := bytes.Fields(b[end+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return "", 0, fmt.Errorf("unexpected /proc stat format: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("unexpected /proc stat utime/stime %q %q", f[11], f[12])
	}
	return name, time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseVmHWM reads the "VmHWM:   1234 kB" line of /proc/PID/status.
func parseVmHWM(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmHWM line %q", bytes.TrimSpace(line))
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmHWM in /proc status (kernel thread or exited process)")
}
