module github.com/example/terraform-provider-demo

go 1.19

require (
	github.com/BurntSushi/toml v1.2.0
	github.com/hashicorp/go-version v1.3.0
	golang.org/x/crypto v0.4.0
	golang.org/x/net v0.7.0
	golang.org/x/text v0.7.0
)

// Debian ships x/sys and x/term 0.3.0; x/net v0.7.0 asks for v0.5.0.
replace (
	golang.org/x/sys => golang.org/x/sys v0.3.0
	golang.org/x/term => golang.org/x/term v0.3.0
)
