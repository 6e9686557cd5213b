// Command kube-node is one binary that runs kubelet, kubeadm, kubectl or
// kube-proxy from k8s.io/kubernetes, picked by the name it was started as
// (symlinks /usr/bin/kubelet etc.) or by its first argument. One link step
// instead of four: the machine has 2 cores.
//
// Each branch does what the upstream main package of that command does
// (k8s.io/kubernetes v1.36.1 cmd/kubelet, cmd/kubeadm, cmd/kubectl,
// cmd/kube-proxy).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	kubeadm "k8s.io/kubernetes/cmd/kubeadm/app"
	kubeadmerrors "k8s.io/kubernetes/cmd/kubeadm/app/util/errors"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var commands = map[string]func(){
	"kubelet": func() {
		os.Exit(cli.Run(kubelet.NewKubeletCommand(context.Background())))
	},
	"kubeadm": func() {
		kubeadmerrors.HandleError(kubeadm.Run())
	},
	"kubectl": func() {
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
		if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
	},
	"kube-proxy": func() {
		os.Exit(cli.Run(proxy.NewProxyCommand()))
	},
}

func main() {
	self := filepath.Base(os.Args[0])
	run, ok := commands[self]
	if !ok {
		if len(os.Args) < 2 || commands[os.Args[1]] == nil {
			fmt.Fprintf(os.Stderr, "usage: %s kubelet|kubeadm|kubectl|kube-proxy [ARGS]\n", self)
			os.Exit(2)
		}
		run = commands[os.Args[1]]
		// the command reads os.Args[1:]: drop the command name
		os.Args = append([]string{os.Args[1]}, os.Args[2:]...)
	}
	run()
}
