// Command probe is a plugin that misbehaves on purpose, for the host's
// isolation tests. One source builds as WASM and as a native plugin.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/serve"
)

func init() { serve.Register(plugin.HandlerFunc(handle)) }

func main() { serve.Main() }

var sink [][]byte

func handle(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "home":
		return plugin.HTML(200, "probe ok "+req.Code.Token), nil
	case "panic":
		panic("probe panics on purpose")
	case "loop":
		for {
		}
	case "alloc":
		for {
			// Large steps reach the memory cap in a few allocations, long
			// before the call's deadline, even on a slow machine.
			sink = append(sink, make([]byte, 8<<20))
		}
	case "exit":
		os.Exit(3)
	case "slow":
		time.Sleep(50 * time.Millisecond)
		return plugin.HTML(200, "slow ok"), nil
	case "undeclared":
		_, err := host.PutFile(ctx, "x.png", "image/png", []byte("\x89PNG"))
		return plugin.HTML(200, fmt.Sprintf("files.write: %v", err)), nil
	case "peek":
		page, err := host.QueryRecords(ctx, plugin.RecordQuery{Collection: "messages"})
		if err != nil {
			return nil, err
		}
		return plugin.HTML(200, fmt.Sprintf("messages: %d", page.Total)), nil
	case "resolve":
		c, err := host.ResolveCode(ctx, req.QueryValue("code"))
		if err != nil {
			return plugin.HTML(200, fmt.Sprintf("resolve: %v", err)), nil
		}
		return plugin.HTML(200, "resolve: "+c.Token), nil
	case "caps":
		// n capability round trips that touch no database: the overhead
		// of the call path itself (transport, policy check, dispatch).
		n, _ := strconv.Atoi(req.QueryValue("n"))
		for range n {
			if _, err := host.Visitor(ctx); err != nil {
				return nil, err
			}
		}
		return plugin.HTML(200, "caps ok"), nil
	case "modify":
		c, err := host.UpdateObject(ctx, req.QueryValue("code"), map[string]string{"note": req.QueryValue("note")})
		if err != nil {
			return plugin.HTML(200, fmt.Sprintf("modify: %v", err)), nil
		}
		return plugin.HTML(200, "modify: "+string(c.Attributes)), nil
	case "admin-stats", "admin-stats-post":
		if req.Operator == nil {
			return nil, &plugin.Error{Code: "UnauthorizedOperation", Message: "operators only"}
		}
		if req.Method == "POST" && len(req.Body) == 0 {
			return nil, &plugin.Error{Code: "MissingParameter", Message: "缺少内容"}
		}
		return plugin.JSON(200, map[string]any{"operator": req.Operator.Account, "platform": req.Operator.PlatformID,
			"q": req.QueryValue("q"), "query": req.Query, "body": json.RawMessage(orNull(req.Body))})
	case "once":
		_, err := host.PutRecord(ctx, plugin.Record{Collection: "messages", ID: req.QueryValue("id"), Doc: []byte(`{"once":true}`), IfAbsent: true})
		return plugin.HTML(200, fmt.Sprintf("once: %v", err)), nil
	case "visitor":
		b, _ := json.Marshal(req.Visitor)
		return plugin.HTML(200, "visitor: "+string(b)), nil
	case "write":
		doc := []byte(fmt.Sprintf(`{"text":%q,"who":%q,"extra":"undeclared"}`, req.QueryValue("text"), req.QueryValue("who")))
		_, err := host.PutRecord(ctx, plugin.Record{Collection: "messages", ID: req.QueryValue("id"), CodeToken: req.Code.Token, Doc: doc})
		return plugin.HTML(200, fmt.Sprintf("write: %v", err)), nil
	case "go":
		// Redirects wherever it is told: the host decides what may pass.
		return &plugin.Response{Status: 302, Header: map[string]string{"Location": req.QueryValue("to")}}, nil
	case "delete":
		err := host.DeleteRecord(ctx, "messages", req.QueryValue("id"))
		return plugin.HTML(200, fmt.Sprintf("delete: %v", err)), nil
	}
	return plugin.HTML(404, "no route"), nil
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
