package interop

import (
	"fmt"
	"sync"
	"time"
)

// Metrics an alert template measures.
const (
	MetricFailureRate = "failure_rate" // failures per 100 parses in the window
	MetricVolume      = "volume"       // parses in the window
)

// maxWindow is the longest window a rule may watch, in seconds.
const maxWindow = 3600

// tally counts one business code's parses and failures per second over
// the last maxWindow seconds, in memory: evaluating a rule after a parse
// sums at most maxWindow slots and touches no database. Each slot
// remembers which second it counts, so a slot left from an earlier lap of
// the ring is never mistaken for a recent one. Safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	second   [maxWindow]int64
	total    [maxWindow]int64
	failures [maxWindow]int64
}

func slot(sec int64) int { return int(((sec % maxWindow) + maxWindow) % maxWindow) }

// add counts a parse at now.
func (t *tally) add(now time.Time, failed bool) {
	sec := now.Unix()
	i := slot(sec)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.second[i] != sec {
		t.second[i], t.total[i], t.failures[i] = sec, 0, 0
	}
	t.total[i]++
	if failed {
		t.failures[i]++
	}
}

// sum answers the parses and failures of the window seconds that end
// with now's second.
func (t *tally) sum(now time.Time, window int) measurement {
	window = min(max(window, 1), maxWindow)
	end := now.Unix()
	var m measurement
	t.mu.Lock()
	defer t.mu.Unlock()
	for sec := end - int64(window) + 1; sec <= end; sec++ {
		if i := slot(sec); t.second[i] == sec {
			m.Total += t.total[i]
			m.Failures += t.failures[i]
		}
	}
	return m
}

// measurement is what a window saw.
type measurement struct {
	Total    int64
	Failures int64
}

// judge answers a rule's measured value over m and whether it reaches the
// threshold (value >= threshold). A failure rate is in percent and is not
// judged on fewer than minSamples parses, so three failures out of four
// at night do not page anyone; a volume counts parses.
func judge(metric string, threshold float64, minSamples int64, m measurement) (value float64, fire bool) {
	switch metric {
	case MetricFailureRate:
		if m.Total == 0 || m.Total < minSamples {
			return 0, false
		}
		value = float64(m.Failures) * 100 / float64(m.Total)
	case MetricVolume:
		value = float64(m.Total)
	default:
		return 0, false
	}
	return value, value >= threshold
}

// reason says, for people, why a rule fired.
func reason(templateName, metric string, value, threshold float64, window int, m measurement) string {
	if metric == MetricFailureRate {
		return fmt.Sprintf("%s %.1f%% 达到阈值 %g%%（%d 秒内解析 %d 次，失败 %d 次）", templateName, value, threshold, window, m.Total, m.Failures)
	}
	return fmt.Sprintf("%s %d 次达到阈值 %g 次（%d 秒内，失败 %d 次）", templateName, m.Total, threshold, window, m.Failures)
}
