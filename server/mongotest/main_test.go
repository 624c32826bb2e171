// Package mongotest_test runs real qazauth servers on the MongoDB backend
// against FerretDB (SQLite handler) embedded in the test binary: several
// instances sharing one database, a database outage and its recovery, and
// the refresh grant's cost.
//
// FerretDB is imported from _test.go files only, so the qazauth binary never
// links it (.ci/run checks that with `go version -m`). Set
// QAZAUTH_TEST_MONGO_URI to run the two-instance test against a real MongoDB
// as well.
package mongotest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"

	"github.com/qaznat/qazauth/server"
	"github.com/qaznat/qazauth/server/servertest"
)

// sharedURI is the FerretDB every test shares (each on its own database);
// the outage test starts its own, since it stops it.
var sharedURI string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "qazauth-ferretdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	f, err := startFerret(dir, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sharedURI = f.uri
	code := m.Run()
	if err := f.stop(10 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// ferret is an embedded FerretDB serving the SQLite databases under a
// directory.
type ferret struct {
	addr   string // host:port it listens on
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// startFerret starts FerretDB on addr ("127.0.0.1:0" for any port) with its
// SQLite files under dir. It listens when it returns.
func startFerret(dir, addr string) (*ferret, error) {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return nil, fmt.Errorf("ferretdb on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	uri := f.MongoDBURI()
	u, err := url.Parse(uri)
	if err != nil {
		cancel()
		return nil, err
	}
	return &ferret{addr: u.Host, uri: uri, cancel: cancel, done: done}, nil
}

// stop stops FerretDB: it closes its listener at once and every client
// connection after a grace of a few seconds, then closes its SQLite
// databases.
func (f *ferret) stop(timeout time.Duration) error {
	f.cancel()
	select {
	case <-f.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("ferretdb on %s did not stop within %s", f.addr, timeout)
	}
}

var dbSeq atomic.Int64

// newDBName returns a database name no other test uses.
func newDBName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano()%1_000_000_000, dbSeq.Add(1))
}

// onMongo configures a server for the MongoDB backend: instances given the
// same uri, database and secret share all state.
func onMongo(uri, db string, secret []byte) servertest.Option {
	return func(c *server.Config) {
		c.MongoURI = uri
		c.MongoDB = db
		c.Secret = secret
	}
}

// cmdCounter is a TCP proxy in front of a MongoDB-wire server that counts
// the commands clients send through it (OP_MSG requests), leaving out the
// driver's handshakes and heartbeats (hello / isMaster): each counted
// command is one round trip to the database.
type cmdCounter struct {
	ln     net.Listener
	target string
	n      atomic.Int64

	mu    sync.Mutex
	names map[string]int64
}

func startCmdCounter(tb testing.TB, target string) *cmdCounter {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &cmdCounter{ln: ln, target: target, names: map[string]int64{}}
	go c.serve()
	tb.Cleanup(func() { ln.Close() })
	return c
}

// uri is the MongoDB URI of the proxy.
func (c *cmdCounter) uri() string { return "mongodb://" + c.ln.Addr().String() + "/" }

// count returns the commands counted so far.
func (c *cmdCounter) count() int64 { return c.n.Load() }

// byName returns the commands counted so far, by command name.
func (c *cmdCounter) byName() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int64, len(c.names))
	for k, v := range c.names {
		m[k] = v
	}
	return m
}

// since returns the commands counted since byName returned before.
func (c *cmdCounter) since(before map[string]int64) map[string]int64 {
	m := c.byName()
	for k, v := range before {
		if m[k] -= v; m[k] == 0 {
			delete(m, k)
		}
	}
	return m
}

func (c *cmdCounter) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		go c.pipe(conn)
	}
}

func (c *cmdCounter) pipe(client net.Conn) {
	defer client.Close()
	srv, err := net.Dial("tcp", c.target)
	if err != nil {
		return
	}
	defer srv.Close()
	go func() {
		_, _ = io.Copy(client, srv)
		client.Close()
	}()
	hdr := make([]byte, 16)
	for {
		if _, err := io.ReadFull(client, hdr); err != nil {
			return
		}
		n := int(binary.LittleEndian.Uint32(hdr[0:4]))
		if n < 16 || n > 48<<20 {
			return
		}
		body := make([]byte, n-16)
		if _, err := io.ReadFull(client, body); err != nil {
			return
		}
		if op := binary.LittleEndian.Uint32(hdr[12:16]); op == 2013 { // OP_MSG
			if name := commandName(body); name != "hello" && name != "isMaster" && name != "ismaster" {
				c.n.Add(1)
				c.mu.Lock()
				c.names[name]++
				c.mu.Unlock()
			}
		}
		if _, err := srv.Write(hdr); err != nil {
			return
		}
		if _, err := srv.Write(body); err != nil {
			return
		}
	}
}

// commandName is the first key of an OP_MSG body section (kind 0): flag
// bits (4 bytes), section kind (1), document length (4), element type (1),
// then the element's name.
func commandName(body []byte) string {
	const start = 4 + 1 + 4 + 1
	if len(body) <= start || body[4] != 0 {
		return "?"
	}
	for i := start; i < len(body); i++ {
		if body[i] == 0 {
			return string(body[start:i])
		}
	}
	return "?"
}
