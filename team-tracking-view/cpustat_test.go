package view_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// cpuSample is the CPU time used so far by the browser a test started (its
// process and every descendant, by thread name) and by the test's own
// process (the fake stream server), read from /proc: what
// TestBrowserMapFrameTimes reports beside the frame times, so that a
// figure taken on a busy machine still says where the CPU went. Empty
// where there is no /proc.
type cpuSample struct {
	threads map[string]time.Duration // "process/thread" name -> CPU time
	self    time.Duration
}

// clockTick is USER_HZ: /proc's CPU times are in these units (100 on Linux).
const clockTick = 100

// sampleCPU reads the CPU times of the browser of ctx and of this process.
func sampleCPU(ctx context.Context) cpuSample {
	s := cpuSample{threads: map[string]time.Duration{}}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c := chromedp.FromContext(ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return s
	}
	root := c.Browser.Process().Pid
	// The browser's process tree: every process whose parent is in it.
	parent := map[int]int{}
	comm := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		st, ok := readStat(filepath.Join(d, "stat"))
		if !ok {
			continue
		}
		parent[pid] = st.ppid
		comm[pid] = processKind(d, st.comm)
	}
	inTree := func(pid int) bool {
		for range 16 {
			if pid == root {
				return true
			}
			p, ok := parent[pid]
			if !ok || p <= 1 {
				return false
			}
			pid = p
		}
		return false
	}
	for pid := range parent {
		if !inTree(pid) {
			continue
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*", pid))
		for _, t := range tasks {
			st, ok := readStat(filepath.Join(t, "stat"))
			if ok {
				s.threads[comm[pid]+"/"+threadKind(st.comm)] += st.cpu
			}
		}
	}
	return s
}

type procStat struct {
	comm string
	ppid int
	cpu  time.Duration
}

// readStat parses /proc/PID/stat (or a task's): comm, ppid, utime + stime.
func readStat(path string) (procStat, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, false
	}
	line := string(b)
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := strings.Fields(line[end+1:]) // f[0] is the state: field 3
	if len(f) < 13 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return procStat{comm: line[open+1 : end], ppid: ppid, cpu: time.Duration(ut+st) * time.Second / clockTick}, true
}

// processKind names a Chromium process by its --type (renderer, gpu-process,
// utility: the network service) or "browser".
func processKind(dir, comm string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return comm
	}
	// Chromium rewrites its children's command lines as one string: split on spaces too.
	for _, a := range strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 || r == ' ' }) {
		if v, ok := strings.CutPrefix(a, "--type="); ok {
			if v == "utility" && strings.Contains(string(b), "network.mojom") {
				return "network"
			}
			return v
		}
	}
	return "browser"
}

// threadKind folds numbered thread names ("ThreadPoolForeg", "DedicatedWorker thread") into one.
func threadKind(comm string) string {
	return strings.TrimRight(comm, "0123456789 ")
}

// cpuDelta returns what was used between a and b, over wall, as "where: share
// of one core" lines, the largest first, and the totals.
func cpuDelta(a, b cpuSample, wall time.Duration) string {
	type use struct {
		name string
		d    time.Duration
	}
	by := map[string]time.Duration{}
	var total time.Duration
	for k, v := range b.threads {
		d := v - a.threads[k]
		if d > 0 {
			by[k] = d
			total += d
		}
	}
	var uses []use
	for k, d := range by {
		uses = append(uses, use{k, d})
	}
	slices.SortFunc(uses, func(x, y use) int { return int(y.d - x.d) })
	pct := func(d time.Duration) string { return fmt.Sprintf("%.0f%%", 100*d.Seconds()/wall.Seconds()) }
	var parts []string
	for i, u := range uses {
		if i == 8 || u.d*100 < wall { // the first 8, each at least 1 % of a core
			break
		}
		parts = append(parts, u.name+" "+pct(u.d))
	}
	return fmt.Sprintf("browser %s of a core (%s); test process (the fake stream) %s", pct(total), strings.Join(parts, ", "), pct(b.self-a.self))
}

