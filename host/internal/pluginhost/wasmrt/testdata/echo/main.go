// Command echo is a well-behaved test plugin: it answers its request's path
// and query, and makes capability calls through the host.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
	"github.com/opencitycode/citycode/sdk/wasm"
)

func init() { wasm.Handle(plugin.HandlerFunc(serve)) }

func main() {}

func serve(ctx context.Context, host *plugin.Host, req *plugin.Request) (*plugin.Response, error) {
	switch req.Route {
	case "echo":
		// One capability call; the host's answer goes into the page.
		var got struct {
			Greeting string `json:"greeting"`
		}
		if err := host.Invoke(ctx, plugin.RecordsRead, "get", map[string]string{"q": req.QueryValue("q")}, &got); err != nil {
			return nil, err
		}
		return plugin.HTML(200, fmt.Sprintf("<p>path=%s q=%s greeting=%s</p>",
			html.EscapeString(req.Path), html.EscapeString(req.QueryValue("q")), html.EscapeString(got.Greeting))), nil
	case "body":
		// What arrived of the body: its length and digest.
		sum := sha256.Sum256(req.Body)
		return plugin.HTML(200, fmt.Sprintf("body=%d sha256=%x", len(req.Body), sum[:8])), nil
	case "log":
		fmt.Println("echo: serving", req.Path)
		fmt.Print("echo: no newline at the end")
		return plugin.HTML(200, "logged"), nil
	case "calls":
		n, _ := strconv.Atoi(req.QueryValue("n"))
		for range n {
			if err := host.Invoke(ctx, plugin.EventsWrite, "ping", nil, nil); err != nil {
				return nil, err
			}
		}
		return plugin.HTML(200, "called "+strconv.Itoa(n)), nil
	case "sleep":
		time.Sleep(time.Minute)
		return plugin.HTML(200, "slept"), nil
	case "fail":
		return nil, &plugin.Error{Code: plugin.ErrNotFound + ".Record", Message: "no record " + req.Path}
	case "oops":
		return nil, errors.New("oops at " + req.Path)
	}
	return plugin.HTML(200, "ok"), nil
}
