//go:build tools

// Package tools records the command this module builds, so that `go mod tidy`
// keeps its dependencies in go.mod and go.sum. It is not compiled into anything:
// images/tools/build-tools.ts runs `go build sigs.k8s.io/kwok/cmd/kwok` here.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
