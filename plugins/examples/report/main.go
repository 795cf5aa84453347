// Command report is an example native plugin: citizens who scan a facility's
// code report a problem with a photo, follow its status by report number,
// and the facility's operator is notified through a message template.
package main

import "github.com/opencitycode/citycode/sdk/serve"

func init() { serve.Register(handler{}) }

func main() { serve.Main() }