// startProfile starts the DevTools CPU profiler of the page's main thread
// (sampling every 200 µs); stop ends it and summarises it: the functions
// with the most self time ("name file:line share"), the first n. For
// VIEW_FRAME_BENCH_PROFILE=1 (best with an unminified build: VIEW_MINIFY=0
// npm run bundle).
func startProfile(ctx context.Context) (stop func(n int) (string, error), err error) {
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{}); err != nil {
		return nil, err
	}
	return func(n int) (string, error) {
		res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
		if err != nil {
			return "", err
		}
		p := res.Profile
		nodes := map[int64]*profiler.ProfileNode{}
		for _, nd := range p.Nodes {
			nodes[nd.ID] = nd
		}
		self := map[string]int64{}
		var total int64
		for i, id := range p.Samples {
			if i >= len(p.TimeDeltas) {
				break
			}
			// Each sample's time is the delta to the next one.
			d := int64(0)
			if i+1 < len(p.TimeDeltas) {
				d = p.TimeDeltas[i+1]
			}
			nd := nodes[id]
			if nd == nil {
				continue
			}
			cf := nd.CallFrame
			name := cf.FunctionName
			if name == "" {
				name = "(anonymous)"
			}
			if cf.URL != "" {
				name += " " + filepath.Base(cf.URL) + ":" + strconv.FormatInt(cf.LineNumber+1, 10)
			}
			self[name] += d
			total += d
		}
		type fn struct {
			name string
			us   int64
		}
		var fns []fn
		for k, v := range self {
			fns = append(fns, fn{k, v})
		}
		slices.SortFunc(fns, func(a, b fn) int { return int(b.us - a.us) })
		var parts []string
		for i, f := range fns {
			if i == n {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %.1f%%", f.name, 100*float64(f.us)/float64(max(total, 1))))
		}
		return strings.Join(parts, "; "), nil
	}, nil
}

// startTrace records a Chrome trace (devtools.timeline) of the page; stop
// ends it and summarises the renderer's main thread: self time by trace
// event name ("Layout", "Paint", "FunctionCall", ...), the first n, as
// shares of the wall time. For VIEW_FRAME_BENCH_TRACE=1: what the
// profiler's "(program)" is.
func startTrace(ctx context.Context) (stop func(n int) (string, error), err error) {
	var mu sync.Mutex
	var events []traceEvent
	complete := make(chan struct{})
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range e.Value {
				var te traceEvent
				if json.Unmarshal(v, &te) == nil {
					events = append(events, te)
				}
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(complete)
		}
	}); err != nil {
		return nil, err
	}
	cats := []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel", "v8", "blink", "cc", "gpu"}
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{IncludedCategories: cats}}); err != nil {
		return nil, err
	}
	start := time.Now()
	return func(n int) (string, error) {
		wall := time.Since(start)
		if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
			return "", err
		}
		select {
		case <-complete:
		case <-time.After(30 * time.Second):
			return "", fmt.Errorf("trace: no tracingComplete")
		}
		mu.Lock()
		defer mu.Unlock()
		return summariseTrace(events, wall, n), nil
	}, nil
}

type traceEvent struct {
	Name string  `json:"name"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Pid  int     `json:"pid"`
	Tid  int     `json:"tid"`
	Args struct {
		Name string `json:"name"`
	} `json:"args"`
}

// summariseTrace: self time by event name on each CrRendererMain thread.
func summariseTrace(events []traceEvent, wall time.Duration, n int) string {
	type key struct{ pid, tid int }
	mains := map[key]bool{}
	for _, e := range events {
		if e.Ph == "M" && e.Name == "thread_name" && e.Args.Name == "CrRendererMain" {
			mains[key{e.Pid, e.Tid}] = true
		}
	}
	var xs []traceEvent
	for _, e := range events {
		if e.Ph == "X" && mains[key{e.Pid, e.Tid}] {
			xs = append(xs, e)
		}
	}
	// Nesting: sorted by start (longer first on a tie), a stack of open events.
	slices.SortFunc(xs, func(a, b traceEvent) int {
		if a.Ts != b.Ts {
			return cmpFloat(a.Ts, b.Ts)
		}
		return cmpFloat(b.Dur, a.Dur)
	})
	self := map[string]float64{}
	type open struct {
		name string
		end  float64
	}
	var stack []open
	for _, e := range xs {
		for len(stack) > 0 && stack[len(stack)-1].end <= e.Ts {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			self[stack[len(stack)-1].name] -= e.Dur
		}
		self[e.Name] += e.Dur
		stack = append(stack, open{e.Name, e.Ts + e.Dur})
	}
	type use struct {
		name string
		us   float64
	}
	var uses []use
	for k, v := range self {
		uses = append(uses, use{k, v})
	}
	slices.SortFunc(uses, func(a, b use) int { return cmpFloat(b.us, a.us) })
	var parts []string
	for i, u := range uses {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f%%", u.name, 100*u.us/float64(wall.Microseconds())))
	}
	return strings.Join(parts, "; ")
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
