package templates

import (
	"slices"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ui, al, want string
	}{
		{"nothing", "", "", "en"},
		// ui_locales
		{"ui kk", "kk", "", "kk"},
		{"ui region", "ru-RU", "", "ru"},
		{"ui kk-KZ", "kk-KZ", "", "kk"},
		{"ui first match", "de fr-CA kk ru", "", "kk"},
		{"ui order", "ru kk", "", "ru"},
		{"ui case", "KK-kz", "", "kk"},
		{"ui underscore", "ru_RU", "", "ru"},
		{"ui script subtag", "kk-Cyrl-KZ", "", "kk"},
		{"ui extra spaces", "  \t de \n ru  ", "", "ru"},
		{"ui no match falls to header", "de fr", "ru", "ru"},
		{"ui beats header", "kk", "ru, en;q=0.9", "kk"},
		{"ui en beats header", "en-GB", "ru", "en"},
		{"ui not prefix", "rus kka", "", "en"},
		{"ui star ignored", "*", "ru", "ru"},
		{"ui garbage", "ru;q=1 <kk>", "", "en"},
		{"ui comma list not split", "ru,kk", "", "en"},
		// Accept-Language
		{"al single", "", "ru", "ru"},
		{"al region", "", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"},
		{"al q order", "", "en;q=0.5, kk;q=0.8, ru;q=0.7", "kk"},
		{"al default q is 1", "", "en;q=0.9, ru", "ru"},
		{"al ties by order", "", "kk, ru", "kk"},
		{"al ties by order 2", "", "ru;q=0.5, kk;q=0.5", "ru"},
		{"al unsupported first", "", "de-DE, de;q=0.9, ru;q=0.1", "ru"},
		{"al nothing supported", "", "de, fr;q=0.8", "en"},
		{"al q=0 excludes", "", "ru;q=0, kk;q=0.1", "kk"},
		{"al only excluded", "", "ru;q=0", "en"},
		{"al q=0.000", "", "kk;q=0.000, ru;q=0.001", "ru"},
		{"al best of duplicates", "", "ru;q=0.2, kk;q=0.5, ru-RU;q=0.9", "ru"},
		{"al ows", "", " kk ; q = 0.5 ,\tru;q=0.4", "kk"},
		{"al Q uppercase", "", "ru;Q=0.4, kk;q=0.3", "ru"},
		{"al other params", "", "ru;foo=bar;q=0.9, kk;q=0.8", "ru"},
		{"al empty elements", "", ",, ,ru,", "ru"},
		{"al 1.000", "", "kk;q=0.999, ru;q=1.000", "ru"},
		// "*"
		{"star", "", "*", "en"},
		{"star after named", "", "ru, *;q=0.5", "ru"},
		{"star beats lower named", "", "ru;q=0.3, *;q=0.5", "en"},
		{"star with en excluded", "", "*, en;q=0", "kk"},
		{"star with en and kk excluded", "", "en;q=0, kk;q=0, *", "ru"},
		{"star q=0", "", "*;q=0", "en"},
		{"star q=0 named", "", "*;q=0, kk;q=0.2", "kk"},
		// garbage
		{"bad q skips entry", "", "ru;q=2, kk;q=0.5", "kk"},
		{"bad q text", "", "ru;q=high, kk;q=abc", "en"},
		{"bad q too precise", "", "ru;q=0.1234, kk;q=0.1", "kk"},
		{"bad q sign", "", "ru;q=-1, kk;q=+1", "en"},
		{"bad q 1.5", "", "ru;q=1.5", "en"},
		{"bad q empty", "", "ru;q=, kk", "kk"},
		{"tag with junk", "", "r<u>, kk", "kk"},
		{"non-ASCII", "", "рус, кк, ru", "ru"},
		{"semicolons only", ";;;", ";;;,,,;q=1", "en"},
		{"NUL bytes", "\x00ru", "\x00, ru\x00, kk", "kk"},
		{"invalid UTF-8", "\xff\xfe", "\xffru, ru", "ru"},
		{"leading hyphen", "-ru", "-kk", "en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Negotiate(c.ui, c.al); got != c.want {
				t.Errorf("Negotiate(%q, %q) = %q, want %q", c.ui, c.al, got, c.want)
			}
		})
	}
}

