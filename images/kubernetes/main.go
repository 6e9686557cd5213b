// Command kube-control-plane is one binary that runs kube-apiserver,
// kube-controller-manager or kube-scheduler from k8s.io/kubernetes.
//
// It picks the component from the name it was started as (symlinks named
// kube-apiserver, kube-controller-manager, kube-scheduler), or else from its
// first argument:
//
//	kube-control-plane kube-apiserver --etcd-servers=...
//	kube-apiserver --etcd-servers=...
//
// One binary instead of three shares the link step and the disk space.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones, as the upstream mains do

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func names() string {
	list := make([]string, 0, len(components))
	for name := range components {
		list = append(list, name)
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}

func main() {
	self := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	newCommand, ok := components[self]
	if !ok {
		if len(os.Args) < 2 {
			fmt.Fprintf(os.Stderr, "usage: %s COMPONENT [FLAGS]\ncomponents: %s\n", self, names())
			os.Exit(2)
		}
		newCommand, ok = components[os.Args[1]]
		if !ok {
			fmt.Fprintf(os.Stderr, "%s: unknown component %q; components: %s\n", self, os.Args[1], names())
			os.Exit(2)
		}
		// cobra reads os.Args[1:]; drop the component name.
		os.Args = append([]string{os.Args[1]}, os.Args[2:]...)
	}
	os.Exit(cli.Run(newCommand()))
}
