package handlers_test

// Browser tests: the login, consent, error and logout pages driven in a real
// headless Chromium (chromedp) against a real qazauth (servertest), with a
// loopback "app" (httptest) that receives the redirect, as a native app
// using RFC 8252 would.
//
// One browser serves the whole test binary (started on first use, stopped
// by TestMain); each test gets its own tab in a fresh browser context, so no
// cookies leak between tests. Every browser step has a bounded timeout.
//
// Chromium: /usr/bin/chromium, or chromium, chromium-browser, google-chrome
// on PATH. Without one the tests skip, except under CI (CI set), where they
// fail. Screenshots at a phone viewport go to t.ArtifactDir() (kept with
// `go test -artifacts`); QAZAUTH_UPDATE_SCREENSHOTS=1 also writes them to
// docs/screenshots/.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qaznat/qazauth/handlers"
	"github.com/qaznat/qazauth/server/servertest"
)

const (
	// stepTimeout bounds every browser step, so a hang fails fast.
	stepTimeout = 20 * time.Second
	// startTimeout bounds the start of the browser and of a tab.
	startTimeout = 60 * time.Second
	// Phone viewport of the screenshots.
	viewportW, viewportH = 390, 844
)

// The shared browser.
var (
	browserOnce   sync.Once
	browserCtx    context.Context // root chromedp context; its browser runs
	browserErr    error
	browserSkip   string // non-empty: no Chromium here, skip with this message
	browserStop   func()
	browserOutput servertest.SyncBuffer // the browser's stdout and stderr
)

// TestMain stops the shared browser after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if browserStop != nil {
		browserStop()
	}
	os.Exit(code)
}

// findChromium returns the browser to drive, or "".
func findChromium() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts the shared headless browser (once).
func startBrowser() {
	path := findChromium()
	if path == "" {
		browserSkip = "chromium not installed: apt-get install -y chromium"
		return
	}
	dataDir, err := os.MkdirTemp("", "qazauth-browser-test-")
	if err != nil {
		browserErr = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// English pages unless a test asks otherwise, whatever the
		// machine's locale.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(dataDir),
		chromedp.CombinedOutput(&browserOutput),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	browserStop = func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		_ = chromedp.Cancel(cctx) // closes the browser gracefully
		ccancel()
		cancel()
		allocCancel()
		// Chrome's helpers may still write in the profile for a moment.
		for i := 0; i < 50; i++ {
			if os.RemoveAll(dataDir) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The first Do starts the browser and binds its life to ctx, so ctx has
	// no deadline; a watchdog bounds the start instead.
	watchdog := time.AfterFunc(startTimeout, allocCancel)
	err = chromedp.Do(ctx)
	if !watchdog.Stop() && err == nil {
		err = errors.New("browser start timed out")
	}
	if err != nil {
		browserErr = fmt.Errorf("start %s: %w\nbrowser output:\n%s", path, err, tail(browserOutput.String(), 2000))
		return
	}
	browserCtx = ctx
}

// requireBrowser returns the shared browser's context, starting it on
// first use. Without Chromium it skips the test, except under CI (CI set),
// where it fails it.
func requireBrowser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(startBrowser)
	if browserSkip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have a browser for the browser tests: %s", browserSkip)
		}
		t.Skip(browserSkip)
	}
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// newTab opens a tab in a fresh browser context (no cookies) of the shared
// browser, with a phone viewport (see requireBrowser for a missing browser).
func newTab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(requireBrowser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Do opens the tab and binds it to ctx: no deadline on it.
	watchdog := time.AfterFunc(startTimeout, cancel)
	err := chromedp.Do(ctx)
	if !watchdog.Stop() && err == nil {
		err = errors.New("timed out")
	}
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	do(t, ctx, "set the phone viewport", chromedp.EmulateViewport(viewportW, viewportH, chromedp.EmulatePortrait))
	return ctx
}

// do runs steps in the tab with a step timeout; it fails the test with the
// page's state on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, pageState(ctx))
	}
}

// run runs one action with a step timeout and returns its value.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, pageState(ctx))
	}
	return v
}

// call sends one protocol command to the tab with a step timeout.
func call[P, R any](t *testing.T, ctx context.Context, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(sctx, cmd, params)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
	return res
}

