package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
)

var allPages = []Page{LoginPage, ConsentPage, ErrorPage, LoggedOutPage}

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func render(t testing.TB, r *Renderer, p Page, d Data) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, p, d); err != nil {
		t.Fatalf("Render(%v, %+v): %v", p, d, err)
	}
	return buf.String()
}

// fullData fills every field, so that every page shows everything it can.
func fullData(locale string) Data {
	return Data{
		Locale:     locale,
		Nonce:      "bm9uY2U",
		Action:     "/oauth2/auth?client_id=qaznat-mobile&response_type=code&state=xyz",
		CSRFField:  "_csrf",
		CSRFToken:  "tok123",
		ClientName: "Qaznat",
		Username:   "aigerim",
		Error:      ErrInvalidCredentials,
		Scopes:     []string{"openid", "profile", "email", "offline_access", "translate", "videos:read"},
		ErrorCode:  "invalid_request",
		ErrorText:  "The redirect_uri is not registered.",
	}
}

var placeholderRE = regexp.MustCompile(`\{[a-z]+\}`)

func hasCyrillic(s string) bool {
	for _, c := range s {
		if unicode.Is(unicode.Cyrillic, c) {
			return true
		}
	}
	return false
}

// TestMessagesComplete walks the message table: every key has a text in
// every locale and no others, Kazakh and Russian texts are in Cyrillic and
// English ones are not, and all of a key's texts have the same placeholder.
func TestMessagesComplete(t *testing.T) {
	t.Parallel()
	if len(messages) == 0 {
		t.Fatal("empty message table")
	}
	for key, texts := range messages {
		for _, l := range Locales {
			if strings.TrimSpace(texts[l]) == "" {
				t.Errorf("%s: no %s text", key, l)
			}
		}
		for l := range texts {
			if !slices.Contains(Locales, l) {
				t.Errorf("%s: text for unsupported locale %q", key, l)
			}
		}
		if hasCyrillic(texts["en"]) {
			t.Errorf("%s: en text %q has Cyrillic letters", key, texts["en"])
		}
		for _, l := range []string{"kk", "ru"} {
			if !hasCyrillic(texts[l]) {
				t.Errorf("%s: %s text %q looks untranslated", key, l, texts[l])
			}
		}
		want := placeholderRE.FindAllString(texts["en"], -1)
		if len(want) > 1 {
			t.Errorf("%s: more than one placeholder in %q", key, texts["en"])
		}
		for _, l := range Locales {
			if got := placeholderRE.FindAllString(texts[l], -1); !slices.Equal(got, want) {
				t.Errorf("%s: %s placeholders %q, en has %q", key, l, got, want)
			}
			if strings.Count(texts[l], "{") != len(want) || strings.Count(texts[l], "}") != len(want) {
				t.Errorf("%s: %s text %q has stray braces", key, l, texts[l])
			}
		}
	}
}

// TestTemplateKeys checks that every key the templates name is in the
// message table, and that Tf is only used with texts that have a
// placeholder.
func TestTemplateKeys(t *testing.T) {
	t.Parallel()
	callRE := regexp.MustCompile(`\.(Tf?) "([^"]+)"`)
	found := 0
	err := fs.WalkDir(files, "html", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		for _, m := range callRE.FindAllStringSubmatch(string(b), -1) {
			found++
			fn, key := m[1], m[2]
			if !hasText(key) {
				t.Errorf("%s: key %q is not in the message table", path, key)
				continue
			}
			if fn == "Tf" && !placeholderRE.MatchString(messages[key]["en"]) {
				t.Errorf("%s: Tf %q: text has no placeholder", path, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Fatalf("found only %d text keys in the templates; is the pattern stale?", found)
	}
}

func TestLocales(t *testing.T) {
	t.Parallel()
	if !slices.Equal(Locales, locales[:]) {
		t.Errorf("Locales = %q, internal list %q", Locales, locales)
	}
	if Locales[0] != defaultLocale {
		t.Errorf("Locales[0] = %q, default %q", Locales[0], defaultLocale)
	}
}

// TestRenderAll renders every page in every locale (and in unsupported
// ones, which get English) and checks what all pages share.
func TestRenderAll(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	titleKey := map[Page]string{
		LoginPage:     "login.title",
		ConsentPage:   "consent.title",
		ErrorPage:     "error.title",
		LoggedOutPage: "loggedout.title",
	}
	cases := []struct{ locale, lang string }{
		{"en", "en"}, {"kk", "kk"}, {"ru", "ru"},
		{"", "en"}, {"de", "en"}, {"RU", "en"}, {"ru-RU", "en"}, {`"><script>`, "en"},
	}
	for _, p := range allPages {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%v/%q", p, c.locale), func(t *testing.T) {
				t.Parallel()
				out := render(t, r, p, fullData(c.locale))
				if !strings.HasPrefix(out, "<!doctype html>\n<html lang=\""+c.lang+"\">") {
					t.Errorf("page does not start with doctype and lang=%q:\n%.200s", c.lang, out)
				}
				for _, want := range []string{
					`<meta charset="utf-8">`,
					`<meta name="viewport" content="width=device-width, initial-scale=1">`,
					`<style nonce="bm9uY2U">`,
					"<title>" + text(c.lang, titleKey[p]) + "</title>",
					"<h1>" + text(c.lang, titleKey[p]) + "</h1>",
					"</html>",
				} {
					if !strings.Contains(out, want) {
						t.Errorf("missing %q", want)
					}
				}
				checkSafe(t, out)
				for key := range messages {
					if strings.Contains(out, key) {
						t.Errorf("untranslated key %q in page", key)
					}
				}
				if c.lang != "en" && strings.Contains(out, messages[titleKey[p]]["en"]) {
					t.Errorf("English title in %s page", c.lang)
				}
			})
		}
	}
}

