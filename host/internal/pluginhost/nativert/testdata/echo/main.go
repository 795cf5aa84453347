// Command echo is a test plugin: it answers what it was asked, with the
// result of a capability call made through the host.
//
//	route plain            {"pid"}, no capability call
//	route echo             {"path", "query", "requestId", "result", "pid"}; query sleep=<ms> waits first
//	route loop, query n=N  makes N capability calls, answers {"calls": N}
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/sdk/native"
	"github.com/opencitycode/citycode/sdk/plugin"
)

func main() { native.Serve(plugin.HandlerFunc(handle)) }

func handle(ctx context.Context, h *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "plain":
		return plugin.JSON(200, map[string]any{"pid": os.Getpid()})
	case "loop":
		n, _ := strconv.Atoi(req.QueryValue("n"))
		for range n {
			if err := h.Invoke(ctx, plugin.RecordsRead, "get", nil, nil); err != nil {
				return nil, err
			}
		}
		return plugin.JSON(200, map[string]any{"calls": n})
	}
	if ms, _ := strconv.Atoi(req.QueryValue("sleep")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	var result json.RawMessage
	if err := h.Invoke(ctx, plugin.RecordsRead, "get", plugin.RecordKey{Collection: "echo", ID: req.Path}, &result); err != nil {
		return nil, err
	}
	return plugin.JSON(200, map[string]any{
		"path": req.Path, "query": req.Query, "requestId": req.ID, "result": result, "pid": os.Getpid(),
	})
}
