package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/opencitycode/citycode/sdk/client"
)

// prepare opens holders and, for decode, shows codes, and writes the bodies
// of the measured requests to a temporary file. It answers the file and
// the path to drive.
func prepare(base, app, secretHex, scenario, codeDef string, holders, perUser int) (string, string, error) {
	if codeDef == "" {
		return "", "", errors.New("-codedef is required with -scenario")
	}
	secret, err := hex.DecodeString(secretHex)
	if err != nil {
		return "", "", err
	}
	c := client.New(base, app, secret)
	ctx := context.Background()
	users := make([]string, holders)
	var bodies [][]byte
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, holders)
	sem := make(chan struct{}, 16)
	for i := range holders {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ext, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("压测用户%d", i), "certType": "RESIDENT_ID", "certNo": residentID(i)})
			var opened struct {
				UserID string `json:"userId"`
			}
			if err := c.Call(ctx, "/api/openPersonalCode", map[string]any{"cityCodeAppId": app, "codeDefId": codeDef,
				"userExt": base64.StdEncoding.EncodeToString(ext)}, &opened); err != nil {
				errs <- err
				return
			}
			users[i] = opened.UserID
			if scenario != "decode" {
				return
			}
			for range perUser {
				var shown struct {
					CodeContent string `json:"codeContent"`
				}
				if err := c.Call(ctx, "/api/showPersonalCode", map[string]any{"cityCodeAppId": app, "codeDefId": codeDef, "userId": opened.UserID}, &shown); err != nil {
					errs <- err
					return
				}
				b, _ := json.Marshal(map[string]string{"acceptOrgId": "BENCH-ORG", "codeContent": shown.CodeContent})
				mu.Lock()
				bodies = append(bodies, b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", "", err
	}
	path := "/identity/decodeIdentityCode"
	if scenario == "show" {
		path = "/api/showPersonalCode"
		for _, u := range users {
			b, _ := json.Marshal(map[string]string{"cityCodeAppId": app, "codeDefId": codeDef, "userId": u})
			bodies = append(bodies, b)
		}
	} else if scenario != "decode" {
		return "", "", fmt.Errorf("unknown scenario %q", scenario)
	}
	f, err := os.CreateTemp("", "citycode-load-*.jsonl")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	for _, b := range bodies {
		f.Write(append(b, '\n'))
	}
	return f.Name(), path, nil
}

// residentID makes the i-th valid resident ID number (with its GB 11643
// check character) of a test holder born in Xuhui in 1990.
func residentID(i int) string {
	body := fmt.Sprintf("3101041990%02d%02d%03d", 1+i/28000%12, 1+i/1000%28, i%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k := range 17 {
		sum += int(body[k]-'0') * weights[k]
	}
	return body + string("10X98765432"[sum%11])
}

// preIssue times one batch pre-issue of count empty object codes.
func preIssue(base, app, secretHex, codeDef string, count int) error {
	secret, err := hex.DecodeString(secretHex)
	if err != nil {
		return err
	}
	c := client.New(base, app, secret, client.WithHTTPClient(&http.Client{Timeout: 10 * time.Minute}))
	var out struct {
		BatchID string `json:"batchId"`
		Count   int    `json:"count"`
	}
	start := time.Now()
	if err := c.Call(context.Background(), "/openapi/v1/object-codes/batches", map[string]any{"codeDefId": codeDef, "count": count}, &out); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("/openapi/v1/object-codes/batches  %d codes in %.2fs (%.0f codes/s), batch %s\n", out.Count, el.Seconds(), float64(out.Count)/el.Seconds(), out.BatchID)
	return nil
}
