// Command terraform-provider-demo is provguard's demo "provider": a small Go program whose module
// graph looks like a real provider's (golang.org/x/crypto, golang.org/x/net, golang.org/x/text,
// a mixed-case module path, a hashicorp library), built offline from Debian's Go sources.
package main

import (
	"os"

	"github.com/BurntSushi/toml"
	goversion "github.com/hashicorp/go-version"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/idna"
)

// version is set by GoReleaser-style -ldflags "-X main.version=…".
var version = "dev"

type config struct {
	Name string `toml:"name"`
}

func main() {
	var c config
	if _, err := toml.Decode("name = \"demo\"", &c); err != nil {
		os.Exit(1)
	}
	v, err := goversion.NewVersion(version)
	if err != nil {
		v = goversion.Must(goversion.NewVersion("0.0.0"))
	}
	host, _ := idna.ToASCII("bücher.example")
	cfg := ssh.ClientConfig{User: c.Name, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	os.Stdout.WriteString(cfg.User + " " + v.String() + " " + host + "\n")
}
