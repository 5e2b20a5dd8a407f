package simulator

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// comm may hold spaces and parentheses.
	line := []byte("4242 (tracking (redis) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 12345 1000000 2500 18446744073709551615\n")
	name, cpu, err := parseProcStat(line)
	if err != nil || name != "tracking (redis) x" || cpu != 3250*time.Millisecond {
		t.Fatalf("parseProcStat = %q %v %v", name, cpu, err)
	}
	if _, _, err := parseProcStat([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short line parsed")
	}
	rss, err := parseVmHWM([]byte("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4096 kB\n"))
	if err != nil || rss != 5120<<10 {
		t.Fatalf("parseVmHWM = %v %v", rss, err)
	}
	if _, err := parseVmHWM([]byte("Name:\tkthreadd\n")); err == nil {
		t.Fatal("missing VmHWM parsed")
	}
}

func TestReadProcStatSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the clock-tick counter moves (however busy the machine).
	var after ProcStat
	deadline := time.Now().Add(30 * time.Second)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
		if x%1_000_000 == 0 {
			if after, err = ReadProcStat(os.Getpid()); err != nil {
				t.Fatal(err)
			}
			if after.CPU > before.CPU {
				break
			}
		}
	}
	if after.CPU <= before.CPU || after.PeakRSS <= 0 || after.Name == "" {
		t.Fatalf("before %+v after %+v", before, after)
	}
	if _, err := ReadProcStat(1 << 30); err == nil {
		t.Fatal("a process that does not exist was read")
	}
}
