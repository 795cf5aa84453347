package scenes

import "github.com/opencitycode/citycode/host/internal/httpapi"

// Routes declares the console's routes and the clients' calls that are not
// configuration pages (those are PageRoutes, conditional on their ETag).
func (s *Service) Routes() []*httpapi.Route {
	var out []*httpapi.Route
	for _, rs := range [][]*httpapi.Route{s.TypeRoutes(), s.SceneRoutes(), s.ServiceRoutes(), s.ServiceListRoutes(), s.CounterpartRoutes(), s.ExcellentRoutes(), s.ClientRoutes()} {
		out = append(out, rs...)
	}
	return out
}
