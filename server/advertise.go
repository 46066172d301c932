package server

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// The addresses a node gives the others.
//
// Members dial each other's raft address, followers forward writes to the
// leader's http and s3 addresses, and clients (the Go client, minikv
// bench, anything reading /v1/cluster) use all of them, so each must be an
// address other machines can connect to. A listen address on every
// address of the host (0.0.0.0:7070, [::]:7070, :7070), as in a
// container, is not one. For each listener, this node gives:
//
//  1. advertise.<name>, if set;
//  2. else the address in this node's [[cluster.members]] entry, if any;
//  3. else the listen address, where a wildcard becomes the loopback
//     address with the same port: usable by clients on the host, and so
//     allowed only in a cluster of this node alone. A node that joins, or
//     one of several listed in cluster.members, is refused at start-up,
//     naming the key to set.
//
// In a cluster listed in cluster.members, every node uses that list, so an
// advertise.<name> that differs from this node's entry is refused too.

// endpoint is one of the node's listeners.
type endpoint struct {
	name      string                // "http", "rpc", "raft", "s3"
	listen    string                // the listen address ("" for s3: off)
	advertise string                // advertise.<name>
	url       bool                  // advertised as http://host:port
	of        func(*Member) *string // the field of a Member
}

func (cfg *Config) endpoints() []endpoint {
	return []endpoint{
		{"raft", cfg.Listen.Raft, cfg.Advertise.Raft, false, func(m *Member) *string { return &m.Raft }},
		{"http", cfg.Listen.HTTP, cfg.Advertise.HTTP, true, func(m *Member) *string { return &m.HTTP }},
		{"rpc", cfg.Listen.RPC, cfg.Advertise.RPC, false, func(m *Member) *string { return &m.RPC }},
		{"s3", cfg.Listen.S3, cfg.Advertise.S3, true, func(m *Member) *string { return &m.S3 }},
	}
}

// self is this node as a member: what it advertises when it forms a
// cluster of itself, or asks to join one.
func (cfg *Config) self() Member {
	m := Member{ID: cfg.ID}
	for _, e := range cfg.endpoints() {
		*e.of(&m) = cfg.advertised(e)
	}
	return m
}

// advertised is what this node gives for e ("" for an S3 API that is off).
func (cfg *Config) advertised(e endpoint) string {
	if e.advertise != "" {
		return e.advertise
	}
	if m, ok := cfg.ownEntry(); ok && *e.of(&m) != "" {
		return *e.of(&m)
	}
	addr := e.listen
	switch {
	case addr == "":
		return ""
	case listensEverywhere(addr):
		addr = loopbackOf(addr)
	}
	if e.url {
		return "http://" + addr
	}
	return addr
}

// ownEntry returns this node's entry in cluster.members, if it has one.
func (cfg *Config) ownEntry() (Member, bool) {
	for _, m := range cfg.Cluster.Members {
		if m.ID == cfg.ID && m.ID != 0 {
			return m, true
		}
	}
	return Member{}, false
}

// checkAdvertised applies the rules above, and refuses any address of a
// member, or advertised, that is no address to connect to. In a cluster of
// this node alone it fills in its own entry's missing addresses.
func (cfg *Config) checkAdvertised(bad func(format string, args ...any)) {
	for _, m := range cfg.Cluster.Members {
		for _, e := range cfg.endpoints() {
			if a := *e.of(&m); a != "" && !connectable(a) {
				bad("cluster.members: member %d's %s %q is every address of a host, not one to connect to: give the address other members and clients reach it at", m.ID, e.name, a)
			}
		}
	}
	own, hasOwn := cfg.ownEntry()
	alone := cfg.Cluster.Join == "" && len(cfg.Cluster.Members) <= 1
	for _, e := range cfg.endpoints() {
		if e.advertise != "" {
			if !connectable(e.advertise) {
				bad("advertise.%s %q is every address of a host, not one to connect to", e.name, e.advertise)
			}
			if hasOwn && *e.of(&own) != "" && *e.of(&own) != e.advertise && !alone {
				bad("advertise.%s %q differs from this node's [[cluster.members]] entry (%q): every member dials the address in cluster.members", e.name, e.advertise, *e.of(&own))
			}
			continue
		}
		if e.listen == "" || !listensEverywhere(e.listen) || hasOwn && *e.of(&own) != "" {
			continue
		}
		if alone {
			if hasOwn { // a one-member list: fill in what it lacks
				*e.of(&cfg.Cluster.Members[0]) = cfg.advertised(e)
			}
			continue
		}
		_, port, _ := net.SplitHostPort(e.listen)
		example := net.JoinHostPort("10.0.0.1", port)
		if e.url {
			example = "http://" + example
		}
		where := "set advertise." + e.name
		if cfg.Cluster.Join == "" {
			where = "set " + e.name + " in this node's [[cluster.members]] entry (id = " + strconv.FormatUint(cfg.ID, 10) + ")"
		}
		bad("listen.%s %q listens on every address of this host, which is no address for the other members to reach it at: "+
			"%s to the address they reach it at, such as %q (or listen on that address)", e.name, e.listen, where, example)
	}
}

// connectable reports whether addr (host:port, or a URL) names a host to
// connect to, rather than every address of one (0.0.0.0, ::, or none).
func connectable(addr string) bool {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr // host:port, as the dialers read it
	}
	u, err := url.Parse(addr)
	if err != nil {
		return true // not this check's business: dialing it will say what is wrong
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() != "" && (ip == nil || !ip.IsUnspecified())
}

// listensEverywhere reports whether a listen address (host:port) is the
// unspecified address, 0.0.0.0 or ::, or has no host: a socket on every
// address of the host.
func listensEverywhere(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// loopbackOf is addr with its host replaced by the loopback address of
// the same family.
func loopbackOf(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return net.JoinHostPort("::1", port)
	}
	return net.JoinHostPort("127.0.0.1", port)
}
