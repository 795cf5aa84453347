// Command citycode-load drives a running host with signed open-API calls
// over keep-alive connections, closed-loop (each worker sends its next
// request when the previous answer arrived), and prints throughput, latency
// percentiles and errors.
//
//	citycode-load -url http://127.0.0.1:8080 -app cc... -secret <hex> \
//	    -path /api/getAppInfo -body '{}' -c 64 -d 20s
//	citycode-load ... -path /identity/decodeIdentityCode \
//	    -bodies codes.jsonl           # one JSON body per line, used round-robin
//	citycode-load ... -scenario decode -codedef R0001
//	    # opens 100 holders, shows 20 codes each, then decodes them round-robin
//	citycode-load ... -scenario show -codedef R0001
//
// It is a separate process so the host is measured as clients see it; on a
// shared machine compare its figures with a ceiling measured the same way.
// Each worker drives its own connection from its own goroutine (see conn),
// so the generator spends as little of a shared machine's CPU as it can
// while still signing every request with a fresh nonce.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "host base URL")
		app      = flag.String("app", "", "cityCodeAppId")
		secret   = flag.String("secret", "", "app secret (hex)")
		path     = flag.String("path", "/api/getAppInfo", "API path")
		body     = flag.String("body", "{}", "JSON body (when -bodies is not given)")
		bodies   = flag.String("bodies", "", "file with one JSON body per line, used round-robin")
		workers  = flag.Int("c", 64, "concurrent workers (keep-alive connections)")
		duration = flag.Duration("d", 10*time.Second, "how long to run")
		warmup   = flag.Duration("warmup", 2*time.Second, "run this long before measuring")
		asJSON   = flag.Bool("json", false, "print the result as JSON")
		scenario = flag.String("scenario", "", "decode | show: prepare holders and codes of -codedef first")
		codeDef  = flag.String("codedef", "", "identity rule (codeDefId) for -scenario")
		holders  = flag.Int("holders", 100, "holders to open for -scenario")
		perUser  = flag.Int("codes", 20, "codes to show per holder for -scenario decode")
		count    = flag.Int("count", 1000000, "codes per batch for -scenario preissue")
		cpuProf  = flag.String("cpuprofile", "", "write the load generator's own CPU profile of the measured run here")
	)
	flag.Parse()
	if *scenario == "preissue" {
		if err := preIssue(*base, *app, *secret, *codeDef, *count); err != nil {
			fmt.Fprintln(os.Stderr, "citycode-load:", err)
			os.Exit(1)
		}
		return
	}
	if *scenario != "" {
		file, p, err := prepare(*base, *app, *secret, *scenario, *codeDef, *holders, *perUser)
		if err != nil {
			fmt.Fprintln(os.Stderr, "citycode-load: prepare:", err)
			os.Exit(1)
		}
		defer os.Remove(file)
		*bodies, *path = file, p
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "citycode-load:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*base, *app, *secret, *path, *body, *bodies, *workers, *warmup, *duration, *asJSON); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "citycode-load:", err)
		os.Exit(1)
	}
}

// Result is what a run measured.
type Result struct {
	Path       string         `json:"path"`
	Workers    int            `json:"workers"`
	Seconds    float64        `json:"seconds"`
	Requests   int64          `json:"requests"`
	OK         int64          `json:"ok"`
	Errors     map[string]int `json:"errors"`
	Throughput float64        `json:"throughputPerSecond"`
	P50ms      float64        `json:"p50ms"`
	P90ms      float64        `json:"p90ms"`
	P99ms      float64        `json:"p99ms"`
	Maxms      float64        `json:"maxms"`
}

func run(base, app, secretHex, path, body, bodiesFile string, workers int, warmup, duration time.Duration, asJSON bool) error {
	secret, err := hex.DecodeString(secretHex)
	if err != nil || app == "" {
		return errors.New("-app and -secret (hex) are required")
	}
	bodies := [][]byte{[]byte(body)}
	if bodiesFile != "" {
		if bodies, err = readLines(bodiesFile); err != nil {
			return err
		}
	}
	payloads := make([]payload, len(bodies))
	for i, b := range bodies {
		payloads[i] = newPayload(b)
	}
	t, err := newTarget(base, app, secret, path)
	if err != nil {
		return err
	}

	var measuring atomic.Bool
	var next atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), warmup+duration)
	defer cancel()
	// A request still unanswered this long after the run is a transport
	// error; the answers of requests sent before the end are not counted.
	deadline := time.Now().Add(warmup + duration + 10*time.Second)
	type workerResult struct {
		lat    []time.Duration
		errors map[string]int
		ok     int64
	}
	results := make([]workerResult, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			r.errors = map[string]int{}
			r.lat = make([]time.Duration, 0, 1<<16)
			c := newConn(t)
			defer c.close()
			for ctx.Err() == nil {
				p := payloads[next.Add(1)%uint64(len(payloads))]
				t0 := time.Now()
				status, raw, err := c.do(p, deadline)
				el := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				if ctx.Err() != nil {
					break
				}
				r.lat = append(r.lat, el)
				switch {
				case err != nil:
					r.errors["transport"]++
				case status != http.StatusOK:
					r.errors[errorCode(status, raw)]++
				default:
					r.ok++
				}
			}
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	res := Result{Path: path, Workers: workers, Seconds: elapsed, Errors: map[string]int{}}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		res.OK += r.ok
		for k, v := range r.errors {
			res.Errors[k] += v
		}
	}
	res.Requests = int64(len(all))
	if len(all) > 0 {
		slices.Sort(all)
		pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
		res.P50ms, res.P90ms, res.P99ms, res.Maxms = pct(0.50), pct(0.90), pct(0.99), pct(1)
		res.Throughput = float64(res.Requests) / elapsed
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%s  workers=%d  %.1fs  requests=%d ok=%d errors=%v\n", path, workers, elapsed, res.Requests, res.OK, res.Errors)
	fmt.Printf("  throughput %.0f req/s   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms\n",
		res.Throughput, res.P50ms, res.P90ms, res.P99ms, res.Maxms)
	return nil
}

func errorCode(status int, raw []byte) string {
	var env struct {
		Response struct {
			Error *struct{ Code string }
		}
	}
	if json.Unmarshal(raw, &env) == nil && env.Response.Error != nil {
		return env.Response.Error.Code
	}
	return fmt.Sprintf("HTTP %d", status)
}

func readLines(name string) ([][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no bodies", name)
	}
	return out, sc.Err()
}
