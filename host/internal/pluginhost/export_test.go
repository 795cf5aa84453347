package pluginhost

import (
	"context"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// BindingFor exposes the landing precedence to the package's tests.
func (s *Service) BindingFor(ctx context.Context, platformID string, c *plugin.Code) (id int64, scope string, err error) {
	b, err := s.bindingFor(ctx, platformID, c)
	if b == nil || err != nil {
		return 0, "", err
	}
	return b.ID, b.Scope, nil
}