// navigate loads u and returns the response of the document it ends on
// (after redirects).
func navigate(t *testing.T, ctx context.Context, u string) *network.Response {
	t.Helper()
	resp := run(t, ctx, "navigate to "+u, chromedp.NavigateResponse(u))
	if resp == nil {
		t.Fatalf("navigate to %s: no response%s", u, pageState(ctx))
	}
	return resp
}

// click clicks sel and waits for the page it loads.
func click(t *testing.T, ctx context.Context, sel string) *network.Response {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil || resp == nil {
		t.Fatalf("click %s: %v (response %v)%s", sel, err, resp, pageState(ctx))
	}
	return resp
}

// pageState describes the tab's page for failure messages.
func pageState(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(sctx, chromedp.Location())
	if err != nil {
		return ""
	}
	body, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("\n  page %s\n  text %q", loc, tail(body, 400))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// text returns the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// attr returns an attribute of the first element matching sel.
func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return run(t, ctx, sel+"["+name+"]", chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc := run(t, ctx, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u
}

// screenshot saves the viewport as name (a .png) in the test's artifact
// directory and, with QAZAUTH_UPDATE_SCREENSHOTS=1, in docs/screenshots/.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := run(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
	if os.Getenv("QAZAUTH_UPDATE_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated docs/screenshots/%s", name)
	}
}

// loopbackApp is the native app's loopback redirect target (RFC 8252 §7.3):
// it records the query of every redirect it receives.
type loopbackApp struct {
	URL  string
	hits chan url.Values
}

