// Package templates renders the HTML pages of the authorization server —
// login, consent, error and signed-out — in Kazakh, Russian and English.
//
// The pages are embedded in the binary and rendered with html/template, so
// every value from Data is escaped for its context. They use no JavaScript
// and no external resources; their only inline code is one <style> element
// carrying Data.Nonce, so they work under a strict Content-Security-Policy
// such as
//
//	default-src 'none'; style-src 'nonce-…'; frame-ancestors 'none'; base-uri 'none'
//
// (Beware form-action: browsers apply it to the redirect that follows the
// form POST too, so 'self' would block the redirect to the client.)
// Setting that header, Content-Type and the rest is the caller's job.
//
// Form fields posted back by the pages are named by the constants
// UsernameField, PasswordField and ConsentField; the CSRF field by
// Data.CSRFField.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Page is one of the pages the package renders.
type Page int

const (
	// LoginPage asks for username and password. It posts UsernameField,
	// PasswordField and the CSRF field to Data.Action.
	LoginPage Page = iota
	// ConsentPage lists Data.Scopes and posts ConsentField ("allow" or
	// "deny") and the CSRF field to Data.Action.
	ConsentPage
	// ErrorPage shows Data.ErrorCode with a human message and
	// Data.ErrorText.
	ErrorPage
	// LoggedOutPage says the user has been signed out.
	LoggedOutPage
)

// Names of the form fields the pages post.
const (
	UsernameField = "username"
	PasswordField = "password"
	ConsentField  = "consent" // value ConsentAllow or ConsentDeny
	ConsentAllow  = "allow"
	ConsentDeny   = "deny"
)

// Login error keys for Data.Error.
const (
	ErrInvalidCredentials = "invalid_credentials"
	ErrTooManyAttempts    = "too_many_attempts"
)

var pageFiles = [...]string{
	LoginPage:     "html/login.html",
	ConsentPage:   "html/consent.html",
	ErrorPage:     "html/error.html",
	LoggedOutPage: "html/loggedout.html",
}

var pageNames = [...]string{
	LoginPage:     "LoginPage",
	ConsentPage:   "ConsentPage",
	ErrorPage:     "ErrorPage",
	LoggedOutPage: "LoggedOutPage",
}

// String returns the Go name of p.
func (p Page) String() string {
	if p >= 0 && int(p) < len(pageNames) {
		return pageNames[p]
	}
	return fmt.Sprintf("Page(%d)", int(p))
}

//go:embed html/*.html
var files embed.FS

// Data is what a page shows. Only the fields a page uses matter to it.
type Data struct {
	Locale     string   // "en", "kk", "ru"; anything else renders English
	Nonce      string   // CSP nonce for the <style> tag
	Action     string   // form action URL (the authorization request URL incl. query)
	CSRFField  string   // hidden input name
	CSRFToken  string   // hidden input value
	ClientName string   // who is asking
	Username   string   // prefill
	Error      string   // "" | "invalid_credentials" | "too_many_attempts" (login page message key)
	Scopes     []string // consent page
	ErrorCode  string   // error page: OAuth error code (e.g. "invalid_request")
	ErrorText  string   // error page: optional extra sentence (already human, may be English from the server)
}

// Renderer renders the pages. It is safe for concurrent use.
type Renderer struct {
	pages [len(pageFiles)]*template.Template
}

// New parses the embedded templates.
func New() (*Renderer, error) {
	r := new(Renderer)
	for p, file := range pageFiles {
		t, err := template.New("").ParseFS(files, "html/layout.html", file)
		if err != nil {
			return nil, fmt.Errorf("templates: parsing %s: %w", file, err)
		}
		if t.Lookup("layout") == nil {
			return nil, fmt.Errorf("templates: %s: no layout template", file)
		}
		r.pages[p] = t
	}
	return r, nil
}

// Render writes page p with data d to w. The page is executed into a buffer
// first, so on error nothing has been written. Render sets no HTTP headers.
func (r *Renderer) Render(w io.Writer, p Page, d Data) error {
	if r == nil || p < 0 || int(p) >= len(r.pages) || r.pages[p] == nil {
		return fmt.Errorf("templates: unknown page %v", p)
	}
	var buf bytes.Buffer
	if err := r.pages[p].ExecuteTemplate(&buf, "layout", newView(d)); err != nil {
		return fmt.Errorf("templates: rendering %v: %w", p, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("templates: writing %v: %w", p, err)
	}
	return nil
}

// Text returns the text of key (e.g. "login.title") in locale, falling back
// to English and then to the key itself.
func (r *Renderer) Text(locale, key string) string {
	return text(normalize(locale), key)
}

// view is what the templates execute on: the caller's Data plus what the
// pages derive from it.
type view struct {
	Data
	Lang         string      // the locale rendered, one of Locales
	LoginError   string      // login page: translated message for Data.Error
	ErrorMessage string      // error page: translated message for Data.ErrorCode
	ScopeItems   []scopeItem // consent page: Data.Scopes, described
}

// scopeItem is one requested scope on the consent page.
type scopeItem struct {
	Name        string // the scope as requested
	Description string // human text, or "" for a scope without one
}

func newView(d Data) view {
	v := view{Data: d, Lang: normalize(d.Locale)}
	switch d.Error {
	case "":
	case ErrInvalidCredentials, ErrTooManyAttempts:
		v.LoginError = text(v.Lang, "login.error."+d.Error)
	default:
		v.LoginError = text(v.Lang, "login.error.generic")
	}
	if k := "error.code." + d.ErrorCode; d.ErrorCode != "" && hasText(k) {
		v.ErrorMessage = text(v.Lang, k)
	} else {
		v.ErrorMessage = text(v.Lang, "error.generic")
	}
	seen := make(map[string]bool, len(d.Scopes))
	for _, s := range d.Scopes {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		item := scopeItem{Name: s}
		if k := "scope." + s; hasText(k) {
			item.Description = text(v.Lang, k)
		}
		v.ScopeItems = append(v.ScopeItems, item)
	}
	return v
}

// T returns the text of key in the page's locale.
func (v view) T(key string) string { return text(v.Lang, key) }

// textPart is a piece of a translated sentence: literal text, or the value
// filled into its placeholder.
type textPart struct {
	Text string
	Arg  bool
}

// Tf returns the text of key in the page's locale split around its
// placeholder ("{client}", "{user}"), with arg in the placeholder's place.
// The template prints each part through the escaper, so arg (a client name,
// a username) never becomes markup.
func (v view) Tf(key, arg string) []textPart {
	s := v.T(key)
	before, rest, ok := strings.Cut(s, "{")
	if !ok {
		return []textPart{{Text: s}}
	}
	_, after, ok := strings.Cut(rest, "}")
	if !ok {
		return []textPart{{Text: s}}
	}
	parts := make([]textPart, 0, 3)
	if before != "" {
		parts = append(parts, textPart{Text: before})
	}
	parts = append(parts, textPart{Text: arg, Arg: true})
	if after != "" {
		parts = append(parts, textPart{Text: after})
	}
	return parts
}
