//go:build tools

// Package tools only records which istio.io/istio commands this module builds,
// so that `go mod tidy` keeps their dependencies in go.mod and go.sum.
// Nothing here is compiled into a binary; see releases.json for the build commands.
package tools

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
	_ "istio.io/istio/pilot/cmd/pilot-agent"
	_ "istio.io/istio/pilot/cmd/pilot-discovery"
)