func newLoopbackApp(t *testing.T) *loopbackApp {
	t.Helper()
	a := &loopbackApp{hits: make(chan url.Values, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" && r.URL.Path != "/partner" {
			http.NotFound(w, r)
			return
		}
		select {
		case a.hits <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Done</title><p id="done">Signed in. You can return to the app.</p></html>`)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// next returns the next redirect the app received.
func (a *loopbackApp) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-a.hits:
		return q
	case <-time.After(stepTimeout):
		t.Fatal("the app received no redirect")
		return nil
	}
}

// none fails if the app received a redirect.
func (a *loopbackApp) none(t *testing.T) {
	t.Helper()
	select {
	case q := <-a.hits:
		t.Fatalf("the app received an unexpected redirect: %v", q)
	default:
	}
}

// client is an OAuth client of the test server redirecting to the app.
type client struct {
	cfg      *oauth2.Config
	verifier string
	state    string
	nonce    string
}

func newClient(s *servertest.Server, id, redirect string, scopes ...string) *client {
	return &client{
		cfg: &oauth2.Config{
			ClientID: id, RedirectURL: redirect, Scopes: scopes,
			Endpoint: oauth2.Endpoint{AuthURL: s.URL + handlers.PathAuthorize, TokenURL: s.URL + handlers.PathToken,
				AuthStyle: oauth2.AuthStyleInParams},
		},
		verifier: oauth2.GenerateVerifier(),
	}
}

// authURL starts a new authorization (fresh state and nonce) with PKCE S256.
func (c *client) authURL(extra ...oauth2.AuthCodeOption) string {
	c.state, c.nonce = rand.Text(), rand.Text()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(c.verifier), oidc.Nonce(c.nonce)}, extra...)
	return c.cfg.AuthCodeURL(c.state, opts...)
}

// code checks a redirect for this authorization's state and returns its code.
func (c *client) code(t *testing.T, q url.Values) string {
	t.Helper()
	if q.Get("error") != "" || q.Get("code") == "" {
		t.Fatalf("redirect without a code: %v", q)
	}
	if q.Get("state") != c.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), c.state)
	}
	return q.Get("code")
}

// exchange redeems code with the PKCE verifier and verifies the ID token
// (signature, issuer, audience, nonce, at_hash) with go-oidc.
func (c *client) exchange(t *testing.T, s *servertest.Server, code string) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	ctx := context.Background()
	tok, err := c.cfg.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		t.Fatal("no id_token in the token response")
	}
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc verify id_token: %v", err)
	}
	if idt.Nonce != c.nonce {
		t.Fatalf("id_token nonce = %q, want %q", idt.Nonce, c.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, idt
}

// userinfo returns the userinfo response for an access token.
func userinfo(t *testing.T, s *servertest.Server, accessToken string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+handlers.PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d %v %v", resp.StatusCode, m, err)
	}
	return m
}

// idClaims are the ID token claims the tests compare.
type idClaims struct {
	PreferredUsername string `json:"preferred_username"`
	AuthTime          int64  `json:"auth_time"`
	SID               string `json:"sid"`
}

func claimsOf(t *testing.T, idt *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// fillLogin types the credentials into the login form.
func fillLogin(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	do(t, ctx, "fill in the login form",
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
}

// signIn fills in and submits the login form, returning the response of
// the page it lands on.
func signIn(t *testing.T, ctx context.Context, user, password string) *network.Response {
	t.Helper()
	fillLogin(t, ctx, user, password)
	return click(t, ctx, `button[type="submit"]`)
}

// onPath fails unless the tab shows the server's page at path.
func onPath(t *testing.T, ctx context.Context, s *servertest.Server, path string) {
	t.Helper()
	loc := location(t, ctx)
	issuer, _ := url.Parse(s.URL)
	if loc.Host != issuer.Host || loc.Path != path {
		t.Fatalf("page = %s, want %s%s", loc, s.URL, path)
	}
}

// TestBrowser_CodeFlowPKCE: the whole authorization code flow with PKCE S256
// and a nonce in a real browser, then the code exchanged with x/oauth2 and
// the ID token verified with go-oidc.
func TestBrowser_CodeFlowPKCE(t *testing.T) {
	ctx := newTab(t)
	s := servertest.Start(t)
	app := newLoopbackApp(t)
	c := newClient(s, servertest.MobileClient, app.URL+"/callback", "openid", "profile", "email", "offline_access")

	resp := navigate(t, ctx, c.authURL())
	if resp.Status != http.StatusOK {
		t.Fatalf("login page status %d", resp.Status)
	}
	onPath(t, ctx, s, handlers.PathAuthorize)
	if lang := attr(t, ctx, "html", "lang"); lang != "en" {
		t.Fatalf(`<html lang=%q>, want "en" (browser sends Accept-Language en-US)`, lang)
	}
	if got := text(t, ctx, `button[type="submit"]`); got != "Sign in" {
		t.Fatalf("submit button %q", got)
	}
	if got := text(t, ctx, "p.lead"); !strings.Contains(got, servertest.MobileClient) {
		t.Fatalf("lead %q does not name the client", got)
	}
	if attr(t, ctx, `input[name="csrf_token"]`, "value") == "" {
		t.Fatal("no CSRF token in the form")
	}
	if got := attr(t, ctx, "#password", "autocomplete"); got != "current-password" {
		t.Fatalf("password autocomplete = %q", got)
	}
	screenshot(t, ctx, "login-en.png")

	resp = signIn(t, ctx, servertest.User, servertest.UserPassword)
	code := c.code(t, app.next(t))
	if loc := location(t, ctx); !strings.HasPrefix(loc.String(), app.URL+"/callback?") || resp.Status != http.StatusOK {
		t.Fatalf("after login the browser is at %s (status %d), want the app's callback", loc, resp.Status)
	}
	if got := text(t, ctx, "#done"); !strings.Contains(got, "Signed in") {
		t.Fatalf("app page %q", got)
	}

	tok, idt := c.exchange(t, s, code)
	if tok.RefreshToken == "" {
		t.Fatal("offline_access gave no refresh token")
	}
	cl := claimsOf(t, idt)
	if cl.AuthTime == 0 || cl.SID == "" {
		t.Fatalf("id_token lacks auth_time or sid: %+v", cl)
	}
	if time.Since(time.Unix(cl.AuthTime, 0)) > time.Minute {
		t.Fatalf("auth_time %d is not the login just done", cl.AuthTime)
	}
	if ui := userinfo(t, s, tok.AccessToken); ui["preferred_username"] != servertest.User || ui["email"] != "aigerim@example.kz" || ui["sub"] != idt.Subject {
		t.Fatalf("userinfo %v for id_token sub %s", ui, idt.Subject)
	}
	// The code is single-use.
	if _, err := c.cfg.Exchange(context.Background(), code, oauth2.VerifierOption(c.verifier)); err == nil {
		t.Fatal("code redeemed twice")
	}
}

// TestBrowser_WrongPassword: a wrong password re-renders the login page
// with a visible alert (the username kept, the password cleared); the right
// password then completes the flow.
func TestBrowser_WrongPassword(t *testing.T) {
	ctx := newTab(t)
	s := servertest.Start(t)
	app := newLoopbackApp(t)
	c := newClient(s, servertest.MobileClient, app.URL+"/callback", "openid")

	navigate(t, ctx, c.authURL())
	resp := signIn(t, ctx, servertest.User, "wrong password")
	if resp.Status != http.StatusOK {
		t.Fatalf("wrong password: status %d", resp.Status)
	}
	do(t, ctx, "the alert is visible", chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	if got := text(t, ctx, `[role="alert"]`); got != "Wrong username or password." {
		t.Fatalf("alert %q", got)
	}
	onPath(t, ctx, s, handlers.PathAuthorize)
	if got := text(t, ctx, "h1"); got != "Sign in" {
		t.Fatalf("heading %q: not the login page", got)
	}
	if got := run(t, ctx, "username value", chromedp.Value(chromedp.ID("username"))); got != servertest.User {
		t.Fatalf("username field = %q, want it kept", got)
	}
	if got := run(t, ctx, "password value", chromedp.Value(chromedp.ID("password"))); got != "" {
		t.Fatalf("password field = %q, want it empty", got)
	}
	if got := attr(t, ctx, "#password", "aria-invalid"); got != "true" {
		t.Fatalf("password aria-invalid = %q", got)
	}
	if got := attr(t, ctx, "#password", "aria-describedby"); got != "login-error" {
		t.Fatalf("password aria-describedby = %q", got)
	}
	app.none(t)
	screenshot(t, ctx, "login-error-en.png")

	// The username is kept: type only the password.
	do(t, ctx, "type the right password", chromedp.SendKeys(chromedp.ID("password"), servertest.UserPassword))
	click(t, ctx, `button[type="submit"]`)
	code := c.code(t, app.next(t))
	c.exchange(t, s, code)
}

// TestBrowser_Localized: the login page in Kazakh and Russian, chosen by
// ui_locales or by the browser's Accept-Language.
func TestBrowser_Localized(t *testing.T) {
	requireBrowser(t)
	s := servertest.Start(t)
	app := newLoopbackApp(t)
	c := newClient(s, servertest.MobileClient, app.URL+"/callback", "openid")

	for _, tc := range []struct {
		name, uiLocales, acceptLanguage string
		lang, button, errText           string
		shot                            string
	}{
		{name: "ui_locales=kk", uiLocales: "kk", lang: "kk", button: "Кіру",
			errText: "Қате пайдаланушы аты немесе құпиясөз.", shot: "login-kk.png"},
		{name: "ui_locales=ru", uiLocales: "ru", lang: "ru", button: "Войти",
			errText: "Неверное имя пользователя или пароль.", shot: "login-ru.png"},
		{name: "Accept-Language ru", acceptLanguage: "ru-RU,ru;q=0.9", lang: "ru", button: "Войти"},
		{name: "ui_locales wins over Accept-Language", uiLocales: "kk-KZ", acceptLanguage: "ru", lang: "kk", button: "Кіру"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := newTab(t)
			if tc.acceptLanguage != "" {
				call(t, ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
					Headers: network.Headers{"Accept-Language": tc.acceptLanguage},
				})
			}
			var extra []oauth2.AuthCodeOption
			if tc.uiLocales != "" {
				extra = append(extra, oauth2.SetAuthURLParam("ui_locales", tc.uiLocales))
			}
			navigate(t, ctx, c.authURL(extra...))
			if lang := attr(t, ctx, "html", "lang"); lang != tc.lang {
				t.Fatalf("<html lang=%q>, want %q", lang, tc.lang)
			}
			if got := text(t, ctx, `button[type="submit"]`); got != tc.button {
				t.Fatalf("submit button %q, want %q", got, tc.button)
			}
			if tc.shot != "" {
				screenshot(t, ctx, tc.shot)
			}
			if tc.errText == "" {
				return
			}
			// The form posts the request back: the error stays in the
			// language of the page.
			signIn(t, ctx, servertest.User, "wrong password")
			if got := text(t, ctx, `[role="alert"]`); got != tc.errText {
				t.Fatalf("alert %q, want %q", got, tc.errText)
			}
			if lang := attr(t, ctx, "html", "lang"); lang != tc.lang {
				t.Fatalf("after a wrong password <html lang=%q>, want %q", lang, tc.lang)
			}
			app.none(t)
		})
	}
}

// TestBrowser_UnregisteredRedirectNotFollowed: an authorization request
// with an unregistered redirect_uri shows qazauth's error page; the browser
// never requests the unregistered URI.
func TestBrowser_UnregisteredRedirectNotFollowed(t *testing.T) {
	ctx := newTab(t)
	s := servertest.Start(t)
	c := newClient(s, servertest.MobileClient, "https://evil.example/cb", "openid")

	var mu sync.Mutex
	var requested []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, ev.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	resp := navigate(t, ctx, c.authURL())
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.Status)
	}
	onPath(t, ctx, s, handlers.PathAuthorize)
	if got := text(t, ctx, "h1"); got != "Something went wrong" {
		t.Fatalf("heading %q", got)
	}
	if got := text(t, ctx, "p.code code"); got != "invalid_request" {
		t.Fatalf("error code on the page %q, want invalid_request", got)
	}
	if got := text(t, ctx, "p.message"); got == "" {
		t.Fatal("no error message")
	}
	if lang := attr(t, ctx, "html", "lang"); lang != "en" {
		t.Fatalf("<html lang=%q>", lang)
	}
	screenshot(t, ctx, "error-en.png")
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requested {
		if strings.Contains(u, "evil.example/") && !strings.HasPrefix(u, s.URL) {
			t.Fatalf("the browser requested %s", u)
		}
	}
	if len(requested) == 0 {
		t.Fatal("saw no request at all: the listener is broken")
	}
}

// TestBrowser_SSOAndLogout: after a login, a second authorization in the
// same browser redirects at once (same browser session); a fresh browser
// gets login_required for prompt=none; logout ends the session.
func TestBrowser_SSOAndLogout(t *testing.T) {
	ctx := newTab(t)
	s := servertest.Start(t)
	app := newLoopbackApp(t)
	c := newClient(s, servertest.MobileClient, app.URL+"/callback", "openid", "profile")

	navigate(t, ctx, c.authURL())
	signIn(t, ctx, servertest.User, servertest.UserPassword)
	_, first := c.exchange(t, s, c.code(t, app.next(t)))

	// The login cookie: HttpOnly, SameSite=Lax, not Secure on an http issuer.
	cookies := call(t, ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.URL + handlers.PathAuthorize}})
	var session *network.Cookie
	for _, ck := range cookies.Cookies {
		if ck.Name == "qazauth_session" {
			session = ck
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie = %+v", session)
	}

	// SSO: the second authorization redirects without the form.
	resp := navigate(t, ctx, c.authURL())
	_, second := c.exchange(t, s, c.code(t, app.next(t)))
	if !strings.HasPrefix(resp.URL, app.URL+"/callback?") {
		t.Fatalf("second authorization ended on %s, want the app", resp.URL)
	}
	c1, c2 := claimsOf(t, first), claimsOf(t, second)
	if c1.SID == "" || c1.SID != c2.SID || c1.AuthTime != c2.AuthTime || first.Subject != second.Subject {
		t.Fatalf("SSO login is not the first login: %+v %s vs %+v %s", c1, first.Subject, c2, second.Subject)
	}

	// prompt=none in another browser (no cookies): login_required.
	t.Run("prompt=none in a fresh browser", func(t *testing.T) {
		fresh := newTab(t)
		navigate(t, fresh, c.authURL(oauth2.SetAuthURLParam("prompt", "none")))
		q := app.next(t)
		if q.Get("error") != "login_required" || q.Get("state") != c.state || q.Has("code") {
			t.Fatalf("prompt=none without a session: %v", q)
		}
	})

	// Logout, with the registered post_logout_redirect_uri caught in the
	// browser (nothing listens on 127.0.0.1:80).
	signedOut := interceptSignedOut(t, ctx)
	logout := s.URL + handlers.PathLogout + "?" + url.Values{"client_id": {servertest.MobileClient},
		"post_logout_redirect_uri": {"http://127.0.0.1/signed-out"}, "state": {"bye"}}.Encode()
	navigate(t, ctx, logout)
	select {
	case u := <-signedOut:
		if u != "http://127.0.0.1/signed-out?state=bye" {
			t.Fatalf("logout redirected to %s", u)
		}
	case <-time.After(stepTimeout):
		t.Fatalf("logout did not redirect to the post_logout_redirect_uri%s", pageState(ctx))
	}
	if loc := location(t, ctx); loc.String() != "http://127.0.0.1/signed-out?state=bye" {
		t.Fatalf("after logout the browser is at %s", loc)
	}

	navigate(t, ctx, c.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	if q := app.next(t); q.Get("error") != "login_required" || q.Get("state") != c.state {
		t.Fatalf("prompt=none after logout: %v", q)
	}
	// Without prompt=none the form is back.
	navigate(t, ctx, c.authURL())
	do(t, ctx, "the login form is shown again", chromedp.WaitVisible(chromedp.ID("password")))
	app.none(t)
}

// interceptSignedOut answers the tab's requests to the registered
// post_logout_redirect_uri (http://127.0.0.1/signed-out) with a small page,
// and reports their URLs.
func interceptSignedOut(t *testing.T, ctx context.Context) <-chan string {
	t.Helper()
	ictx, cancel := context.WithCancel(ctx)
	paused := chromedp.Events(ictx, fetch.RequestPaused)
	t.Cleanup(cancel)
	call(t, ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "http://127.0.0.1/signed-out*"}},
	})
	urls := make(chan string, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			select {
			case urls <- ev.Request.URL:
			default:
			}
			_, _ = chromedp.Call(ictx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID:       ev.RequestID,
				ResponseCode:    http.StatusOK,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
				Body:            []byte(`<!doctype html><html lang="en"><title>Signed out</title><p id="signed-out">Signed out.</p></html>`),
			})
		}
	}()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		_, _ = chromedp.Call(cctx, fetch.Disable, cdp.Empty{})
		ccancel()
		cancel()
		<-done
	})
	return urls
}

// TestBrowser_Consent: a third-party client gets a consent page after the
// login; Allow delivers a code whose ID token is for that client.
func TestBrowser_Consent(t *testing.T) {
	ctx := newTab(t)
	s := servertest.Start(t)
	app := newLoopbackApp(t)
	c := newClient(s, "partner-app", app.URL+"/partner", "openid", "profile")

	navigate(t, ctx, c.authURL())
	if got := text(t, ctx, "p.lead"); !strings.Contains(got, "partner-app") {
		t.Fatalf("login lead %q does not name the client", got)
	}
	resp := signIn(t, ctx, servertest.User, servertest.UserPassword)
	if resp.Status != http.StatusOK {
		t.Fatalf("consent page status %d", resp.Status)
	}
	do(t, ctx, "the consent buttons are visible",
		chromedp.WaitVisible(chromedp.CSS(`button[name="consent"][value="allow"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[name="consent"][value="deny"]`)))
	onPath(t, ctx, s, handlers.PathAuthorize)
	if got := text(t, ctx, "h1"); got != "Allow access?" {
		t.Fatalf("heading %q", got)
	}
	if got := text(t, ctx, "p.lead"); !strings.Contains(got, "partner-app") {
		t.Fatalf("consent lead %q does not name the client", got)
	}
	if got := text(t, ctx, "ul.scopes"); !strings.Contains(got, "Confirm your identity") || !strings.Contains(got, "Your username") {
		t.Fatalf("scopes %q", got)
	}
	app.none(t)
	screenshot(t, ctx, "consent-en.png")

	click(t, ctx, `button[name="consent"][value="allow"]`)
	code := c.code(t, app.next(t))
	if loc := location(t, ctx); !strings.HasPrefix(loc.String(), app.URL+"/partner?") {
		t.Fatalf("after consent the browser is at %s", loc)
	}
	tok, idt := c.exchange(t, s, code)
	if ui := userinfo(t, s, tok.AccessToken); ui["preferred_username"] != servertest.User || ui["sub"] != idt.Subject {
		t.Fatalf("userinfo %v for id_token sub %s", ui, idt.Subject)
	}
}