// TestNegotiateHuge checks that only the first 20 entries count and that a
// 10 KiB value is handled.
func TestNegotiateHuge(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("de-DE;q=0.5, ", 10<<10/len("de-DE;q=0.5, ")) // ≈10 KiB
	if len(filler) < 10000 {
		t.Fatalf("filler only %d bytes", len(filler))
	}
	cases := []struct {
		name, ui, al, want string
	}{
		{"match past the cap", "", filler + "ru", "en"},
		{"match before filler", "", "kk;q=0.1, " + filler, "kk"},
		{"19 entries then match", "", strings.Repeat("de,", 19) + "ru", "ru"},
		{"20 entries then match", "", strings.Repeat("de,", 20) + "ru", "en"},
		{"one huge tag", "", "ru-" + strings.Repeat("x", 10<<10), "ru"},
		{"huge q", "", "ru;q=0." + strings.Repeat("9", 10<<10) + ", kk;q=0.1", "kk"},
		{"ui past the cap", strings.Repeat("de ", 5000) + "kk", "ru", "ru"},
		{"ui 19 then match", strings.Repeat("de ", 19) + "kk", "", "kk"},
		{"ui 20 then match", strings.Repeat("de ", 20) + "kk", "", "en"},
		{"ui whitespace only", strings.Repeat(" ", 10<<10), "", "en"},
		{"all commas", "", strings.Repeat(",", 10<<10) + "ru", "en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Negotiate(c.ui, c.al); got != c.want {
				t.Errorf("Negotiate(%.40q…, %.40q…) = %q, want %q", c.ui, c.al, got, c.want)
			}
		})
	}
}

// TestNegotiateNoAllocs: Negotiate only slices its inputs. (Not parallel:
// AllocsPerRun forbids it.)
func TestNegotiateNoAllocs(t *testing.T) {
	filler := strings.Repeat("de-DE;q=0.5, ", 800)
	allocs := testing.AllocsPerRun(10, func() { Negotiate(filler, filler) })
	if allocs > 0 {
		t.Errorf("Negotiate allocates %v times per call", allocs)
	}
}

func TestParseQ(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{
		"0": 0, "1": 1000, "0.5": 500, "0.05": 50, "0.001": 1, "0.": 0, "1.": 1000, "1.0": 1000, "1.000": 1000, "0.999": 999,
	} {
		if got, ok := parseQ(s); !ok || got != want {
			t.Errorf("parseQ(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "2", "1.001", "1.5", "0.1234", ".5", "0,5", "-0", "+1", "01", "0.a", " 1", "1e0"} {
		if got, ok := parseQ(s); ok {
			t.Errorf("parseQ(%q) = %d, want invalid", s, got)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"kk-KZ ru", "en-US,en;q=0.9"},
		{"", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"},
		{"", "*;q=0.5, en;q=0"},
		{"de", "kk;q=0.000, ru;q=1.000"},
		{"\xff", "ru;q=2, ;q=, *"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, ui, al string) {
		got := Negotiate(ui, al)
		if !slices.Contains(Locales, got) {
			t.Fatalf("Negotiate(%q, %q) = %q, not a supported locale", ui, al, got)
		}
		if again := Negotiate(ui, al); again != got {
			t.Fatalf("Negotiate(%q, %q) not deterministic: %q then %q", ui, al, got, again)
		}
		// A matching ui_locales tag always wins.
		if l := fromUILocales(ui); l != "" && got != l {
			t.Fatalf("Negotiate(%q, %q) = %q, ui_locales says %q", ui, al, got, l)
		}
	})
}
