package templates

import "strings"

// Locales are the page languages, for discovery's ui_locales_supported.
// The first one is the default. Changing this slice changes nothing in the
// package, which works from its own copy.
var Locales = []string{"en", "kk", "ru"}

// locales is the package's own list of Locales, default first.
var locales = [...]string{"en", "kk", "ru"}

// defaultLocale is what Negotiate returns when nothing matches.
const defaultLocale = "en"

// maxEntries caps how many ui_locales tags or Accept-Language entries
// Negotiate looks at, so that a huge header costs bounded work.
const maxEntries = 20

// Negotiate picks the page language: the first tag of the OIDC ui_locales
// parameter (space-separated BCP 47 tags, OpenID Connect Core §3.1.2.1)
// whose primary subtag is a supported locale ("ru-RU" → "ru"); otherwise the
// supported locale the Accept-Language header (RFC 9110 §12.5.4) ranks
// highest, by q-value and then by order in the header, where q=0 excludes a
// language and "*" stands for any language not named otherwise; otherwise
// "en". Only the first 20 entries of each are looked at. The result is
// always one of Locales. It never fails: tags it cannot parse are skipped.
func Negotiate(uiLocales, acceptLanguage string) string {
	if l := fromUILocales(uiLocales); l != "" {
		return l
	}
	if l := fromAcceptLanguage(acceptLanguage); l != "" {
		return l
	}
	return defaultLocale
}

// fromUILocales returns the first supported locale among the first
// maxEntries whitespace-separated tags of s, or "".
func fromUILocales(s string) string {
	for n := 0; n < maxEntries; n++ {
		s = strings.TrimLeft(s, " \t\r\n\f\v")
		if s == "" {
			return ""
		}
		end := strings.IndexAny(s, " \t\r\n\f\v")
		if end < 0 {
			end = len(s)
		}
		tag := s[:end]
		s = s[end:]
		if l := supported(tag); l != "" {
			return l
		}
	}
	return ""
}

// fromAcceptLanguage returns the supported locale that the first
// maxEntries entries of an Accept-Language header value rank highest, or ""
// when none is acceptable.
func fromAcceptLanguage(h string) string {
	const unset = -1
	var (
		q   [len(locales)]int // per locale: best explicit q (thousandths), or unset
		pos [len(locales)]int // index of the entry that gave q
		// the "*" entry's q and index
		wildQ, wildPos = unset, 0
	)
	for i := range q {
		q[i] = unset
	}
	for n := 0; n < maxEntries && h != ""; n++ {
		var entry string
		entry, h, _ = strings.Cut(h, ",")
		tag, weight, ok := parseEntry(entry)
		if !ok {
			continue
		}
		if tag == "*" {
			if wildQ == unset || weight > wildQ {
				wildQ, wildPos = weight, n
			}
			continue
		}
		i := supportedIndex(tag)
		if i < 0 {
			continue
		}
		// Several entries may name the same locale ("ru-RU, ru;q=0.5"):
		// the most preferred one counts.
		if weight > q[i] {
			q[i], pos[i] = weight, n
		}
	}
	best, bestQ, bestPos := "", 0, 0
	for i, l := range locales {
		lq, lp := q[i], pos[i]
		if lq == unset {
			// Not named: "*" covers it (RFC 9110 §12.5.4), if present.
			lq, lp = wildQ, wildPos
		}
		if lq <= 0 {
			continue // excluded (q=0) or not acceptable at all
		}
		// Higher q wins; on equal q, the earlier entry; on the same entry
		// ("*"), the order of locales, which starts with the default.
		if best == "" || lq > bestQ || (lq == bestQ && lp < bestPos) {
			best, bestQ, bestPos = l, lq, lp
		}
	}
	return best
}

// parseEntry parses one Accept-Language element, `language-range
// [ OWS ";" OWS "q=" qvalue ]`, returning the range and its weight in
// thousandths (1000 when absent). Parameters other than q are ignored.
func parseEntry(e string) (tag string, q int, ok bool) {
	tag, params, _ := strings.Cut(e, ";")
	tag = strings.Trim(tag, " \t")
	if tag == "" {
		return "", 0, false
	}
	q = 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, _ := strings.Cut(strings.Trim(p, " \t"), "=")
		if !strings.EqualFold(strings.Trim(name, " \t"), "q") {
			continue
		}
		v, valid := parseQ(strings.Trim(value, " \t"))
		if !valid {
			return "", 0, false
		}
		q = v
	}
	return tag, q, true
}

// parseQ parses an RFC 9110 §12.4.2 qvalue ("0", "0.5", "1.000", ...) into
// thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	v := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range []byte(s[2:]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v += int(c-'0') * scale
			scale /= 10
		}
	}
	if v > 1000 {
		return 0, false
	}
	return v, true
}

// supported maps a language tag to the supported locale of its primary
// subtag ("kk-KZ" → "kk", "RU" → "ru"), or "" if there is none.
func supported(tag string) string {
	if i := supportedIndex(tag); i >= 0 {
		return locales[i]
	}
	return ""
}

// supportedIndex returns the index in locales of the primary subtag of tag,
// or -1. The tag must consist of ASCII letters, digits, '-' and '_' only.
func supportedIndex(tag string) int {
	primary := tag
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case c == '-' || c == '_':
			if primary == tag {
				primary = tag[:i]
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return -1
		}
	}
	for i, l := range locales {
		if strings.EqualFold(primary, l) {
			return i
		}
	}
	return -1
}

// normalize returns l if it is a supported locale and the default otherwise.
func normalize(l string) string {
	for _, s := range locales {
		if l == s {
			return l
		}
	}
	return defaultLocale
}
