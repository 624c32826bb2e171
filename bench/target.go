package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// notLoopbackError is returned for any target outside 127.0.0.0/8 and ::1:
// this tool generates load and must never be pointed at another machine.
type notLoopbackError struct {
	addr string // the offending address
}

func (e *notLoopbackError) Error() string {
	return e.addr + " is not a loopback address (only 127.0.0.0/8, ::1 and names resolving only to them are allowed)"
}

// resolver is the part of *net.Resolver the loopback check uses.
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// parseTarget parses the issuer URL and checks that its host is loopback:
// an IP literal must be loopback itself, a name must resolve to loopback
// addresses only. It returns the URL without a trailing slash.
func parseTarget(ctx context.Context, raw string, r resolver) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse -url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: scheme must be http or https", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("-url %q: want an issuer URL without credentials, query or fragment", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("-url %q: no host", raw)
	}
	if err := checkLoopbackHost(ctx, host, r); err != nil {
		return nil, fmt.Errorf("-url %q: %w", raw, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// checkLoopbackHost accepts an IP literal that is loopback, or a name whose
// every resolved address is loopback.
func checkLoopbackHost(ctx context.Context, host string, r resolver) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !isLoopback(ip) {
			return &notLoopbackError{addr: host}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return fmt.Errorf("resolve %s: no addresses", host)
	}
	for _, ip := range ips {
		if !isLoopback(ip) {
			return fmt.Errorf("%s resolves to %s: %w", host, ip, &notLoopbackError{addr: ip.String()})
		}
	}
	return nil
}

// isLoopback reports whether ip is in 127.0.0.0/8 or is ::1 (IPv4-mapped
// IPv6 addresses count as their IPv4 address).
func isLoopback(ip netip.Addr) bool { return ip.Unmap().IsLoopback() }

// dialLoopbackOnly is a net.Dialer Control function: it refuses, at connect
// time, any address that is not loopback. It backs up parseTarget against
// anything resolving differently later (DNS changes, redirects, proxies).
func dialLoopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	if !isLoopback(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", network, &notLoopbackError{addr: address})
	}
	return nil
}

// newHTTPClient returns a client whose one transport keeps an idle
// keep-alive connection for each of conns workers, never uses a proxy,
// never follows redirects (their status is counted as it is), and can only
// connect to loopback addresses.
func newHTTPClient(conns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: dialLoopbackOnly}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
