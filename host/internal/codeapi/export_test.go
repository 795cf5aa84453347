package codeapi

import "context"

// NotifyTrafficForTest exposes the transit notification handler to tests.
func NotifyTrafficForTest(p *Payments, ctx context.Context, in *OrderIn) (*HandleOut, error) {
	return p.notifyTraffic(ctx, in)
}