// checkSafe asserts what no page may contain: scripts, inline event
// handlers, external resources, style attributes, or a <style> without the
// nonce.
func checkSafe(t *testing.T, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, bad := range []string{
		"<script", "javascript:", " onclick", " onload", " onerror", " onsubmit",
		"<link", "<img", "<iframe", "@import", "url(", "http://", "https://",
		" style=", "{{", "zgotmplz",
	} {
		if strings.Contains(lower, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if n := strings.Count(lower, "<style"); n != 1 {
		t.Errorf("%d <style> elements, want 1", n)
	}
	if strings.Count(out, `<style nonce="`) != 1 {
		t.Errorf("<style> without nonce")
	}
}

func TestNonceOmittedWhenEmpty(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	d := fullData("en")
	d.Nonce = ""
	out := render(t, r, LoginPage, d)
	if !strings.Contains(out, "<style>\n") {
		t.Errorf("want a bare <style> without nonce:\n%.600s", out)
	}
	d.Nonce = `a"b`
	out = render(t, r, LoginPage, d)
	if !strings.Contains(out, `<style nonce="a&#34;b">`) {
		t.Errorf("nonce not escaped:\n%.600s", out)
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	const evil = `<script>alert("x")</script>`
	const escaped = `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`
	d := Data{
		Locale:     "kk",
		Nonce:      "n",
		Action:     "/oauth2/auth?a=1&b=%3Cx%3E",
		CSRFField:  "_csrf",
		CSRFToken:  `t"><script>`,
		ClientName: evil,
		Username:   evil,
		Error:      evil,
		Scopes:     []string{evil, "openid"},
		ErrorCode:  evil,
		ErrorText:  evil,
	}
	for _, p := range allPages {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			out := render(t, r, p, d)
			checkSafe(t, out)
			if p == LoggedOutPage {
				return
			}
			if !strings.Contains(out, escaped) {
				t.Errorf("escaped value %q not in page:\n%s", escaped, out)
			}
		})
	}
	t.Run("attributes", func(t *testing.T) {
		t.Parallel()
		out := render(t, r, LoginPage, d)
		for _, want := range []string{
			`action="/oauth2/auth?a=1&amp;b=%3Cx%3E"`,
			`value="t&#34;&gt;&lt;script&gt;"`,
			`value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %s", want)
			}
		}
	})
	t.Run("javascript action", func(t *testing.T) {
		t.Parallel()
		d := d
		d.Action = "javascript:alert(1)"
		out := render(t, r, ConsentPage, d)
		if strings.Contains(strings.ToLower(out), "javascript:") || !strings.Contains(out, `action="#ZgotmplZ"`) {
			t.Errorf("unsafe action not neutralized:\n%s", out)
		}
	})
}

var (
	inputRE = regexp.MustCompile(`<input [^>]*>`)
	labelRE = regexp.MustCompile(`<label for="([^"]+)">([^<]+)</label>`)
)

// inputs returns the page's <input> tags keyed by name.
func inputs(out string) map[string]string {
	m := map[string]string{}
	for _, tag := range inputRE.FindAllString(out, -1) {
		if n := regexp.MustCompile(`name="([^"]*)"`).FindStringSubmatch(tag); n != nil {
			m[n[1]] = tag
		}
	}
	return m
}

func TestLoginForm(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, l := range Locales {
		t.Run(l, func(t *testing.T) {
			t.Parallel()
			d := fullData(l)
			d.Username, d.Error = "", ""
			out := render(t, r, LoginPage, d)
			if !strings.Contains(out, `<form method="post" action="/oauth2/auth?client_id=qaznat-mobile&amp;response_type=code&amp;state=xyz">`) {
				t.Error("form does not post to the action")
			}
			in := inputs(out)
			if len(in) != 3 {
				t.Errorf("inputs %q, want CSRF, username, password", in)
			}
			if got := in["_csrf"]; got != `<input type="hidden" name="_csrf" value="tok123">` {
				t.Errorf("CSRF input = %s", got)
			}
			user, pass := in[UsernameField], in[PasswordField]
			for _, want := range []string{`type="text"`, `id="username"`, `autocomplete="username"`, " required", " autofocus", `value=""`} {
				if !strings.Contains(user, want) {
					t.Errorf("username input %s lacks %s", user, want)
				}
			}
			for _, want := range []string{`type="password"`, `id="password"`, `autocomplete="current-password"`, " required"} {
				if !strings.Contains(pass, want) {
					t.Errorf("password input %s lacks %s", pass, want)
				}
			}
			if strings.Contains(pass, "autofocus") || strings.Contains(pass, "value=") {
				t.Errorf("password input %s has autofocus or a value", pass)
			}
			// Every label names an input by id, with the translated text.
			labels := labelRE.FindAllStringSubmatch(out, -1)
			if len(labels) != 2 {
				t.Fatalf("labels %q, want 2", labels)
			}
			wantLabel := map[string]string{"username": text(l, "login.username"), "password": text(l, "login.password")}
			for _, lb := range labels {
				id, txt := lb[1], lb[2]
				if txt != wantLabel[id] {
					t.Errorf("label for %q = %q, want %q", id, txt, wantLabel[id])
				}
				if !strings.Contains(in[id], `id="`+id+`"`) {
					t.Errorf("label for %q names no input", id)
				}
			}
			if !strings.Contains(out, `<button type="submit" class="primary submit">`+text(l, "login.submit")+`</button>`) {
				t.Error("no submit button")
			}
			if !strings.Contains(out, "<strong>Qaznat</strong>") {
				t.Error("client name not shown")
			}
			if strings.Contains(out, `role="alert"`) || strings.Contains(user+pass, "aria-invalid") {
				t.Error("error shown without an error")
			}
		})
	}
}

func TestLoginPrefilled(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	d := fullData("ru")
	d.Error = ""
	in := inputs(render(t, r, LoginPage, d))
	if user := in[UsernameField]; !strings.Contains(user, `value="aigerim"`) || strings.Contains(user, "autofocus") {
		t.Errorf("username input %s: want the value and no autofocus", user)
	}
	if pass := in[PasswordField]; !strings.Contains(pass, " autofocus") {
		t.Errorf("password input %s: want autofocus", pass)
	}
}

func TestLoginNoClientNoCSRF(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	out := render(t, r, LoginPage, Data{Locale: "kk"})
	if !strings.Contains(out, `<p class="lead">`+text("kk", "login.lead_noclient")+`</p>`) {
		t.Error("no lead without a client")
	}
	if strings.Contains(out, `type="hidden"`) {
		t.Error("hidden CSRF input without a field name")
	}
	if strings.Contains(out, "<strong>") {
		t.Error("empty client name shown")
	}
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	cases := []struct{ err, key string }{
		{ErrInvalidCredentials, "login.error.invalid_credentials"},
		{ErrTooManyAttempts, "login.error.too_many_attempts"},
		{"user_not_found", "login.error.generic"},
		{"<b>", "login.error.generic"},
	}
	for _, l := range Locales {
		for _, c := range cases {
			t.Run(l+"/"+c.err, func(t *testing.T) {
				t.Parallel()
				d := fullData(l)
				d.Error = c.err
				out := render(t, r, LoginPage, d)
				want := `<p class="alert" id="login-error" role="alert">` + text(l, c.key) + `</p>`
				if !strings.Contains(out, want) {
					t.Errorf("missing %s", want)
				}
				if strings.Contains(out, c.err) {
					t.Errorf("raw error key %q shown", c.err)
				}
				if strings.Count(out, `aria-invalid="true" aria-describedby="login-error"`) != 2 {
					t.Error("inputs not marked invalid")
				}
			})
		}
	}
	if a, b := text("en", "login.error.invalid_credentials"), "Wrong username or password."; a != b {
		t.Errorf("en invalid_credentials = %q, want %q", a, b)
	}
	if a, b := text("en", "login.error.too_many_attempts"), "Too many attempts, try again later."; a != b {
		t.Errorf("en too_many_attempts = %q, want %q", a, b)
	}
}

func TestConsent(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, l := range Locales {
		t.Run(l, func(t *testing.T) {
			t.Parallel()
			d := fullData(l)
			d.Scopes = append(d.Scopes, "openid", "", "email") // duplicates and empties are dropped
			out := render(t, r, ConsentPage, d)
			var want []string
			for _, s := range []string{"openid", "profile", "email", "offline_access", "translate"} {
				want = append(want, "<li>"+text(l, "scope."+s)+"</li>")
			}
			want = append(want, "<li><code>videos:read</code></li>")
			items := regexp.MustCompile(`<li>.*</li>`).FindAllString(out, -1)
			if !slices.Equal(items, want) {
				t.Errorf("scope items\n%q\nwant\n%q", items, want)
			}
			in := inputs(out)
			if got := in["_csrf"]; got != `<input type="hidden" name="_csrf" value="tok123">` {
				t.Errorf("CSRF input = %s", got)
			}
			for _, want := range []string{
				`<form method="post" action="/oauth2/auth?client_id=qaznat-mobile&amp;response_type=code&amp;state=xyz" class="actions">`,
				`<button type="submit" name="consent" value="allow" class="primary">` + text(l, "consent.allow") + `</button>`,
				`<button type="submit" name="consent" value="deny" class="secondary">` + text(l, "consent.deny") + `</button>`,
				"<strong>Qaznat</strong>",
				"<strong>aigerim</strong>",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %s", want)
				}
			}
		})
	}
	t.Run("no scopes", func(t *testing.T) {
		t.Parallel()
		out := render(t, r, ConsentPage, Data{Locale: "en", CSRFField: "c", CSRFToken: "v"})
		if strings.Contains(out, "<ul") || strings.Contains(out, "<strong>") {
			t.Error("empty scope list or names shown")
		}
		if !strings.Contains(out, text("en", "consent.lead_noclient")) {
			t.Error("no lead without a client")
		}
	})
	if ConsentField != "consent" || ConsentAllow != "allow" || ConsentDeny != "deny" {
		t.Error("consent field constants changed")
	}
}

func TestScopeDescriptionsEnglish(t *testing.T) {
	t.Parallel()
	for scope, want := range map[string]string{
		"openid":         "Confirm your identity",
		"profile":        "Your username",
		"email":          "Your email address",
		"offline_access": "Stay signed in on this device",
		"translate":      "Use the translation service",
	} {
		if got := text("en", "scope."+scope); got != want {
			t.Errorf("scope %s: %q, want %q", scope, got, want)
		}
	}
}

func TestErrorPage(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, l := range Locales {
		for _, c := range []struct{ code, key string }{
			{"invalid_request", "error.code.invalid_request"},
			{"access_denied", "error.code.access_denied"},
			{"server_error", "error.code.server_error"},
			{"made_up_error", "error.generic"},
			{"", "error.generic"},
		} {
			t.Run(l+"/"+c.code, func(t *testing.T) {
				t.Parallel()
				d := fullData(l)
				d.ErrorCode = c.code
				out := render(t, r, ErrorPage, d)
				for _, want := range []string{
					`<p class="lead message">` + text(l, c.key) + `</p>`,
					`<p class="detail">The redirect_uri is not registered.</p>`,
					text(l, "error.hint"),
				} {
					if !strings.Contains(out, want) {
						t.Errorf("missing %s", want)
					}
				}
				codeLine := `<p class="code">` + text(l, "error.code_label") + ` <code>` + c.code + `</code></p>`
				if got := strings.Contains(out, codeLine); got != (c.code != "") {
					t.Errorf("code line %s shown: %v", codeLine, got)
				}
				if strings.Contains(out, "<form") || strings.Contains(out, "<input") {
					t.Error("error page has a form")
				}
			})
		}
	}
	out := render(t, r, ErrorPage, Data{})
	if strings.Contains(out, `class="detail"`) || strings.Contains(out, `<p class="code"`) {
		t.Errorf("empty error text or code rendered:\n%s", out)
	}
}

func TestLoggedOut(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, l := range Locales {
		out := render(t, r, LoggedOutPage, Data{Locale: l})
		if !strings.Contains(out, `<p class="lead">`+text(l, "loggedout.message")+`</p>`) {
			t.Errorf("%s: no signed-out message", l)
		}
	}
	if got := text("en", "loggedout.message"); got != "You have been signed out." {
		t.Errorf("en message %q", got)
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range []struct{ locale, key, want string }{
		{"en", "login.title", "Sign in"},
		{"kk", "login.submit", "Кіру"},
		{"ru", "login.submit", "Войти"},
		{"kk", "login.username", "Пайдаланушы аты"},
		{"kk", "login.password", "Құпиясөз"},
		{"kk", "login.error.invalid_credentials", "Қате пайдаланушы аты немесе құпиясөз."},
		{"ru", "login.username", "Имя пользователя"},
		{"ru", "login.password", "Пароль"},
		{"ru", "login.error.invalid_credentials", "Неверное имя пользователя или пароль."},
		{"de", "login.title", "Sign in"},
		{"", "login.title", "Sign in"},
		{"ru", "no.such.key", "no.such.key"},
		{"ru", "", ""},
	} {
		if got := r.Text(c.locale, c.key); got != c.want {
			t.Errorf("Text(%q, %q) = %q, want %q", c.locale, c.key, got, c.want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, p := range []Page{-1, LoggedOutPage + 1, 100} {
		var buf bytes.Buffer
		if err := r.Render(&buf, p, Data{}); err == nil {
			t.Errorf("Render(%v): no error", p)
		}
		if buf.Len() != 0 {
			t.Errorf("Render(%v) wrote %d bytes", p, buf.Len())
		}
	}
	w := &failWriter{}
	if err := r.Render(w, LoginPage, Data{}); err == nil || w.n != 1 {
		t.Errorf("Render to a failing writer: err %v after %d writes, want an error after 1", err, w.n)
	}
	var nilR *Renderer
	if err := nilR.Render(&bytes.Buffer{}, LoginPage, Data{}); err == nil {
		t.Error("nil Renderer: no error")
	}
	if got := Page(7).String(); got != "Page(7)" {
		t.Errorf("Page(7).String() = %q", got)
	}
}

// TestConcurrentRender shares one Renderer between goroutines (run with
// -race).
func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				p := allPages[(i+j)%len(allPages)]
				var buf bytes.Buffer
				if err := r.Render(&buf, p, fullData(Locales[j%len(Locales)])); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestWritePreview writes every page in every locale as HTML files into
// the directory named by QAZAUTH_TEMPLATES_PREVIEW, for a look in a browser:
//
//	QAZAUTH_TEMPLATES_PREVIEW=/tmp/pages go test -run TestWritePreview ./templates/
func TestWritePreview(t *testing.T) {
	dir := os.Getenv("QAZAUTH_TEMPLATES_PREVIEW")
	if dir == "" {
		t.Skip("QAZAUTH_TEMPLATES_PREVIEW not set")
	}
	r := newRenderer(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range allPages {
		for _, l := range Locales {
			d := fullData(l)
			if p == LoginPage {
				d.Username = "" // autofocus on the username; the error box shows
			}
			write(t, r, filepath.Join(dir, fmt.Sprintf("%s-%s.html", strings.TrimSuffix(strings.ToLower(p.String()), "page"), l)), p, d)
		}
	}
	// Edge cases: prefilled username with the rate-limit message; long
	// unbroken names; no client, no scopes.
	long := strings.Repeat("Qaznat-Translation-Studio-", 4)
	for _, l := range Locales {
		d := fullData(l)
		d.Error = ErrTooManyAttempts
		write(t, r, filepath.Join(dir, "login-ratelimited-"+l+".html"), LoginPage, d)
		d.ClientName, d.Username = long, strings.Repeat("aigerim", 12)
		d.Scopes = append(d.Scopes, "https://api.qaznat.kz/"+strings.Repeat("scope/", 12))
		write(t, r, filepath.Join(dir, "consent-long-"+l+".html"), ConsentPage, d)
		write(t, r, filepath.Join(dir, "login-long-"+l+".html"), LoginPage, d)
		write(t, r, filepath.Join(dir, "consent-minimal-"+l+".html"), ConsentPage, Data{Locale: l, Nonce: "n"})
		write(t, r, filepath.Join(dir, "error-minimal-"+l+".html"), ErrorPage, Data{Locale: l, Nonce: "n", ErrorCode: "made_up"})
	}
}

func write(t *testing.T, r *Renderer, path string, p Page, d Data) {
	t.Helper()
	if err := os.WriteFile(path, []byte(render(t, r, p, d)), 0o644); err != nil {
		t.Fatal(err)
	}
}
