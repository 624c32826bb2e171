package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestKeys_ListRotateRetire drives `qazauth keys` against an embedded store
// the way an operator would, with the same flags as serve.
func TestKeys_ListRotateRetire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keysRun := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append([]string{"keys"}, append(args, "--data-dir", dir)...), &out, &errb); code != want {
			t.Fatalf("keys %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}

	if out, _ := keysRun(0, "list"); !strings.Contains(out, "no signing keys yet") {
		t.Fatalf("list of an empty store: %q", out)
	}
	if out, _ := keysRun(0, "rotate"); !strings.Contains(out, "signs now") {
		t.Fatalf("first rotate: %q", out)
	}
	out, _ := keysRun(0, "rotate")
	if !strings.Contains(out, "created next key") {
		t.Fatalf("rotate: %q", out)
	}
	out, _ = keysRun(0, "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "KID") || !strings.Contains(lines[1], " next ") || !strings.Contains(lines[2], " current ") {
		t.Fatalf("list:\n%s", out)
	}
	current := strings.Fields(lines[2])[0]

	if out, _ := keysRun(0, "rotate"); !strings.Contains(out, "nothing to do") {
		t.Fatalf("rotate with a pending next key: %q", out)
	}
	if _, errOut := keysRun(1, "retire", current); !strings.Contains(errOut, "--force") {
		t.Fatalf("retire of the signing key without --force: %q", errOut)
	}
	// Flags after the KID, and a kid prefix.
	out, errOut := keysRun(0, "retire", current[:12], "--force")
	if !strings.Contains(out, "retired "+current) || !strings.Contains(errOut, "warning:") {
		t.Fatalf("retire --force: %q %q", out, errOut)
	}
	if out, _ := keysRun(0, "list"); !strings.Contains(out, current) || strings.Count(out, " current ") != 1 || !strings.Contains(out, " retired ") {
		t.Fatalf("list after retire:\n%s", out)
	}

	keysRun(2, "retire")
	keysRun(2, "frobnicate")
	keysRun(2, "list", "extra")
	keysRun(1, "retire", "no-such-kid")
	if _, errOut := keysRun(2, "list", "--access-token-ttl", "soon"); !strings.HasPrefix(errOut, "qazauth: QAZAUTH_ACCESS_TOKEN_TTL") {
		t.Fatalf("configuration error: %q", errOut)
	}
}
