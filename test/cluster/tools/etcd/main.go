// Command etcd runs the upstream etcd server; it exists so the suite can build etcd from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
