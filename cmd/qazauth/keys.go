package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/qaznat/qazauth/keys"
	"github.com/qaznat/qazauth/server"
)

const keysUsage = `Usage: qazauth keys <command> [flags]

Manages the signing keys in the configured store: the same flags and
QAZAUTH_* variables as serve. Safe while servers run; they apply a change
within their reload interval.

Commands:
  list                       every key: kid, state, created, activates, retires, removed
  rotate [--force]           start a rotation now: create the next key (it signs once
                             every cached JWKS holds it), or promote the next key if it
                             has been published long enough; --force promotes at once
  retire KID [--force] [--remove]
                             stop signing with KID (a unique prefix will do); it stays in
                             the JWKS until its tokens expired; --remove drops it now

Run 'qazauth keys <command> --help' for the flags.
`

// keysCmd runs `qazauth keys list|rotate|retire`.
func keysCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub := args[0]
	if sub != "list" && sub != "rotate" && sub != "retire" {
		fmt.Fprintf(stderr, "qazauth keys: unknown command %q\n\n%s", sub, keysUsage)
		return 2
	}
	fs := server.FlagSet("keys "+sub, stderr)
	force, remove := new(bool), new(bool)
	if sub != "list" {
		fs.BoolVar(force, "force", false, "let a key sign at once, although cached verifiers may not know it yet")
	}
	if sub == "retire" {
		fs.BoolVar(remove, "remove", false, "also drop the key from the JWKS now (a compromised key)")
	}
	fs.Usage = func() {
		use, what := synopsis(sub)
		fmt.Fprintf(stderr, "Usage: qazauth keys %s\n\n%s\n\nFlags (the same configuration as serve):\n", use, what)
		fs.PrintDefaults()
	}
	kid, code := parseKeysArgs(fs, sub, args[1:], stderr)
	if code >= 0 {
		return code
	}
	cfg, err := server.LoadConfig(fs, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "qazauth: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	km, closeStore, err := openKeys(ctx, cfg, stderr)
	if err != nil {
		var ce *server.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "qazauth: %v\n", ce)
			return 2
		}
		fmt.Fprintf(stderr, "qazauth keys %s: %v\n", sub, err)
		return 1
	}
	defer closeStore()

	var out keys.Outcome
	switch sub {
	case "list":
		err = listKeys(ctx, km, stdout)
	case "rotate":
		out, err = km.Rotate(ctx, *force)
	case "retire":
		out, err = km.Retire(ctx, kid, keys.RetireOptions{Force: *force, Remove: *remove})
	}
	if err != nil {
		fmt.Fprintf(stderr, "qazauth keys %s: %v\n", sub, err)
		return 1
	}
	if out.Summary != "" {
		fmt.Fprintln(stdout, out.Summary)
	}
	if out.Warning != "" {
		fmt.Fprintf(stderr, "warning: %s\n", out.Warning)
	}
	return 0
}

// parseKeysArgs parses flags before and after the KID of retire; code is
// the exit status when the command must stop here, else -1.
func parseKeysArgs(fs *flag.FlagSet, sub string, args []string, stderr io.Writer) (kid string, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0
		}
		return "", 2
	}
	if sub == "retire" && fs.NArg() > 0 {
		kid = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", 2
		}
	}
	switch {
	case sub == "retire" && kid == "":
		fmt.Fprintln(stderr, "qazauth keys retire: missing KID (see 'qazauth keys list')")
		return "", 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "qazauth keys %s: unexpected argument %q\n", sub, fs.Arg(0))
		return "", 2
	}
	return kid, -1
}

// openKeys opens the configured store and a key manager with the servers'
// secret and schedule.
func openKeys(ctx context.Context, cfg *server.Config, stderr io.Writer) (*keys.Manager, func(), error) {
	policy, err := server.KeyPolicy(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, _, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := keys.NewSealer(cfg.Secret, cfg.SecretOld...)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return keys.NewManager(st, sealer, cfg.RSABits, log, keys.WithPolicy(policy)), func() { st.Close() }, nil
}

// listKeys prints the schedule, newest key first.
func listKeys(ctx context.Context, km *keys.Manager, w io.Writer) error {
	sched, err := km.Status(ctx)
	if err != nil {
		return err
	}
	if len(sched.Keys) == 0 {
		_, err := fmt.Fprintln(w, "no signing keys yet: the first start of serve (or `qazauth keys rotate`) creates one")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tGEN\tSTATE\tCREATED\tACTIVATES\tRETIRES\tREMOVED")
	for _, k := range sched.Keys {
		r := k.Record
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Generation, k.State,
			stamp(r.CreatedAt), stamp(r.ActivatesAt), stamp(k.RetiresAt), stamp(k.RemoveAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p := km.Policy()
	rotation := "manual (qazauth keys rotate)"
	if p.Rotation > 0 {
		rotation = "every " + p.Rotation.String()
	}
	_, err = fmt.Fprintf(w, "\nrotation %s; a next key is published %s before it signs; a retired key stays published %s\n",
		rotation, p.Lead(), p.Retention())
	return err
}

// synopsis returns the usage line and description of a keys command.
func synopsis(sub string) (usage, description string) {
	switch sub {
	case "rotate":
		return "rotate [--force] [flags]", "Starts a rotation now: creates the next key, which signs once every cached JWKS\n" +
			"holds it, or promotes the next key if it has been published long enough.\n" +
			"--force makes a key sign at once (cached verifiers may reject its tokens)."
	case "retire":
		return "retire KID [--force] [--remove] [flags]", "Stops signing with KID (a unique prefix will do). It stays in the JWKS until\n" +
			"the tokens it signed have expired; --remove drops it now (a compromised key).\n" +
			"Retiring the signing key promotes the next key; --force if it is not safe yet."
	}
	return "list [flags]", "Prints every signing key: kid, generation, state, and when it was created,\n" +
		"activates, retires and leaves the JWKS."
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
