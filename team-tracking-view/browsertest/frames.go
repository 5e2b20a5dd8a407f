package browsertest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
)

// FrameStats describe the page's animation frames over a sample: how
// smoothly the map runs. A 60 Hz display gives intervals near 16.7 ms.
type FrameStats struct {
	Frames int
	Sample time.Duration
	Median time.Duration
	P95    time.Duration
	Max    time.Duration
}

func (f *FrameStats) String() string {
	return fmt.Sprintf("%d frames in %v (%.0f/s), interval median %v, p95 %v, max %v",
		f.Frames, f.Sample, float64(f.Frames)/f.Sample.Seconds(), f.Median, f.P95, f.Max)
}

// sampleFrames records requestAnimationFrame timestamps in the page for d.
func sampleFrames(ctx context.Context, d time.Duration) (*FrameStats, error) {
	script := fmt.Sprintf(`new Promise((resolve) => {
		const times = [];
		const step = (t) => {
			times.push(t);
			if (t - times[0] < %d) requestAnimationFrame(step); else resolve(times);
		};
		requestAnimationFrame(step);
	})`, d.Milliseconds())
	times, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("sample animation frames: %w", err)
	}
	if len(times) < 2 {
		return nil, fmt.Errorf("sample animation frames: only %d frames", len(times))
	}
	intervals := make([]float64, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		intervals = append(intervals, times[i]-times[i-1])
	}
	slices.Sort(intervals)
	ms := func(v float64) time.Duration {
		return time.Duration(v * float64(time.Millisecond)).Round(100 * time.Microsecond)
	}
	return &FrameStats{
		Frames: len(intervals),
		Sample: ms(times[len(times)-1] - times[0]),
		Median: ms(intervals[len(intervals)/2]),
		P95:    ms(intervals[len(intervals)*95/100]),
		Max:    ms(intervals[len(intervals)-1]),
	}, nil
}
